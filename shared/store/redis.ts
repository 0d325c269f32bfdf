/**
 * Redis stores on node-redis 6 (RESP2, bulk strings as Buffers). One connection per process; node-redis
 * pipelines concurrent commands on it; command timeouts are kept with one timer for all (Deadlines). Every
 * protocol-critical write is one atomic command or script: SQN advance (Lua), challenge consume (GETDEL),
 * session create (SET NX PXAT).
 */
import { createHash } from 'node:crypto';
import { createClient, ErrorReply, RESP_TYPES, TimeoutError } from 'redis';
import { StoreUnavailable } from '../errors.js';
import { keyNames, type KeyNames } from './keys.js';
import { decodeChallenge, decodeSession, encodeChallenge, encodeSession } from './codecs.js';
import { DEFAULT_DELTA, DEFAULT_IND_BITS } from '../crypto/sqn.js';
import { RedisLwm2mRegistrationStore } from './lwm2m-registrations-redis.js';
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
import { RedisOpsStore } from './ops.js';
import { RedisScenarioStore } from './scenarios.js';
import { connectRedisCluster } from './redis-cluster.js';
import { RedisNafAppStore } from './naf-apps.js';

export type Reply = Buffer | string | number | null | Reply[];

/**
 * The narrow port the stores need: raw commands plus cached Lua scripts. With Redis Cluster (redis-cluster.ts)
 * a command goes to the master of its first key's slot, and a script or MULTI must keep to one slot (keys.ts).
 */
export interface RedisPort {
  readonly cluster: boolean;
  cmd(args: Array<string | Buffer>): Promise<Reply>;
  script(s: LuaScript, keys: string[], args: string[]): Promise<Reply>;
  /** MULTI … EXEC sent as one batch, so commands of concurrent requests cannot interleave. One hash slot. */
  multi(cmds: Array<Array<string | Buffer>>): Promise<Reply[]>;
  /** A command sender per master (one for a single Redis): SCAN, INFO, DBSIZE, which see one node's keys. */
  masters(): Promise<Array<{ address: string; cmd(args: Array<string | Buffer>): Promise<Reply> }>>;
  /** Subscribes on a connection of its own (a subscribed RESP2 connection does nothing else); reconnects on its own. */
  subscribe(channel: string, fn: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/** node-redis's own default command timeout (DEFAULT_COMMAND_TIMEOUT), kept as it was. */
export const COMMAND_TIMEOUT_MS = 5000;

/**
 * Command timeouts with one timer for all commands in flight. node-redis arms an AbortSignal.timeout (a timer,
 * an EventTarget and a finalizer, ~10 µs) for every command; without them `gba-sim bench` bootstraps about a
 * quarter faster. Commands complete in the order they were sent, so the oldest deadline is always at
 * the head of the queue and a 100 ms tick finds every expired one. A timed-out command rejects with
 * node-redis's own TimeoutError, after 5.0–5.1 s, as before; its reply, should it come, is ignored, as before.
 */
export class Deadlines {
  #items: Array<{ at: number; settled: boolean; reject: (e: Error) => void }> = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  add(reject: (e: Error) => void): { settled: boolean } {
    const item = { at: performance.now() + COMMAND_TIMEOUT_MS, settled: false, reject };
    this.#items.push(item);
    this.#timer ??= setInterval(() => this.#expire(), 100).unref();
    return item;
  }

  #expire(): void {
    const now = performance.now();
    const items = this.#items;
    while (this.#head < items.length) {
      const item = items[this.#head]!;
      if (!item.settled) {
        if (item.at > now) break;
        item.settled = true;
        item.reject(new TimeoutError());
      }
      items[this.#head++] = undefined as never;
    }
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 4096) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    if (!this.#items.length && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** The longest pause between reconnect attempts: a request that comes after Redis is back succeeds within 2 s. */
export const RECONNECT_MAX_DELAY_MS = 500;

/**
 * Anything but Redis's own error reply (a wrong command, NOSCRIPT) means the store did not answer: offline,
 * reconnecting, socket closed or timed out. Those become StoreUnavailable, which HTTP answers with 503.
 */
export function unavailable(err: unknown): Error {
  if (err instanceof ErrorReply || err instanceof StoreUnavailable) return err;
  return new StoreUnavailable(`redis: ${(err as Error)?.message || (err as Error)?.name || String(err)}`, {
    cause: err,
  });
}

/** Runs `cmd`, falling back from EVALSHA to EVAL when the server has not cached the script yet. */
export async function evalScript(
  cmd: (args: Array<string | Buffer>) => Promise<Reply>,
  s: LuaScript,
  keys: string[],
  args: string[],
): Promise<Reply> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await cmd(['EVALSHA', s.sha, ...tail]);
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    return cmd(['EVAL', s.source, ...tail]); // loads it into the script cache for the next call
  }
}

export async function connectRedis(url: string, opts: { connectTimeoutMs?: number } = {}): Promise<RedisPort> {
  const client = createClient({
    url,
    RESP: 2,
    // Fail fast while disconnected (no offline queue holding requests for 5 s), retry the connection often.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: opts.connectTimeoutMs ?? 3000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, RECONNECT_MAX_DELAY_MS),
    },
  });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
  }); // reconnects on its own; commands fail meanwhile
  await client.connect();
  const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer };
  const c = client.withTypeMapping(typeMapping);
  // While connected, commands go out on the next tick, and Deadlines times them out. While reconnecting they
  // wait in node-redis's offline queue, and only its own per-command timeout also takes them out of that queue
  // when they expire, so those keep it.
  const untimed = client.withCommandOptions({ typeMapping, timeout: 0 });
  const deadlines = new Deadlines();
  const cmd = (args: Array<string | Buffer>): Promise<Reply> => {
    if (!client.isReady)
      return Promise.reject(new StoreUnavailable(`redis: not connected${lastError ? ` (${lastError.message})` : ''}`));
    return new Promise<Reply>((resolve, reject: (e: unknown) => void) => {
      const d = deadlines.add((e) => reject(unavailable(e)));
      (untimed.sendCommand(args) as Promise<Reply>).then(
        (v) => {
          if (!d.settled) {
            d.settled = true;
            resolve(v);
          }
        },
        (e: unknown) => {
          if (!d.settled) {
            d.settled = true;
            reject(unavailable(e));
          }
        },
      );
    });
  };
  return {
    cluster: false,
    cmd,
    script: (s, keys, args) => evalScript(cmd, s, keys, args),
    async multi(cmds) {
      if (!client.isReady) throw new StoreUnavailable('redis: not connected');
      const m = c.multi();
      for (const a of cmds) m.addCommand(a);
      try {
        return (await m.exec()) as unknown as Reply[];
      } catch (err) {
        throw unavailable(err);
      }
    },
    async masters() {
      return [{ address: url, cmd }];
    },
    async subscribe(channel, fn) {
      const sub = createClient({
        url,
        RESP: 2,
        socket: { connectTimeout: 3000, reconnectStrategy: (n) => Math.min(100 * 2 ** n, 2000) },
      });
      sub.on('error', () => {
        /* reconnecting; the revocation marker still guards cache writes meanwhile */
      });
      await sub.connect();
      await sub.subscribe(channel, (message) => fn(message));
      return async () => {
        await sub.close().catch(() => sub.destroy());
      };
    },
    async close() {
      await client.close().catch(() => client.destroy());
    },
  };
}

