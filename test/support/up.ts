/** Runs `gba-sim up` as a real process and waits for its endpoints.json. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './cli.js';
import { tempDir } from './nf.js';
import type { Endpoints } from '../../shared/endpoints.js';

export interface UpProcess {
  child: ChildProcess;
  dir: string;
  endpoints: Endpoints;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function runUp(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; dir?: string } = {},
): Promise<UpProcess> {
  const dir = opts.dir ?? tempDir('gba-sim-up-');
  const child = spawn(process.execPath, [CLI, 'up', '--state-dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const file = join(dir, 'endpoints.json');
  rmSync(file, { force: true }); // a state dir used before: wait for this run's file
  const deadline = Date.now() + (opts.timeoutMs ?? 30000);
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`gba-sim up exited ${child.exitCode}:\n${output.join('')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`no endpoints.json:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 50)); // the file is written whole; let the table print
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
  return {
    child,
    dir,
    endpoints,
    output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
