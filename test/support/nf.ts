/**
 * Starts network functions as real processes (`node dist/bin/gba-sim.js <nf> --config …`), the way users do,
 * and stops them by pid. Their output is kept and printed only when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI } from './cli.js';

export interface NfProcess {
  listeners: Record<string, string>;
  output: string[];
  child: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<NfProcess>();

export function tempDir(prefix = 'gba-sim-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function spawnNf(
  nf: string,
  config: Record<string, unknown>,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<NfProcess> {
  const dir = tempDir();
  const file = join(dir, `${nf}.json`);
  writeFileSync(file, JSON.stringify({ stateDir: dir, ...config }));
  const child = spawn(process.execPath, [CLI, nf, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REDIS_URL: '', ...opts.env },
  });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const listeners = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${nf} not ready:\n${output.join('\n')}`)),
      opts.timeoutMs ?? 15000,
    );
    createInterface({ input: child.stdout! }).on('line', (l) => {
      output.push(l);
      try {
        const rec = JSON.parse(l) as { event?: string; listeners?: Record<string, string> };
        if (rec.event === 'ready') {
          clearTimeout(timer);
          resolve(rec.listeners ?? {});
        }
      } catch {
        /* not JSON */
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${nf} exited ${code}:\n${output.join('\n')}`));
    });
  });
  const p: NfProcess = {
    listeners,
    output,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        running.delete(p);
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
  running.add(p);
  return p;
}

/** Kills anything a failed test left running. */
process.once('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});
