/**
 * `gba-sim load` as a plain function: splits the subscribers over worker threads (each subscriber in exactly
 * one, so its USIM's SQN state stays whole), starts them on a common clock, folds their reports into a live
 * progress line (rate, errors, p99 of the last seconds) and the C8 load report.
 */
import { Worker } from 'node:worker_threads';
import { emptyDelta, mergeDelta, type EngineDelta, type EngineJob, type FleetSubscriber } from './engine.js';
import type { FleetMessage } from './worker.js';

export interface FleetOptions {
  ub: string;
  subscribers: FleetSubscriber[];
  durationSec: number;
  rate?: number;
  concurrency: number;
  workers: number;
  timeoutMs: number;
  /** Called about every `progressMs` with the live figures. */
  onProgress?: (p: FleetProgress) => void;
  progressMs?: number;
}

export interface FleetProgress {
  elapsedSec: number;
  attempted: number;
  succeeded: number;
  failed: number;
  ratePerSec: number;
  p99Ms: number;
}

/** The C8 load report, plus what else a lab wants to see (extra keys). */
export interface LoadReport {
  attempted: number;
  succeeded: number;
  failed: number;
  per_s: number;
  p50_ms: number;
  p99_ms: number;
  outcomes: Record<string, number>;
  target: string;
  duration_s: number;
  mode: string;
  workers: number;
  subscribers: number;
  resyncs: number;
  not_started: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** From dist/ the worker is plain JS; under tsx (tests run the sources) the worker registers tsx itself. */
function newWorker(job: EngineJob): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  const entry = new URL('./worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsxApi)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: job },
  );
}

export async function runFleet(o: FleetOptions): Promise<LoadReport> {
  const w = Math.max(1, Math.min(o.workers, o.subscribers.length));
  const parts: FleetSubscriber[][] = Array.from({ length: w }, () => []);
  o.subscribers.forEach((s, i) => parts[i % w]!.push(s));
  const startAt = Date.now() + 300; // time for the workers to load
  const share = (n: number, i: number) => Math.floor(n / w) + (i < n % w ? 1 : 0);
  const total = emptyDelta();
  const recent: Array<{ at: number; d: EngineDelta }> = [];
  const t0 = startAt;
  let lastEnd = startAt;

  const runOne = (part: FleetSubscriber[], i: number) =>
    new Promise<void>((resolve, reject) => {
      const job: EngineJob = {
        ub: o.ub,
        subscribers: part,
        durationMs: o.durationSec * 1000,
        timeoutMs: o.timeoutMs,
        startAt,
        rate: o.rate === undefined ? undefined : o.rate / w,
        concurrency: Math.max(1, share(o.concurrency, i)),
      };
      const worker = newWorker(job);
      worker.on('message', (m: FleetMessage) => {
        if (m.type === 'delta') {
          mergeDelta(total, m.delta);
          recent.push({ at: Date.now(), d: m.delta });
          if (m.delta.attempted || m.delta.latencies.length) lastEnd = Date.now();
        } else if (m.type === 'done') {
          void worker.terminate();
          resolve();
        } else {
          void worker.terminate();
          reject(new Error(m.message));
        }
      });
      worker.on('error', reject);
    });

  const ticker = setInterval(() => {
    const now = Date.now();
    while (recent.length && recent[0]!.at < now - 3000) recent.shift();
    const window = emptyDelta();
    for (const r of recent) mergeDelta(window, r.d);
    const span = Math.min(3, Math.max(0.001, (now - t0) / 1000));
    o.onProgress?.({
      elapsedSec: Math.max(0, (now - t0) / 1000),
      attempted: total.attempted,
      succeeded: total.succeeded,
      failed: total.failed,
      ratePerSec: window.succeeded / span,
      p99Ms: quantile(
        window.latencies.sort((a, b) => a - b),
        0.99,
      ),
    });
  }, o.progressMs ?? 1000);
  try {
    await Promise.all(parts.map(runOne));
  } finally {
    clearInterval(ticker);
  }
  const lat = total.latencies.sort((a, b) => a - b);
  const seconds = Math.max(o.durationSec, (lastEnd - t0) / 1000);
  return {
    attempted: total.attempted,
    succeeded: total.succeeded,
    failed: total.failed,
    per_s: round2(total.succeeded / seconds),
    p50_ms: round2(quantile(lat, 0.5)),
    p99_ms: round2(quantile(lat, 0.99)),
    outcomes: total.outcomes,
    target: o.ub,
    duration_s: round2(seconds),
    mode:
      o.rate === undefined
        ? `closed loop, concurrency ${o.concurrency}`
        : `open loop, ${o.rate}/s (at most ${o.concurrency} in flight)`,
    workers: w,
    subscribers: o.subscribers.length,
    resyncs: total.resyncs,
    not_started: total.notStarted,
  };
}