const str = (r: Reply | undefined): string | undefined =>
  r === null || r === undefined ? undefined : Buffer.isBuffer(r) ? r.toString('utf8') : String(r);

function pairs(r: Reply): Map<string, string> {
  const m = new Map<string, string>();
  if (!Array.isArray(r)) return m;
  for (let i = 0; i + 1 < r.length; i += 2) m.set(str(r[i])!, str(r[i + 1])!);
  return m;
}

function subscriberFields(s: SubscriberRecord): string[] {
  const f = [
    'k',
    s.k.toString('hex'),
    'opc',
    s.opc.toString('hex'),
    'amf',
    s.amf.toString('hex'),
    'sqn',
    String(s.sqn),
    'alg',
    s.algorithm,
    'resLength',
    String(s.resLength),
    'updated',
    String(s.updatedMs),
  ];
  if (s.op) f.push('op', s.op.toString('hex'));
  if (s.impi) f.push('impi', s.impi);
  if (s.guss) f.push('guss', JSON.stringify(s.guss));
  return f;
}

function subscriberOf(imsi: string, m: Map<string, string>): SubscriberRecord | undefined {
  if (!m.has('k')) return undefined;
  const hex = (n: string) => Buffer.from(m.get(n) ?? '', 'hex');
  return {
    imsi,
    k: hex('k'),
    opc: hex('opc'),
    op: m.has('op') ? hex('op') : undefined,
    amf: hex('amf'),
    sqn: Number(m.get('sqn')),
    algorithm: m.get('alg') === 'xor' ? 'xor' : 'milenage',
    resLength: Number(m.get('resLength') ?? 8),
    impi: m.get('impi'),
    guss: m.has('guss') ? JSON.parse(m.get('guss')!) : undefined,
    updatedMs: Number(m.get('updated') ?? 0),
  };
}

