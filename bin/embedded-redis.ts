/**
 * The default store of `gba-sim up --store auto` without --redis-url/REDIS_URL (C1, C5): a private
 * redis-server from the PATH on a free loopback port, its data in <stateDir>/redis/ as an append-only file, so
 * stopping and starting `up` on the same state directory keeps subscribers and sessions. It never touches
 * another Redis; it stops with `up` (SIGTERM: Redis flushes the AOF and exits), killed after 4 s at most.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../shared/net/free-port.js';
import { redisAnswers } from '../shared/store/open.js';

interface EmbeddedRedis {
  url: string;
  port: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

/** Resolves undefined when there is no redis-server on the PATH (the caller falls back to memory and says so). */
export async function startEmbeddedRedis(
  stateDir: string,
  opts: { readyTimeoutMs?: number } = {},
): Promise<EmbeddedRedis | undefined> {
  const dir = join(stateDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // the AOF holds subscribers' K and OPc: the owner's only, also in a dir made before
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'yes',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      'redis.log',
      '--loglevel',
      'notice',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-1000);
  });
  const missing = await new Promise<boolean>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT'));
    child.once('spawn', () => resolve(false));
  });
  if (missing) return undefined;
  const onExit = () => {
    child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = () =>
    new Promise<void>((resolve) => {
      process.off('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  while (!(await redisAnswers(url))) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited (${child.exitCode}); see ${join(dir, 'redis.log')} ${stderr.trim()}`);
    // Loading a large AOF answers -LOADING meanwhile; wait for it.
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING at ${url}; see ${join(dir, 'redis.log')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, port, pid: child.pid!, dir, stop };
}
