/**
 * `gba-sim load` (contract C8): a UE fleet bootstrapping the subscribers of a file (the CSV or JSON of
 * `subscriber import`) against any BSF, open loop at `--rate` or closed loop at `--concurrency`, for
 * `--duration` seconds, with a live progress line on stderr and the C8 load report on stdout (and `--json`).
 * Exit 0 when the run completed, whatever the BSF answered; 1 when it could not run; 2 on bad arguments.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { ArgChecker, exitWithProblems } from '../cli-util.js';
import { parseSubscriberCsv } from '../../hss-mock/csv.js';
import { SubscriberInputSchema } from '../../hss-mock/subscriber-input.js';
import { bsfDomain, homeNetworkOfImsi, impiFromImsi } from '../../shared/identifiers.js';
import { runFleet } from '../../conform/load/fleet.js';
import type { FleetSubscriber } from '../../conform/load/engine.js';

interface LoadFlags {
  ub?: string;
  subscribers?: string;
  duration?: string;
  rate?: string;
  concurrency?: string;
  json?: string;
  mncDigits: string;
  realm?: string;
  workers?: string;
  timeout: string;
  progress: boolean;
}

/** The subscribers of a `subscriber import` file, as software USIMs; every problem with its line or index. */
export function readFleetFile(
  file: string,
  mncDigits: 2 | 3,
  realm?: string,
): { subscribers: FleetSubscriber[]; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { subscribers: [], problems: [`--subscribers: ${(err as Error).message}`] };
  }
  const problems: string[] = [];
  let rows: Array<{ where: string; doc: Record<string, unknown> }>;
  try {
    if (/^\s*\[/.test(text)) {
      const arr = JSON.parse(text) as unknown;
      if (!Array.isArray(arr)) throw new Error('not a JSON array');
      rows = arr.map((doc, i) => ({ where: `item ${i}`, doc: (doc ?? {}) as Record<string, unknown> }));
    } else {
      rows = parseSubscriberCsv(text).map((r) => ({ where: `line ${r.line}`, doc: r.doc }));
    }
  } catch (err) {
    return { subscribers: [], problems: [`--subscribers ${file}: ${(err as Error).message}`] };
  }
  const subscribers: FleetSubscriber[] = [];
  for (const { where, doc } of rows) {
    const { imsi, ...rest } = doc;
    if (typeof imsi !== 'string' || !/^\d{6,15}$/.test(imsi)) {
      problems.push(`${file} ${where}: imsi must be 6 to 15 digits`);
      continue;
    }
    const p = SubscriberInputSchema.safeParse(rest);
    if (!p.success) {
      problems.push(
        `${file} ${where}: ${p.error.issues.map((i) => `${i.path.join('.') || '(row)'} ${i.message}`).join('; ')}`,
      );
      continue;
    }
    const s = p.data;
    subscribers.push({
      impi: s.impi ?? impiFromImsi(imsi, mncDigits),
      realm: realm ?? bsfDomain(homeNetworkOfImsi(imsi, mncDigits)),
      keys: {
        algorithm: s.algorithm,
        k: Buffer.from(s.k, 'hex'),
        opc: s.opc === undefined ? undefined : Buffer.from(s.opc, 'hex'),
        op: s.op === undefined ? undefined : Buffer.from(s.op, 'hex'),
        resLength: s.resLength,
      },
    });
  }
  if (!rows.length) problems.push(`--subscribers ${file}: no subscribers`);
  return {
    subscribers,
    problems: problems.slice(0, 20).concat(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
  };
}

function positive(
  c: ArgChecker,
  name: string,
  raw: string | undefined,
  max: number,
  integer: boolean,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(integer ? /^\d+$/ : /^\d+(\.\d+)?$/).test(raw.trim()) || !(n > 0) || n > max) {
    c.problem(
      `--${name}: must be ${integer ? 'an integer' : 'a number'} above 0 and at most ${max}, got ${JSON.stringify(raw)}`,
    );
    return undefined;
  }
  return n;
}