/** TS 33.102 Annex C in Lua: optional resync adoption, then SEQ + 1 with the next IND — one atomic step. */
const ADVANCE_SQN = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local sqn = tonumber(redis.call('HGET', KEYS[1], 'sqn'))
local m = 2 ^ tonumber(ARGV[1])
local function nextSqn(s) return (math.floor(s / m) + 1) * m + ((s % m) + 1) % m end
if ARGV[3] ~= '' then
  local ms = tonumber(ARGV[3])
  local nseq = math.floor(nextSqn(sqn) / m)
  local mseq = math.floor(ms / m)
  if not (nseq > mseq and nseq - mseq <= tonumber(ARGV[2])) then sqn = ms end
end
local nxt = nextSqn(sqn)
if nxt > 281474976710655 then return redis.error_reply('SQN space exhausted') end
redis.call('HSET', KEYS[1], 'sqn', string.format('%.0f', nxt))
return redis.call('HGETALL', KEYS[1])
`);

export class RedisSubscriberStore implements SubscriberStore {
  constructor(
    readonly r: RedisPort,
    readonly keys: KeyNames,
  ) {}

  // The hash (one slot, {IMSI}) is replaced in one MULTI; the paging index and the IMPI mapping are keys of other
  // slots, written after it with commands of their own (a lookup that finds a mapping whose hash is gone gets undefined).
  async put(s: SubscriberRecord): Promise<boolean> {
    const key = this.keys.subscriber(s.imsi);
    const oldImpi = str(await this.r.cmd(['HGET', key, 'impi']));
    const existed = (await this.r.cmd(['EXISTS', key])) === 1;
    await this.r.multi([
      ['DEL', key],
      ['HSET', key, ...subscriberFields(s)],
    ]);
    await this.r.cmd(['ZADD', this.keys.subscriberIndex(), '0', s.imsi]);
    if (oldImpi && oldImpi !== s.impi) await this.r.cmd(['DEL', this.keys.impi(oldImpi)]);
    if (s.impi) await this.r.cmd(['SET', this.keys.impi(s.impi), s.imsi]);
    return !existed;
  }

  async get(imsi: string): Promise<SubscriberRecord | undefined> {
    return subscriberOf(imsi, pairs(await this.r.cmd(['HGETALL', this.keys.subscriber(imsi)])));
  }

  async delete(imsi: string): Promise<boolean> {
    const key = this.keys.subscriber(imsi);
    const impi = str(await this.r.cmd(['HGET', key, 'impi']));
    const n = await this.r.cmd(['DEL', key]);
    await this.r.cmd(['ZREM', this.keys.subscriberIndex(), imsi]);
    if (impi) await this.r.cmd(['DEL', this.keys.impi(impi)]);
    return n === 1;
  }

  // Paging reads one sorted set (ordered, with a total, in O(log N)); the records are per-key reads, so with
  // Redis Cluster they come from whichever master holds each IMSI's slot.
  async list(after: string | undefined, limit: number): Promise<{ items: SubscriberRecord[]; total: number }> {
    const idx = this.keys.subscriberIndex();
    const imsis = (await this.r.cmd([
      'ZRANGEBYLEX',
      idx,
      after === undefined ? '-' : `(${after}`,
      '+',
      'LIMIT',
      '0',
      String(limit),
    ])) as Reply[];
    const total = Number(await this.r.cmd(['ZCARD', idx]));
    const items = await Promise.all(imsis.map((i) => this.get(str(i)!)));
    return { items: items.filter((x): x is SubscriberRecord => !!x), total };
  }

  async imsiForImpi(impi: string): Promise<string | undefined> {
    return str(await this.r.cmd(['GET', this.keys.impi(impi)]));
  }

  async advanceSqn(imsi: string, o: SqnAdvanceOptions): Promise<SubscriberRecord | undefined> {
    const reply = await this.r.script(
      ADVANCE_SQN,
      [this.keys.subscriber(imsi)],
      [
        String(o.indBits ?? DEFAULT_IND_BITS),
        String(o.delta ?? DEFAULT_DELTA),
        o.resyncSqnMs === undefined ? '' : String(o.resyncSqnMs),
      ],
    );
    return reply === null ? undefined : subscriberOf(imsi, pairs(reply));
  }
}

export class RedisChallengeStore implements ChallengeStore {
  constructor(
    readonly r: RedisPort,
    readonly keys: KeyNames,
  ) {}
  async create(nonce: string, c: Challenge, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.round(ttlMs));
    const exp = String(Date.now() + ttl);
    const idx = this.keys.challengeIndex(c.impi);
    // Two slots in a Redis Cluster ({nonce} and {impi}), so two round trips; the index is only a count bound
    // (issue 18 finding 10) and a nonce missing from it expires anyway. It lives as long as its newest nonce
    // (GT extends, NX sets the first expiry).
    await this.r.cmd(['SET', this.keys.challenge(nonce), encodeChallenge(c), 'PX', String(ttl)]);
    await this.r.multi([
      ['ZADD', idx, exp, nonce],
      ['PEXPIREAT', idx, exp, 'GT'],
      ['PEXPIREAT', idx, exp, 'NX'],
    ]);
  }
  async consume(nonce: string): Promise<Challenge | undefined> {
    const v = await this.r.cmd(['GETDEL', this.keys.challenge(nonce)]);
    if (!Buffer.isBuffer(v)) return undefined;
    const c = decodeChallenge(v);
    await this.r.cmd(['ZREM', this.keys.challengeIndex(c.impi), nonce]);
    return c;
  }
  async outstanding(impi: string): Promise<number> {
    const idx = this.keys.challengeIndex(impi);
    const [, n] = await this.r.multi([
      ['ZREMRANGEBYSCORE', idx, '-inf', String(Date.now())],
      ['ZCARD', idx],
    ]);
    return Number(n);
  }
}

export class RedisSessionStore implements SessionStore {
  constructor(
    readonly r: RedisPort,
    readonly keys: KeyNames,
  ) {}
  async create(s: BootstrapSession): Promise<boolean> {
    const reply = await this.r.cmd([
      'SET',
      this.keys.session(s.btid),
      encodeSession(s),
      'PXAT',
      String(Math.ceil(s.expiresAtMs)),
      'NX',
    ]);
    return reply !== null;
  }
  async get(btid: string): Promise<BootstrapSession | undefined> {
    const v = await this.r.cmd(['GET', this.keys.session(btid)]);
    if (!Buffer.isBuffer(v)) return undefined;
    const s = decodeSession(btid, v);
    return s.expiresAtMs > Date.now() ? s : undefined; // PXAT has whole-ms precision; the record has whole seconds
  }
}

/** KEYS: entry, revocation marker, the B-TID's NAF_Id set — one slot, {B-TID}. ARGV: value, expiry (ms), NAF_Id. */
const PUT_UNLESS_REVOKED = new LuaScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIREAT', KEYS[3], ARGV[2], 'GT')
redis.call('PEXPIREAT', KEYS[3], ARGV[2], 'NX')
return 1
`);

