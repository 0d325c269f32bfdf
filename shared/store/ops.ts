/**
 * Operations state (contract C9): an index of live bootstrapping sessions by IMPI, session revocation, and the
 * recent Ub outcomes per device. Revocation is a marker in the store (expiring with the session) plus a
 * notification on a channel: every key cache drops the B-TID when notified and checks the marker before it
 * writes a freshly fetched key, so an in-flight Zn fetch cannot bring a revoked key back.
 */
import { EventEmitter } from 'node:events';
import type { KeyNames } from './keys.js';
import type { RedisPort } from './redis.js';
import type { BootstrapSession, SessionStore } from './types.js';

/** One Ub outcome as the timeline keeps it; `outcome` is a gba_ub_outcomes_total label. */
export interface UbEvent {
  atMs: number;
  impi: string;
  outcome: string;
  reason: string;
  btid?: string;
}

export interface SessionSummary {
  btid: string;
  impi: string;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface OpsLimits {
  /** Events kept per IMPI (and 4× that in the all-devices list). */
  eventsPerImpi: number;
  /** How long an IMPI's timeline is kept after its last event. */
  eventTtlMs: number;
  /** Sessions kept in the all-sessions index (the oldest-expiring go first). */
  indexedSessions: number;
}

export const DEFAULT_OPS_LIMITS: OpsLimits = { eventsPerImpi: 50, eventTtlMs: 7 * 86_400_000, indexedSessions: 10_000 };

export interface OpsStore {
  /** Indexes a session just created, so it can be listed by IMPI. */
  indexSession(s: SessionSummary): Promise<void>;
  /** Live sessions, latest expiry first: one IMPI's, or all. */
  sessions(impi: string | undefined, limit: number): Promise<SessionSummary[]>;
  /** Revokes a live session; false when there is none by that B-TID. */
  revoke(btid: string): Promise<boolean>;
  isRevoked(btid: string): Promise<boolean>;
  recordEvent(e: UbEvent): Promise<void>;
  /** Newest first: one IMPI's, or every device's. */
  events(impi: string | undefined, limit: number): Promise<UbEvent[]>;
  /** Calls `fn` with every B-TID revoked from now on (any process sharing the store); resolves once listening. */
  onRevoked(fn: (btid: string) => void): Promise<() => Promise<void>>;
}

const summary = (s: BootstrapSession): SessionSummary => ({
  btid: s.btid,
  impi: s.impi,
  createdAtMs: s.createdAtMs,
  expiresAtMs: s.expiresAtMs,
});

type Reply = Buffer | string | number | null | Reply[];
const text = (r: Reply): string => (Buffer.isBuffer(r) ? r.toString('utf8') : String(r));

export class RedisOpsStore implements OpsStore {
  constructor(
    readonly r: RedisPort,
    readonly url: string,
    readonly keys: KeyNames,
    readonly sessionStore: SessionStore,
    readonly limits: OpsLimits = DEFAULT_OPS_LIMITS,
  ) {}

  // Two indexes, two slots: one MULTI each (Redis Cluster runs a MULTI in one slot only).
  async indexSession(s: SessionSummary): Promise<void> {
    const all = this.keys.sessionIndex();
    const mine = this.keys.sessionIndex(s.impi);
    const now = String(Date.now());
    await Promise.all([
      this.r.multi([
        ['ZADD', all, String(s.expiresAtMs), s.btid],
        ['ZREMRANGEBYSCORE', all, '-inf', now],
        ['ZREMRANGEBYRANK', all, '0', String(-this.limits.indexedSessions - 1)],
      ]),
      this.r.multi([
        ['ZADD', mine, String(s.expiresAtMs), s.btid],
        ['ZREMRANGEBYSCORE', mine, '-inf', now],
        ['ZREMRANGEBYRANK', mine, '0', String(-this.limits.eventsPerImpi - 1)],
        ['PEXPIREAT', mine, String(s.expiresAtMs), 'GT'],
        ['PEXPIREAT', mine, String(s.expiresAtMs), 'NX'],
      ]),
    ]);
  }

  async sessions(impi: string | undefined, limit: number): Promise<SessionSummary[]> {
    const btids = (await this.r.cmd([
      'ZRANGE',
      this.keys.sessionIndex(impi),
      '+inf',
      String(Date.now()),
      'BYSCORE',
      'REV',
      'LIMIT',
      '0',
      String(limit),
    ])) as Reply[];
    const found = await Promise.all(btids.map((b) => this.sessionStore.get(text(b))));
    return found.filter((s): s is BootstrapSession => !!s && (impi === undefined || s.impi === impi)).map(summary);
  }

  async revoke(btid: string): Promise<boolean> {
    const s = await this.sessionStore.get(btid);
    if (!s) return false;
    // Marker first: from here on no cache writes this B-TID's keys (RedisNafKeyCache.put checks it atomically).
    // Marker and session share the {B-TID} slot: one MULTI; the indexes are keys of their own.
    await this.r.multi([
      ['SET', this.keys.revoked(btid), '1', 'PXAT', String(Math.max(Date.now() + 1000, s.expiresAtMs))],
      ['DEL', this.keys.session(btid)],
    ]);
    await Promise.all([
      this.r.cmd(['ZREM', this.keys.sessionIndex(), btid]),
      this.r.cmd(['ZREM', this.keys.sessionIndex(s.impi), btid]),
    ]);
    // Every entry written before the marker is in the B-TID's NAF_Id set (the same script wrote both).
    const index = this.keys.nafKeyIndex(btid);
    const ids = (await this.r.cmd(['SMEMBERS', index])) as Reply[];
    await this.r.multi([...ids.map((id) => ['DEL', this.keys.nafKey(btid, text(id))]), ['DEL', index]]);
    await this.r.cmd(['PUBLISH', this.keys.revocations(), btid]);
    return true;
  }

