/**
 * NAFs added at run time through the BSF admin API (`gba-sim naf add-app`): name, Zn token and the NAF_Ids
 * (FQDN ‖ optional Ua id) the token may ask keys for. Kept in the store, so every BSF instance sharing it, and
 * a restarted BSF, accepts the token. Tokens are Zn credentials: stored as Redis holds K and Ks, readable only
 * by whoever can read the store.
 */
import type { RedisPort } from './redis.js';

export interface NafAppRecord {
  name: string;
  token: string;
  group?: string;
  fqdns: Array<{ fqdn: string; uaSecProtId?: string }>;
  createdMs: number;
}

export interface NafAppStore {
  /** Adds the record; false, and nothing changed, when a NAF of that name exists already. */
  add(r: NafAppRecord): Promise<boolean>;
  list(): Promise<NafAppRecord[]>;
  remove(name: string): Promise<boolean>;
}

type Reply = Buffer | string | number | null | Reply[];
const text = (r: Reply): string => (Buffer.isBuffer(r) ? r.toString('utf8') : String(r));

export class RedisNafAppStore implements NafAppStore {
  constructor(
    readonly r: RedisPort,
    readonly key: string,
  ) {}
  async add(rec: NafAppRecord): Promise<boolean> {
    return (await this.r.cmd(['HSETNX', this.key, rec.name, JSON.stringify(rec)])) === 1;
  }
  async list(): Promise<NafAppRecord[]> {
    const flat = (await this.r.cmd(['HGETALL', this.key])) as Reply[];
    const out: NafAppRecord[] = [];
    for (let i = 1; i < flat.length; i += 2) {
      try {
        out.push(JSON.parse(text(flat[i]!)) as NafAppRecord);
      } catch {
        /* a foreign value: skip it */
      }
    }
    return out;
  }
  async remove(name: string): Promise<boolean> {
    return (await this.r.cmd(['HDEL', this.key, name])) === 1;
  }
}

export class MemoryNafAppStore implements NafAppStore {
  readonly m = new Map<string, NafAppRecord>();
  async add(r: NafAppRecord): Promise<boolean> {
    if (this.m.has(r.name)) return false;
    this.m.set(r.name, r);
    return true;
  }
  async list(): Promise<NafAppRecord[]> {
    return [...this.m.values()];
  }
  async remove(name: string): Promise<boolean> {
    return this.m.delete(name);
  }
}
