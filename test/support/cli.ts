/** Runs the built CLI (`node dist/bin/gba-sim.js …`) the way users run it. `npm test` builds first. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/bin/gba-sim.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run "npm run build" (npm test does it first)`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 20000, cwd: opts.cwd ?? REPO_ROOT },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs many CLI invocations, a few at a time (the machine has 2 cores, and may be busy). */
export async function runCliMany(argsList: string[][], concurrency = 4): Promise<CliResult[]> {
  const results: CliResult[] = new Array(argsList.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < argsList.length; i = next++)
        results[i] = await runCli(argsList[i]!, { timeoutMs: 60_000 });
    }),
  );
  return results;
}