  async isRevoked(btid: string): Promise<boolean> {
    return (await this.r.cmd(['EXISTS', this.keys.revoked(btid)])) === 1;
  }

  async recordEvent(e: UbEvent): Promise<void> {
    const v = JSON.stringify(e);
    const mine = this.keys.events(e.impi);
    const all = this.keys.events();
    await Promise.all([
      this.r.multi([
        ['LPUSH', mine, v],
        ['LTRIM', mine, '0', String(this.limits.eventsPerImpi - 1)],
        ['PEXPIRE', mine, String(this.limits.eventTtlMs)],
      ]),
      this.r.multi([
        ['LPUSH', all, v],
        ['LTRIM', all, '0', String(this.limits.eventsPerImpi * 4 - 1)],
        ['PEXPIRE', all, String(this.limits.eventTtlMs)],
      ]),
    ]);
  }

  async events(impi: string | undefined, limit: number): Promise<UbEvent[]> {
    const items = (await this.r.cmd(['LRANGE', this.keys.events(impi), '0', String(limit - 1)])) as Reply[];
    return items.map((i) => JSON.parse(text(i)) as UbEvent);
  }

  async onRevoked(fn: (btid: string) => void): Promise<() => Promise<void>> {
    // Classic PUBLISH/SUBSCRIBE: with Redis Cluster a message published at any node reaches subscribers at every node.
    return this.r.subscribe(this.keys.revocations(), fn);
  }
}

/** In one process (the in-memory store): the same behaviour, with an EventEmitter as the channel. */
export class MemoryOpsStore implements OpsStore {
  readonly #bus = new EventEmitter();
  readonly #revoked = new Map<string, number>();
  readonly #index = new Map<string, SessionSummary>();
  readonly #events = new Map<string, UbEvent[]>();
  #all: UbEvent[] = [];

  constructor(
    readonly sessionStore: SessionStore,
    readonly drop: (btid: string) => void,
    readonly limits: OpsLimits = DEFAULT_OPS_LIMITS,
  ) {
    this.#bus.setMaxListeners(0);
  }

  async indexSession(s: SessionSummary): Promise<void> {
    const now = Date.now();
    for (const [b, x] of this.#index) if (x.expiresAtMs <= now) this.#index.delete(b);
    while (this.#index.size >= this.limits.indexedSessions) this.#index.delete(this.#index.keys().next().value!);
    this.#index.set(s.btid, { ...s });
  }

  async sessions(impi: string | undefined, limit: number): Promise<SessionSummary[]> {
    const now = Date.now();
    return [...this.#index.values()]
      .filter((s) => s.expiresAtMs > now && (impi === undefined || s.impi === impi))
      .sort((a, b) => b.expiresAtMs - a.expiresAtMs)
      .slice(0, limit)
      .map((s) => ({ ...s }));
  }

  async revoke(btid: string): Promise<boolean> {
    const s = await this.sessionStore.get(btid);
    if (!s) return false;
    this.#revoked.set(btid, Math.max(Date.now() + 1000, s.expiresAtMs));
    this.#index.delete(btid);
    this.drop(btid);
    this.#bus.emit('revoked', btid);
    return true;
  }

  revokedNow(btid: string): boolean {
    const until = this.#revoked.get(btid);
    if (until === undefined) return false;
    if (until <= Date.now()) {
      this.#revoked.delete(btid);
      return false;
    }
    return true;
  }

  async isRevoked(btid: string): Promise<boolean> {
    return this.revokedNow(btid);
  }

  async recordEvent(e: UbEvent): Promise<void> {
    const list = this.#events.get(e.impi) ?? [];
    list.unshift({ ...e });
    list.length = Math.min(list.length, this.limits.eventsPerImpi);
    this.#events.delete(e.impi);
    this.#events.set(e.impi, list);
    // Bounded like the Redis keys' TTL: at most this many devices' timelines, the least recently active go first.
    while (this.#events.size > this.limits.indexedSessions) this.#events.delete(this.#events.keys().next().value!);
    this.#all.unshift({ ...e });
    if (this.#all.length > this.limits.eventsPerImpi * 4) this.#all = this.#all.slice(0, this.limits.eventsPerImpi * 4);
  }

  async events(impi: string | undefined, limit: number): Promise<UbEvent[]> {
    const cutoff = Date.now() - this.limits.eventTtlMs;
    const list = impi === undefined ? this.#all : (this.#events.get(impi) ?? []);
    return list
      .filter((e) => e.atMs > cutoff)
      .slice(0, limit)
      .map((e) => ({ ...e }));
  }

  async onRevoked(fn: (btid: string) => void): Promise<() => Promise<void>> {
    this.#bus.on('revoked', fn);
    return async () => {
      this.#bus.off('revoked', fn);
    };
  }
}
