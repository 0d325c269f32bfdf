/**
 * Tests get their own redis-server on a free port, started once per test run and stopped when the run ends,
 * so nothing on the shared 6379 is ever touched. With REDIS_URL set, that server is used instead; every
 * test uses its own key prefix either way, and nothing is ever flushed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { freePort } from './ports.js';

let shared: Promise<string> | undefined;
let child: ChildProcess | undefined;

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.once('error', () => resolve(false));
  });
}

async function start(): Promise<string> {
  const port = await freePort();
  child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  child.unref();
  process.once('exit', () => child?.kill('SIGKILL'));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await ping(port)) return `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start (is it installed? .ci/run installs it)');
}

/** The Redis URL tests use: REDIS_URL, or a private redis-server started on first use. */
export function testRedisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return Promise.resolve(process.env.REDIS_URL);
  shared ??= start();
  return shared;
}

/** A key prefix no other test uses. */
export const uniquePrefix = (what: string): string => `test:${what}:${randomBytes(4).toString('hex')}:`;