export class RedisNafKeyCache implements NafKeyCache {
  constructor(
    readonly r: RedisPort,
    readonly keys: KeyNames,
  ) {}
  async get(btid: string, nafIdHex: string): Promise<NafKeyEntry | undefined> {
    const v = await this.r.cmd(['GET', this.keys.nafKey(btid, nafIdHex)]);
    return Buffer.isBuffer(v) ? (JSON.parse(v.toString('utf8')) as NafKeyEntry) : undefined;
  }
  async put(e: NafKeyEntry): Promise<void> {
    if (e.expiresAtMs <= Date.now()) return;
    // Atomic with the revocation marker (C9): a fetch that was in flight when its B-TID was revoked writes nothing.
    // The NAF_Id set lets a revocation find the B-TID's entries without a SCAN of the whole keyspace.
    await this.r.script(
      PUT_UNLESS_REVOKED,
      [this.keys.nafKey(e.btid, e.nafIdHex), this.keys.revoked(e.btid), this.keys.nafKeyIndex(e.btid)],
      [JSON.stringify(e), String(Math.ceil(e.expiresAtMs)), e.nafIdHex],
    );
  }
}

export class RedisNonceStore implements NonceStore {
  constructor(
    readonly r: RedisPort,
    readonly keys: KeyNames,
  ) {}
  async create(nonce: string, ttlMs: number): Promise<void> {
    await this.r.cmd(['SET', this.keys.nonce(nonce), '1', 'PX', String(Math.max(1, Math.round(ttlMs)))]);
  }
  async consume(nonce: string): Promise<boolean> {
    return (await this.r.cmd(['DEL', this.keys.nonce(nonce)])) === 1;
  }
}

/** Stores over one Redis, or (cluster) over a Redis Cluster with `url` as its seed node. */
export async function createRedisStores(url: string, prefix = 'gba:', o: { cluster?: boolean } = {}): Promise<Stores> {
  const r = o.cluster ? await connectRedisCluster(url) : await connectRedis(url);
  const keys = keyNames(prefix);
  const sessions = new RedisSessionStore(r, keys);
  return {
    kind: 'redis',
    subscribers: new RedisSubscriberStore(r, keys),
    challenges: new RedisChallengeStore(r, keys),
    sessions,
    ops: new RedisOpsStore(r, url, keys, sessions),
    nafKeys: new RedisNafKeyCache(r, keys),
    nonces: new RedisNonceStore(r, keys),
    lwm2mRegistrations: new RedisLwm2mRegistrationStore(r, keys),
    scenarios: new RedisScenarioStore(r, keys.scenarios(), LuaScript),
    nafApps: new RedisNafAppStore(r, keys.nafApps()),
    ping: async () => {
      try {
        return (await r.cmd(['PING'])) === 'PONG';
      } catch {
        return false;
      }
    },
    close: () => r.close(),
  };
}
