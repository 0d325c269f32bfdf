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
}

/** One cycle for loop `loop` (0 … concurrency-1); `n` counts that loop's cycles. Rejects on failure. */
export type Cycle = (loop: number, n: number) => Promise<void>;
export type CycleFactory = (params: unknown) => Promise<{ cycle: Cycle; close?: () => Promise<void> }>;

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
        if (w.record(start, performance.now(), false) && errorSamples.size < 5) errorSamples.add((err as Error).message);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: job.concurrency }, (_, i) => loop((job.loopBase ?? 0) + i)));
  } finally {
    clearInterval(ticker);
    await close?.();
  }
  return { ok: w.ok, errors: w.errors, errorSamples: [...errorSamples], seconds: w.seconds(), histogram: hist };
}
