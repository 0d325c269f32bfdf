/**
 * A 3-master Redis Cluster for the tests (bench/redis-cluster.ts), started once per test run on first use and
 * killed when the run ends (an `after` hook in the file that uses it, and process exit in any case).
 */
import { startOwnRedisCluster, type OwnRedisCluster } from '../../bench/redis-cluster.js';

let shared: Promise<OwnRedisCluster> | undefined;

export function testRedisCluster(): Promise<OwnRedisCluster> {
  shared ??= startOwnRedisCluster({ masters: 3, unref: true });
  return shared;
}

export async function stopTestRedisCluster(): Promise<void> {
  const c = shared;
  shared = undefined;
  if (c) await (await c).stop();
}
