/**
 * The bench's own redis-server on a free port (never the shared 6379): no persistence, stopped at the end.
 * It is also where the memory measurement runs, so nothing but the bench writes to it.
 */
import { spawn } from 'node:child_process';
import { freePort } from '../shared/net/free-port.js';
import { redisAnswers } from '../shared/store/open.js';

export interface OwnRedis {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * `unref`: the server does not keep this process alive (a test run ends by itself; the server is killed on exit).
 */
export async function startOwnRedis(opts: { unref?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (opts.unref) {
    child.unref();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-1000);
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`redis-server could not be started (${err.message}); install it, or pass --redis-url`)),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${stderr.trim()}`)));
  });
  failed.catch(() => undefined);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  // Never outlive the bench, even when it is killed.
  const onExit = () => {
    child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const deadline = Date.now() + 10_000;
  const up = (async () => {
    while (Date.now() < deadline) {
      if (await redisAnswers(`redis://127.0.0.1:${port}`)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  })();
  if (!(await Promise.race([up, failed]))) {
    await stop();
    throw new Error('redis-server did not answer PING within 10 s');
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: async () => {
      process.off('exit', onExit);
      await stop();
    },
  };
}
