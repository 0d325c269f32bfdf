/**
 * Picks the store as contract C1 says: `redis` needs a URL; `memory` is one process only; `auto` uses Redis
 * when a URL is given, else memory — and says which. A Redis on 6379 is used only when named (C1, C5): on a
 * shared machine it is someone else's. `up` starts a private redis-server for `auto` (bin/embedded-redis.ts).
 */
import { createMemoryStores } from './memory.js';
import { createRedisStores } from './redis.js';
import type { Stores } from './types.js';
import type { Logger } from '../log.js';
import { createConnection } from 'node:net';
import { redactUrlCredentials } from '../redact.js';

/** True if something answers PING at the URL's host and port within `timeoutMs`. */
export function redisAnswers(url: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const s = createConnection({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write(u.password ? `AUTH ${decodeURIComponent(u.password)}\r\nPING\r\n` : 'PING\r\n'));
    s.on('data', (d) => {
      if (d.toString().includes('+PONG')) done(true);
      else if (d.toString().startsWith('-')) done(false);
    });
  });
}

/** Resolves `auto` to a concrete kind and URL (used by `up`, so every child uses the same store). */
export async function resolveStoreKind(
  kind: 'auto' | 'redis' | 'memory',
  redisUrl: string | undefined,
): Promise<{ kind: 'redis' | 'memory'; redisUrl?: string; reason: string }> {
  if (kind === 'memory') return { kind, reason: 'in-memory store (as configured)' };
  // The reason is shown (up's output, every NF's start log): never the URL's password.
  if (kind === 'redis') return { kind, redisUrl: redisUrl!, reason: `Redis at ${redactUrlCredentials(redisUrl!)}` };
  if (redisUrl) return { kind: 'redis', redisUrl, reason: `Redis at ${redactUrlCredentials(redisUrl)} (given)` };
  return {
    kind: 'memory',
    reason: 'in-memory store: no --redis-url/REDIS_URL given (state is per process and lost on exit)',
  };
}

export async function openStores(
  o: { kind: 'auto' | 'redis' | 'memory'; redisUrl?: string; prefix: string; cluster?: boolean },
  log: Logger,
): Promise<Stores> {
  const r = await resolveStoreKind(o.kind, o.redisUrl);
  const cluster = r.kind === 'redis' && !!o.cluster;
  log.info(
    { store: r.kind, ...(cluster ? { cluster } : {}) },
    cluster ? `${r.reason}, a Redis Cluster seed node` : r.reason,
  );
  return r.kind === 'redis' ? createRedisStores(r.redisUrl!, o.prefix, { cluster }) : createMemoryStores();
}
