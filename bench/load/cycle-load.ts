/**
 * A generic closed-loop runner for phases that are neither plain HTTP nor Ub, e.g. the LwM2M
 * handshake + Register + De-register cycle: the job names a module (loaded in the worker) whose
 * `createCycle(params)` returns one cycle function; `concurrency` loops call it back to back.
 */
import { Histogram } from '../histogram.js';
import type { LoadCounts, RunControl } from './raw-http.js';
import { MeasureWindow } from './window.js';

export interface CycleJob {
  kind: 'cycle';
  /** URL of a module exporting `createCycle: CycleFactory`. */
  module: string;
  params: unknown;
  concurrency: number;
  /** Index of this worker's first loop (loops are numbered across workers). */
  loopBase?: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait for cycles still running when the window has closed (default DRAIN_MS). */
  drainMs?: number;
}

const DRAIN_MS = 500;

/** One cycle for loop `loop` (0 … concurrency-1); `n` counts that loop's cycles. Rejects on failure. */
export type Cycle = (loop: number, n: number) => Promise<void>;
type CycleFactory = (params: unknown) => Promise<{ cycle: Cycle; close?: () => Promise<void> }>;

export async function runCycleLoad(job: CycleJob, ctl: RunControl = {}): Promise<LoadCounts> {
  const mod = (await import(job.module)) as { createCycle?: CycleFactory };
  if (typeof mod.createCycle !== 'function') throw new Error(`${job.module} does not export createCycle`);
  const { cycle, close } = await mod.createCycle(job.params);
  const hist = new Histogram();
  const errorSamples = new Set<string>();
  let completed = 0;
  const w = new MeasureWindow(job.warmupMs, job.durationMs);
  const ticker = setInterval(() => ctl.onProgress?.(completed, w.measuring()), 100);
  const loop = async (i: number): Promise<void> => {
    for (let n = 0; w.open(); n++) {
      const start = performance.now();
      try {
        await cycle(i, n);
        const end = performance.now();
        completed++;
        if (w.record(start, end, true)) hist.record((end - start) * 1000);
      } catch (err) {
        completed++;
        if (w.record(start, performance.now(), false) && errorSamples.size < 5)
          errorSamples.add((err as Error).message);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  // A cycle still running when the window closes cannot count any more; one stuck in a retransmission
  // timeout (a DTLS handshake waits up to 10 s) would stretch the phase far past --duration. Wait for those
  // at most DRAIN_MS, then leave them to finish or time out on their own.
  const loops = Promise.all(Array.from({ length: job.concurrency }, (_, i) => loop((job.loopBase ?? 0) + i)));
  let drainTimer: NodeJS.Timeout | undefined;
  const windowClosed = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (w.open()) return;
      clearInterval(poll);
      drainTimer = setTimeout(resolve, job.drainMs ?? DRAIN_MS);
    }, 20);
    const stopPolling = () => clearInterval(poll);
    loops.then(stopPolling, stopPolling);
  });
  try {
    await Promise.race([loops, windowClosed]);
  } finally {
    clearInterval(ticker);
    clearTimeout(drainTimer);
    await close?.();
  }
  return { ok: w.ok, errors: w.errors, errorSamples: [...errorSamples], seconds: w.seconds(), histogram: hist };
}
