/**
 * The load generator, as the main thread sees it: worker threads (one by default) run every phase's
 * load, so the main thread's progress bar and bookkeeping never steal time from the loops, and a job
 * can be spread over several workers when the machine has cores to spare. Workers live for the whole
 * run (the software USIMs keep their SQN state between phases).
 */
import { Worker } from 'node:worker_threads';
import { Histogram } from '../histogram.js';
import type { LoadCounts } from './raw-http.js';
import type { MadeSession } from './bootstrap-load.js';
import type { CryptoJob, LoadJob, WorkerMessage } from './worker.js';
import type { CryptoBenchResult } from '../crypto.js';

export type { LoadJob };
export interface LoadResult extends LoadCounts {
  sessions?: MadeSession[];
}

/**
 * From dist/ the worker is plain JS. Under tsx (tests run the sources) Node 20 does not carry tsx's
 * loader hooks into worker threads, so the worker registers them itself before loading the .ts entry.
 */
function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  const entry = new URL('./worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsxApi)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  );
}

/** Splits n into k near-equal non-negative parts. */
const split = (n: number, k: number): number[] =>
  Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));

export class LoadGenerator {
  readonly #workers: Worker[];
  #nextId = 1;

  constructor(readonly workers = 1) {
    this.#workers = Array.from({ length: Math.max(1, workers) }, () => newWorker());
  }

  async run(job: LoadJob, onProgress?: (completed: number, measuring: boolean) => void): Promise<LoadResult> {
    const parts = this.#split(job);
    const progress = parts.map(() => ({ completed: 0, measuring: false }));
    const results = await Promise.all(
      parts.map((part, w) =>
        this.#runOn(this.#workers[w]!, part, (c, m) => {
          progress[w] = { completed: c, measuring: m };
          onProgress?.(
            progress.reduce((a, p) => a + p.completed, 0),
            progress.some((p) => p.measuring),
          );
        }),
      ),
    );
    const histogram = new Histogram();
    const out: LoadResult = { ok: 0, errors: 0, errorSamples: [], seconds: 0, histogram };
    for (const r of results) {
      out.ok += r.ok;
      out.errors += r.errors;
      for (const e of r.errorSamples)
        if (!out.errorSamples.includes(e) && out.errorSamples.length < 5) out.errorSamples.push(e);
      out.seconds = Math.max(out.seconds, r.seconds);
      histogram.merge(r.histogram);
      if (r.sessions) (out.sessions ??= []).push(...r.sessions);
    }
    return out;
  }

  /** bench/crypto.ts on the first worker (one thread, as it always measured). */
  crypto(msPerCase: number): Promise<CryptoBenchResult> {
    const w = this.#workers[0]!;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.id !== id || m.type === 'progress') return;
        w.off('message', onMessage);
        if (m.type === 'error') reject(new Error(m.message));
        else resolve(m.result as unknown as CryptoBenchResult);
      };
      w.on('message', onMessage);
      w.postMessage({ id, job: { kind: 'crypto', msPerCase } satisfies CryptoJob });
    });
  }

  #split(job: LoadJob): LoadJob[] {
    const k = this.#workers.length;
    if (k === 1) return [job];
    if (job.kind === 'http') {
      const conns = split(job.connections, k);
      return conns
        .map((c, w) => ({
          ...job,
          connections: c,
          requests: job.requests.length >= k ? job.requests.filter((_, i) => i % k === w) : job.requests,
        }))
        .filter((j) => j.connections > 0);
    }
    if (job.kind === 'bootstrap') {
      // Device i always lives on worker i % k, so its USIM state stays in one place across phases.
      const conc = split(job.concurrency, k);
      return conc
        .map((c, w) => ({
          ...job,
          concurrency: c,
          keep: Math.ceil(job.keep / k),
          devices: job.devices.filter((_, i) => i % k === w),
        }))
        .filter((j) => j.concurrency > 0);
    }
    const conc = split(job.concurrency, k);
    let base = 0;
    return conc
      .map((c) => {
        const j = { ...job, concurrency: c, loopBase: base };
        base += c;
        return j;
      })
      .filter((j) => j.concurrency > 0);
  }

  #runOn(w: Worker, job: LoadJob, onProgress: (completed: number, measuring: boolean) => void): Promise<LoadResult> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.id !== id) return;
        if (m.type === 'progress') {
          onProgress(m.completed, m.measuring);
          return;
        }
        w.off('message', onMessage);
        w.off('error', onError);
        if (m.type === 'error') {
          reject(new Error(m.message));
          return;
        }
        const r = m.result as unknown as LoadResult & { histogram: { counts: number[]; sumUs: number; maxUs: number } };
        resolve({ ...r, histogram: Histogram.from(r.histogram) });
      };
      const onError = (err: Error) => {
        w.off('message', onMessage);
        reject(err);
      };
      w.on('message', onMessage);
      w.once('error', onError);
      w.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
