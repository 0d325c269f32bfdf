/**
 * `gba-sim bench`: how fast the network bootstraps, retrieves keys and answers PSK lookups, measured against
 * this machine's own limits (bare node:http, Express, single-block AES, HMAC-SHA-256) in the same run.
 * Prints a table on stdout (progress on stderr), optionally writes JSON, and exits 0 whether or not the
 * targets are met; 1 when the bench itself could not run, 2 for bad arguments.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ArgChecker } from '../cli-util.js';
import { abortBench, defaultLoadWorkers, runBench } from '../../bench/run.js';
import { renderTable, toJson } from '../../bench/report.js';
import { Progress } from '../../bench/progress.js';
import { renderScale, runScaleBench } from '../../bench/sessions.js';
import { NF_ORDER, startNetwork } from '../network.js';
import { NF_COMMANDS } from './nf.js';

const MIN_SESSIONS = 100_000;

interface BenchFlags {
  concurrency: string;
  duration: string;
  json?: string;
  endpoints?: string;
  redisUrl?: string;
  sessions: string;
  cpuProf?: string;
  loadWorkers?: string;
  progress: boolean;
  scale?: boolean;
  redisCluster?: boolean;
}

function integer(c: ArgChecker, name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
    c.problem(`--${name}: must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return min;
  }
  return n;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'benchmark the network (Ub, Zn, PSK API, LwM2M, crypto, Redis memory) against Express and node:http baselines',
    )
    .option('--concurrency <n>', 'concurrent clients of the throughput phases and baselines', '32')
    .option('--duration <s>', 'seconds each phase runs, warm-up (its first quarter, at most 3 s) included', '10')
    .option('--json <file>', 'also write the results as JSON')
    .option('--endpoints <file>', 'benchmark the running network this endpoints.json names, instead of starting one')
    .option(
      '--redis-url <url>',
      'use this Redis (under a unique key prefix, cleaned up) instead of starting a private redis-server',
    )
    .option(
      '--sessions <n>',
      `sessions written for the Redis memory measurement (at least ${MIN_SESSIONS})`,
      String(MIN_SESSIONS),
    )
    .option('--cpu-prof <dir>', 'write V8 CPU profiles of the NF and baseline processes into this directory')
    .option('--load-workers <n>', 'load-generator worker threads (default: 1, or 2 on 8+ cores)')
    .option('--no-progress', 'no progress output on stderr')
    .option(
      '--scale',
      'only the store at scale (bench/sessions.ts): Zn/PSK p99 with --sessions in Redis vs empty, bytes per session, Redis commands per bootstrap/lookup',
    )
    .option(
      '--redis-cluster',
      'with --scale: a Redis Cluster (--redis-url is a seed node; else a private 3-master cluster)',
    )
    .action(async (f: BenchFlags) => {
      const c = new ArgChecker();
      const concurrency = integer(c, 'concurrency', f.concurrency, 1, 4096);
      const duration = Number(f.duration);
      if (!/^\d+(\.\d+)?$/.test(f.duration.trim()) || !(duration > 0) || duration > 3600)
        c.problem(
          `--duration: must be a number of seconds above 0 and at most 3600, got ${JSON.stringify(f.duration)}`,
        );
      const sessions = integer(
        c,
        'sessions',
        f.sessions,
        f.scale ? 1000 : MIN_SESSIONS,
        f.scale ? 100_000_000 : 10_000_000,
      );
      if (f.redisCluster && !f.scale) c.problem('--redis-cluster: only with --scale');
      const loadWorkers =
        f.loadWorkers === undefined ? defaultLoadWorkers() : integer(c, 'load-workers', f.loadWorkers, 1, 64);
      if (f.redisUrl !== undefined && !/^rediss?:\/\/./.test(f.redisUrl))
        c.problem(`--redis-url: must be a redis:// URL, got ${JSON.stringify(f.redisUrl)}`);
      if (f.json === '') c.problem('--json: a file name is required');
      c.done();

      const progress = new Progress(process.stderr, f.progress);
      // On a signal, what the bench started is stopped; even without that, NF and baseline children watch their
      // stdin and follow the bench, and the private redis-server is killed from an exit hook.
      const interrupted = () => {
        process.stderr.write('\ngba-sim bench: interrupted; stopping what it started\n');
        const force = setTimeout(() => process.exit(130), 8000);
        void abortBench().finally(() => {
          clearTimeout(force);
          process.exit(130);
        });
      };
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      if (f.scale) {
        try {
          const r = await runScaleBench({
            sessions,
            cluster: !!f.redisCluster,
            redisUrl: f.redisUrl,
            progress,
            network: { start: startNetwork, nfs: NF_ORDER.filter((nf) => NF_COMMANDS.some((c) => c.name === nf)) },
          });
          process.stdout.write(renderScale(r));
          if (f.json) writeFileSync(f.json, `${JSON.stringify(r, null, 2)}\n`);
        } catch (err) {
          process.stderr.write(`gba-sim bench: ${(err as Error).message}\n`);
          process.exit(1);
        }
        process.exit(0);
      }
      try {
        const results = await runBench({
          concurrency,
          durationSec: duration,
          endpointsFile: f.endpoints,
          redisUrl: f.redisUrl,
          sessions,
          cpuProfDir: f.cpuProf,
          loadWorkers,
          progress,
          network: { start: startNetwork, nfs: NF_ORDER.filter((nf) => NF_COMMANDS.some((c) => c.name === nf)) },
        });
        process.stdout.write(renderTable(results));
        if (f.json) writeFileSync(f.json, `${JSON.stringify(toJson(results), null, 2)}\n`);
        if (f.cpuProf) process.stdout.write(`CPU profiles in ${f.cpuProf}\n`);
      } catch (err) {
        process.stderr.write(`gba-sim bench: ${(err as Error).message}\n`);
        process.exit(1);
      } finally {
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
      }
      process.exit(0);
    });
}
