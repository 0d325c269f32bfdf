/**
 * BSF fault scenarios for testing devices (contract C8), kept in the store so that every BSF process (and a
 * restarted one) applies them: per IMPI, a fault for that device's next `count` bootstraps. Taking one use is
 * atomic (a Lua script in Redis), so two BSF instances never apply the last use twice.
 */
import type { LuaScript as LuaScriptT, RedisPort } from './redis.js';

export type Fault = 'bad_mac' | 'stale_sqn' | 'bad_rspauth' | 'hss_unavailable' | 'delay';
export const FAULTS: readonly Fault[] = ['bad_mac', 'stale_sqn', 'bad_rspauth', 'hss_unavailable', 'delay'];

export interface FaultScenario {
  impi: string;
  fault: Fault;
  /** Bootstraps (initial requests) still to be faulted. */
  count: number;
  delayMs?: number;
}

/** At most this many IMPIs with a scenario at once (a lab tool, not a per-subscriber table). */
export const MAX_SCENARIOS = 10_000;

export interface ScenarioStore {
  /** Creates or replaces; 'created' | 'replaced', or 'full' at MAX_SCENARIOS. */
  put(s: FaultScenario): Promise<'created' | 'replaced' | 'full'>;
  list(): Promise<FaultScenario[]>;
  get(impi: string): Promise<FaultScenario | undefined>;
  delete(impi: string): Promise<boolean>;
  /** One use of the IMPI's scenario, atomically (removed after its last): the scenario as it was, or undefined. */
  take(impi: string): Promise<FaultScenario | undefined>;
  /** The device's last authentication vector (opaque octets), for stale_sqn; replaced each time, expiring. */
  rememberVector(impi: string, v: Buffer, ttlMs: number): Promise<void>;
  lastVector(impi: string): Promise<Buffer | undefined>;
}

const decode = (impi: string, v: unknown): FaultScenario => {
  const o = JSON.parse(Buffer.isBuffer(v) ? v.toString('utf8') : String(v)) as Omit<FaultScenario, 'impi'>;
  return { impi, fault: o.fault, count: o.count, ...(o.delayMs !== undefined ? { delayMs: o.delayMs } : {}) };
};
const encode = (s: FaultScenario): string =>
  JSON.stringify({ fault: s.fault, count: s.count, ...(s.delayMs !== undefined ? { delayMs: s.delayMs } : {}) });

const TAKE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local s = cjson.decode(v)
s.count = s.count - 1
if s.count <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(s)) end
return v`;

export class RedisScenarioStore implements ScenarioStore {
  readonly #take: LuaScriptT;

  /** `key`: one hash, IMPI → JSON; `LuaScript` is passed in so this file needs nothing else of redis.ts at load. */
  constructor(
    readonly r: RedisPort,
    readonly key: string,
    LuaScript: new (source: string) => LuaScriptT,
  ) {
    this.#take = new LuaScript(TAKE);
  }

  async put(s: FaultScenario): Promise<'created' | 'replaced' | 'full'> {
    const exists = (await this.r.cmd(['HEXISTS', this.key, s.impi])) === 1;
    if (!exists && Number(await this.r.cmd(['HLEN', this.key])) >= MAX_SCENARIOS) return 'full';
    await this.r.cmd(['HSET', this.key, s.impi, encode(s)]);
    return exists ? 'replaced' : 'created';
  }

  async list(): Promise<FaultScenario[]> {
    const flat = (await this.r.cmd(['HGETALL', this.key])) as unknown[];
    const out: FaultScenario[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push(decode(String(flat[i]), flat[i + 1]));
    return out.sort((a, b) => a.impi.localeCompare(b.impi));
  }

  async get(impi: string): Promise<FaultScenario | undefined> {
    const v = await this.r.cmd(['HGET', this.key, impi]);
    return v === null || v === undefined ? undefined : decode(impi, v);
  }

  async delete(impi: string): Promise<boolean> {
    return (await this.r.cmd(['HDEL', this.key, impi])) === 1;
  }

  async take(impi: string): Promise<FaultScenario | undefined> {
    const v = await this.r.script(this.#take, [this.key], [impi]);
    return v === null || v === undefined || v === 0 ? undefined : decode(impi, v);
  }

  async rememberVector(impi: string, v: Buffer, ttlMs: number): Promise<void> {
    await this.r.cmd(['SET', `${this.key}:lastav:${impi}`, v, 'PX', String(Math.max(1, Math.round(ttlMs)))]);
  }

  async lastVector(impi: string): Promise<Buffer | undefined> {
    const v = await this.r.cmd(['GET', `${this.key}:lastav:${impi}`]);
    return Buffer.isBuffer(v) ? v : undefined;
  }
}

export class MemoryScenarioStore implements ScenarioStore {
  readonly #m = new Map<string, FaultScenario>();
  readonly #vectors = new Map<string, { v: Buffer; until: number }>();

  async put(s: FaultScenario): Promise<'created' | 'replaced' | 'full'> {
    const exists = this.#m.has(s.impi);
    if (!exists && this.#m.size >= MAX_SCENARIOS) return 'full';
    this.#m.set(s.impi, { ...s });
    return exists ? 'replaced' : 'created';
  }

  async list(): Promise<FaultScenario[]> {
    return [...this.#m.values()].map((s) => ({ ...s })).sort((a, b) => a.impi.localeCompare(b.impi));
  }

  async get(impi: string): Promise<FaultScenario | undefined> {
    const s = this.#m.get(impi);
    return s && { ...s };
  }

  async delete(impi: string): Promise<boolean> {
    return this.#m.delete(impi);
  }

  async take(impi: string): Promise<FaultScenario | undefined> {
    const s = this.#m.get(impi);
    if (!s) return undefined;
    if (s.count <= 1) this.#m.delete(impi);
    else this.#m.set(impi, { ...s, count: s.count - 1 });
    return { ...s };
  }

  async rememberVector(impi: string, v: Buffer, ttlMs: number): Promise<void> {
    const now = Date.now();
    this.#vectors.delete(impi);
    this.#vectors.set(impi, { v: Buffer.from(v), until: now + ttlMs });
    // Bounded: the oldest entries go first once expired or beyond the cap.
    for (const [k, e] of this.#vectors) {
      if (e.until > now && this.#vectors.size <= 100_000) break;
      this.#vectors.delete(k);
    }
  }

  async lastVector(impi: string): Promise<Buffer | undefined> {
    const e = this.#vectors.get(impi);
    return e && e.until > Date.now() ? e.v : undefined;
  }
}
