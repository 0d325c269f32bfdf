/**
 * In-memory stores: one process only, nothing shared, nothing survives a restart. The zero-setup default;
 * the Redis store is what makes several NF instances (and restarts) work.
 */
import { nextNetworkSqn, resyncNetworkSqn } from '../crypto/sqn.js';
import { MemoryLwm2mRegistrationStore } from './lwm2m-registrations-memory.js';
import type {
  BootstrapSession,
  Challenge,
  ChallengeStore,
  NafKeyCache,
  NafKeyEntry,
  NonceStore,
  SessionStore,
  SqnAdvanceOptions,
  Stores,
  SubscriberRecord,
  SubscriberStore,
} from './types.js';
import { MemoryOpsStore } from './ops.js';
import { MemoryScenarioStore } from './scenarios.js';
import { MemoryNafAppStore } from './naf-apps.js';

/** A Map whose entries expire; expired entries are dropped on read and by a periodic sweep. */
class ExpiringMap<V> {
  readonly #m = new Map<string, { v: V; exp: number }>();
  readonly #timer: NodeJS.Timeout;
  constructor(sweepMs = 30_000) {
    this.#timer = setInterval(() => this.sweep(), sweepMs);
    this.#timer.unref();
  }
  get(k: string): V | undefined {
    const e = this.#m.get(k);
    if (!e) return undefined;
    if (e.exp <= Date.now()) {
      this.#m.delete(k);
      return undefined;
    }
    return e.v;
  }
  has(k: string): boolean {
    return this.get(k) !== undefined;
  }
  set(k: string, v: V, expMs: number): void {
    this.#m.set(k, { v, exp: expMs });
  }
  take(k: string): V | undefined {
    const v = this.get(k);
    this.#m.delete(k);
    return v;
  }
  deleteWhere(pred: (k: string) => boolean): void {
    for (const k of this.#m.keys()) if (pred(k)) this.#m.delete(k);
  }
  sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.#m) if (e.exp <= now) this.#m.delete(k);
  }
  close(): void {
    clearInterval(this.#timer);
    this.#m.clear();
  }
}

const copySub = (s: SubscriberRecord): SubscriberRecord => ({
  ...s,
  guss: s.guss ? structuredClone(s.guss) : undefined,
});

export class MemorySubscriberStore implements SubscriberStore {
  readonly #subs = new Map<string, SubscriberRecord>();
  readonly #impi = new Map<string, string>();

