/** A load-generator worker thread: runs one job at a time for the main thread and reports progress. */
import { parentPort } from 'node:worker_threads';
import { runHttpLoad, type HttpLoadJob } from './raw-http.js';
import { runBootstrapLoad, type BootstrapJob } from './bootstrap-load.js';
import { runCycleLoad, type CycleJob } from './cycle-load.js';
import { benchCrypto } from '../crypto.js';

export type LoadJob = HttpLoadJob | BootstrapJob | CycleJob;
/** bench/crypto.ts, run here so that the main thread stays free for the progress bar and signals. */
export interface CryptoJob {
  kind: 'crypto';
  msPerCase: number;
}

export type WorkerMessage =
  | { id: number; type: 'progress'; completed: number; measuring: boolean }
  | { id: number; type: 'result'; result: Record<string, unknown> }
  | { id: number; type: 'error'; message: string };

const port = parentPort!;
port.on('message', (m: { id: number; job: LoadJob | CryptoJob }) => {
  if (m.job.kind === 'crypto') {
    try {
      port.postMessage({
        id: m.id,
        type: 'result',
        result: { ...benchCrypto(m.job.msPerCase) },
      } satisfies WorkerMessage);
    } catch (err) {
      port.postMessage({ id: m.id, type: 'error', message: (err as Error).message } satisfies WorkerMessage);
    }
    return;
  }
  const onProgress = (completed: number, measuring: boolean) =>
    port.postMessage({ id: m.id, type: 'progress', completed, measuring } satisfies WorkerMessage);
  const run =
    m.job.kind === 'http'
      ? runHttpLoad(m.job, { onProgress })
      : m.job.kind === 'bootstrap'
        ? runBootstrapLoad(m.job, { onProgress })
        : runCycleLoad(m.job, { onProgress });
  run.then(
    (r) =>
      port.postMessage({
        id: m.id,
        type: 'result',
        result: { ...r, histogram: r.histogram.toJSON() },
      } satisfies WorkerMessage),
    (err: Error) => port.postMessage({ id: m.id, type: 'error', message: err.message } satisfies WorkerMessage),
  );
});
