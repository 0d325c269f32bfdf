/**
 * Tests get their own redis-server on a free port (bench/redis-server.ts, the same start the benchmark uses),
 * started once per test run and killed when the run ends, so nothing on the shared 6379 is ever touched. With
 * REDIS_URL set, that server is used instead; every test uses its own key prefix either way, and nothing is
 * ever flushed.
 */
import { randomBytes } from 'node:crypto';
import { startOwnRedis } from '../../bench/redis-server.js';

let shared: Promise<string> | undefined;

/** The Redis URL tests use: REDIS_URL, or a private redis-server started on first use. */
export function testRedisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return Promise.resolve(process.env.REDIS_URL);
  shared ??= startOwnRedis({ unref: true }).then((r) => r.url);
  return shared;
}

/** A key prefix no other test uses. */
export const uniquePrefix = (what: string): string => `test:${what}:${randomBytes(4).toString('hex')}:`;