  async put(sub: SubscriberRecord): Promise<boolean> {
    const old = this.#subs.get(sub.imsi);
    if (old?.impi) this.#impi.delete(old.impi);
    this.#subs.set(sub.imsi, copySub(sub));
    if (sub.impi) this.#impi.set(sub.impi, sub.imsi);
    return !old;
  }
  async get(imsi: string): Promise<SubscriberRecord | undefined> {
    const s = this.#subs.get(imsi);
    return s && copySub(s);
  }
  async delete(imsi: string): Promise<boolean> {
    const s = this.#subs.get(imsi);
    if (!s) return false;
    if (s.impi) this.#impi.delete(s.impi);
    return this.#subs.delete(imsi);
  }
  async list(after: string | undefined, limit: number): Promise<{ items: SubscriberRecord[]; total: number }> {
    const imsis = [...this.#subs.keys()]
      .sort()
      .filter((i) => after === undefined || i > after)
      .slice(0, limit);
    return { items: imsis.map((i) => copySub(this.#subs.get(i)!)), total: this.#subs.size };
  }
  async imsiForImpi(impi: string): Promise<string | undefined> {
    return this.#impi.get(impi);
  }
  async advanceSqn(imsi: string, o: SqnAdvanceOptions): Promise<SubscriberRecord | undefined> {
    const s = this.#subs.get(imsi);
    if (!s) return undefined;
    const base = o.resyncSqnMs === undefined ? s.sqn : resyncNetworkSqn(s.sqn, o.resyncSqnMs, o.indBits, o.delta);
    s.sqn = nextNetworkSqn(base, o.indBits);
    return copySub(s);
  }
}

export class MemoryChallengeStore implements ChallengeStore {
  readonly m = new ExpiringMap<Challenge>(5_000);
  /** Per IMPI: its live nonces and their expiry, so outstanding() need not scan every challenge. */
  readonly #byImpi = new Map<string, Map<string, number>>();
  async create(nonce: string, c: Challenge, ttlMs: number): Promise<void> {
    const exp = Date.now() + ttlMs;
    this.m.set(nonce, c, exp);
    let mine = this.#byImpi.get(c.impi);
    if (!mine) this.#byImpi.set(c.impi, (mine = new Map()));
    mine.set(nonce, exp);
  }
  async consume(nonce: string): Promise<Challenge | undefined> {
    const c = this.m.take(nonce);
    if (c) this.#forget(c.impi, nonce);
    return c;
  }
  async outstanding(impi: string): Promise<number> {
    const mine = this.#byImpi.get(impi);
    if (!mine) return 0;
    const now = Date.now();
    for (const [n, exp] of mine) if (exp <= now) mine.delete(n);
    if (!mine.size) this.#byImpi.delete(impi);
    return mine.size;
  }
  #forget(impi: string, nonce: string): void {
    const mine = this.#byImpi.get(impi);
    mine?.delete(nonce);
    if (mine && !mine.size) this.#byImpi.delete(impi);
  }
}

export class MemorySessionStore implements SessionStore {
  readonly m = new ExpiringMap<BootstrapSession>();
  async create(s: BootstrapSession): Promise<boolean> {
    if (this.m.has(s.btid)) return false;
    this.m.set(s.btid, { ...s }, s.expiresAtMs);
    return true;
  }
  async get(btid: string): Promise<BootstrapSession | undefined> {
    const s = this.m.get(btid);
    return s && { ...s };
  }
}

export class MemoryNafKeyCache implements NafKeyCache {
  readonly m = new ExpiringMap<NafKeyEntry>();
  /** The revocation marker check (C9): a revoked B-TID's key is never written back. */
  revoked: (btid: string) => boolean = () => false;
  async get(btid: string, nafIdHex: string): Promise<NafKeyEntry | undefined> {
    return this.m.get(`${btid}:${nafIdHex}`);
  }
  async put(e: NafKeyEntry): Promise<void> {
    if (!this.revoked(e.btid)) this.m.set(`${e.btid}:${e.nafIdHex}`, e, e.expiresAtMs);
  }
}

export class MemoryNonceStore implements NonceStore {
  readonly m = new ExpiringMap<true>(5_000);
  async create(nonce: string, ttlMs: number): Promise<void> {
    this.m.set(nonce, true, Date.now() + ttlMs);
  }
  async consume(nonce: string): Promise<boolean> {
    return this.m.take(nonce) === true;
  }
}

export function createMemoryStores(): Stores {
  const challenges = new MemoryChallengeStore();
  const sessions = new MemorySessionStore();
  const nafKeys = new MemoryNafKeyCache();
  const nonces = new MemoryNonceStore();
  const ops = new MemoryOpsStore(sessions, (btid) => {
    sessions.m.take(btid);
    nafKeys.m.deleteWhere((k) => k.startsWith(`${btid}:`));
  });
  nafKeys.revoked = (btid) => ops.revokedNow(btid);
  return {
    kind: 'memory',
    subscribers: new MemorySubscriberStore(),
    challenges,
    sessions,
    nafKeys,
    nonces,
    ops,
    lwm2mRegistrations: new MemoryLwm2mRegistrationStore(),
    scenarios: new MemoryScenarioStore(),
    nafApps: new MemoryNafAppStore(),
    ping: async () => true,
    close: async () => {
      challenges.m.close();
      sessions.m.close();
      nafKeys.m.close();
      nonces.m.close();
    },
  };
}