export function registerLoadCommand(program: Command): void {
  program
    .command('load')
    .description('a UE fleet: bootstrap the subscribers of a file against any BSF at a rate or concurrency, and report')
    .option('--ub <url>', "the BSF's Ub URL")
    .option(
      '--subscribers <file>',
      'the CSV or JSON of `subscriber import` (imsi, k, opc|op, algorithm, resLength, impi)',
    )
    .option('--duration <s>', 'seconds to run')
    .option('--rate <r>', 'open loop: bootstraps started per second, whatever the BSF answers')
    .option(
      '--concurrency <c>',
      'closed loop: devices bootstrapping back to back (default 8); with --rate, the cap on bootstraps in flight',
    )
    .option('--json <file>', 'also write the report to this file')
    .option('--mnc-digits <n>', 'MNC length of the IMSIs: 2 or 3', '2')
    .option('--realm <realm>', "realm of the first request (default: the BSF domain of each IMSI's home network)")
    .option('--workers <n>', 'worker threads running the software USIMs and digests (default: cores, at most 4)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '10000')
    .option('--no-progress', 'no progress line on stderr')
    .action(async (f: LoadFlags) => {
      const c = new ArgChecker();
      if (f.ub === undefined) c.problem('--ub is required');
      else {
        try {
          if (!/^https?:$/.test(new URL(f.ub).protocol)) c.problem('--ub: must be an http:// or https:// URL');
        } catch {
          c.problem(`--ub: not a URL: ${JSON.stringify(f.ub)}`);
        }
      }
      if (f.subscribers === undefined) c.problem('--subscribers is required');
      if (f.duration === undefined) c.problem('--duration is required');
      const duration = positive(c, 'duration', f.duration, 86_400, false);
      const rate = positive(c, 'rate', f.rate, 100_000, false);
      const concurrency = positive(c, 'concurrency', f.concurrency, 100_000, true);
      const workers = positive(c, 'workers', f.workers, 64, true) ?? Math.max(1, Math.min(4, availableParallelism()));
      const timeoutMs = positive(c, 'timeout', f.timeout, 600_000, true) ?? 10_000;
      if (f.mncDigits !== '2' && f.mncDigits !== '3') c.problem('--mnc-digits: must be 2 or 3');
      if (f.json === '') c.problem('--json: a file name is required');
      c.done();
      const { subscribers, problems } = readFleetFile(f.subscribers!, f.mncDigits === '3' ? 3 : 2, f.realm);
      if (problems.length) exitWithProblems(problems);

      const tty = process.stderr.isTTY && f.progress;
      let report;
      try {
        report = await runFleet({
          ub: f.ub!,
          subscribers,
          durationSec: duration!,
          rate,
          workers,
          timeoutMs,
          concurrency: concurrency ?? (rate === undefined ? 8 : subscribers.length),
          onProgress: f.progress
            ? (p) => {
                const line = `load ${p.elapsedSec.toFixed(0)}s: ${p.attempted} attempted, ${p.succeeded} ok, ${p.failed} errors, ${p.ratePerSec.toFixed(1)}/s, p99 ${p.p99Ms.toFixed(1)} ms`;
                process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
              }
            : undefined,
        });
      } catch (err) {
        process.stderr.write(`${tty ? '\n' : ''}gba-sim load: ${(err as Error).message}\n`);
        process.exit(1);
      }
      if (tty) process.stderr.write('\n');
      const text = JSON.stringify(report, null, 2);
      process.stdout.write(`${text}\n`);
      if (f.json) {
        try {
          writeFileSync(f.json, `${text}\n`);
        } catch (err) {
          process.stderr.write(`gba-sim load: ${(err as Error).message}\n`);
          process.exit(1);
        }
      }
      process.exit(0);
    });
}
