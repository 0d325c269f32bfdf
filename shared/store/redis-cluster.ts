/**
 * The store port over Redis Cluster (issue 16), node-redis 6 `createCluster` with the URL as its seed node: the
 * client learns the slot map (CLUSTER SHARDS) and sends each command to the master of its first key's slot,
 * following MOVED/ASK redirections. The stores keep every Lua script and MULTI to keys of one hash slot
 * (shared/store/keys.ts); keyless commands (PING, SCAN, INFO) go to a node of the client's choice, and a reader
 * that needs every node's keys asks each master (masters()).
 */
import { createCluster, RESP_TYPES } from 'redis';
import { StoreUnavailable } from '../errors.js';
import { Deadlines, evalScript, RECONNECT_MAX_DELAY_MS, unavailable, type RedisPort, type Reply } from './redis.js';

/** Commands whose second word is not a key (they go to any node). */
const KEYLESS = new Set([
  'PING',
  'ECHO',
  'INFO',
  'SCAN',
  'DBSIZE',
  'TIME',
  'CLUSTER',
  'CONFIG',
  'MEMORY',
  'SCRIPT',
  'FLUSHALL',
  'FLUSHDB',
]);

/** The key a command is routed by: the first key of a script, none for a keyless command, else the first argument. */
export function routingKey(args: Array<string | Buffer>): string | Buffer | undefined {
  const name = String(args[0]).toUpperCase();
  if (name === 'EVAL' || name === 'EVALSHA') return Number(args[2]) > 0 ? args[3] : undefined;
  if (KEYLESS.has(name)) return undefined;
  return args[1];
}

const READONLY = new Set([
  'GET',
  'HGET',
  'HGETALL',
  'EXISTS',
  'ZRANGE',
  'ZRANGEBYLEX',
  'ZCARD',
  'LRANGE',
  'SMEMBERS',
  'SCAN',
  'PING',
  'INFO',
  'DBSIZE',
]);

export async function connectRedisCluster(url: string, opts: { connectTimeoutMs?: number } = {}): Promise<RedisPort> {
  const seed = new URL(url);
  const socket = {
    connectTimeout: opts.connectTimeoutMs ?? 3000,
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, RECONNECT_MAX_DELAY_MS),
  };
  // Credentials (if any) go to every node: the discovered nodes do not inherit the seed's options.
  const defaults = {
    RESP: 2 as const,
    disableOfflineQueue: true,
    socket,
    ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
    ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
  };
  const cluster = createCluster({ rootNodes: [{ url }], defaults, RESP: 2 });
  let lastError: Error | undefined;
  cluster.on('error', (err: Error) => {
    lastError = err;
  });
  await cluster.connect();
  const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer };
  const c = cluster.withTypeMapping(typeMapping);
  const deadlines = new Deadlines();
  const timed = (p: () => Promise<unknown>): Promise<Reply> => {
    if (!cluster.isOpen)
      return Promise.reject(
        new StoreUnavailable(`redis cluster: not connected${lastError ? ` (${lastError.message})` : ''}`),
      );
    return new Promise<Reply>((resolve, reject: (e: unknown) => void) => {
      const d = deadlines.add((e) => reject(unavailable(e)));
      let sent: Promise<unknown>;
      try {
        sent = p();
      } catch (e) {
        sent = Promise.reject(e);
      }
      sent.then(
        (v) => {
          if (!d.settled) {
            d.settled = true;
            resolve(v as Reply);
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
  const cmd = (args: Array<string | Buffer>): Promise<Reply> =>
    timed(() => c.sendCommand(routingKey(args), READONLY.has(String(args[0]).toUpperCase()), args));
  return {
    cluster: true,
    cmd,
    script: (s, keys, args) => evalScript(cmd, s, keys, args),
    async multi(cmds) {
      const first = cmds.map(routingKey).find((k) => k !== undefined);
      const replies = await timed(() => {
        const m = c.multi(first);
        for (const a of cmds) m.addCommand(routingKey(a), false, a);
        return m.exec();
      });
      return replies as Reply[];
    },
    async masters() {
      return Promise.all(
        cluster.masters.map(async (m) => {
          const client = (await cluster.nodeClient(m)).withTypeMapping(typeMapping);
          return {
            address: `${m.host}:${m.port}`,
            cmd: (args: Array<string | Buffer>) => timed(() => client.sendCommand(args)),
          };
        }),
      );
    },
    async subscribe(channel, fn) {
      // Classic pub/sub is cluster-wide (a PUBLISH at any node reaches every subscriber); node-redis keeps one
      // subscriber connection (pubSubNode) and moves it to another node if its node goes away.
      const listener = (message: string | Buffer) => fn(String(message));
      await cluster.subscribe(channel, listener);
      return async () => {
        await cluster.unsubscribe(channel, listener).catch(() => {});
      };
    },
    async close() {
      await cluster.close().catch(() => cluster.destroy());
    },
  };
}
