/** A fleet worker thread: runs its share of the fleet (engine.ts) and posts deltas to the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { runEngine, type EngineDelta, type EngineJob } from './engine.js';

export type FleetMessage =
  { type: 'delta'; delta: EngineDelta } | { type: 'done' } | { type: 'error'; message: string };

const port = parentPort!;
runEngine(workerData as EngineJob, (delta) => port.postMessage({ type: 'delta', delta } satisfies FleetMessage)).then(
  () => port.postMessage({ type: 'done' } satisfies FleetMessage),
  (err: Error) => port.postMessage({ type: 'error', message: err.message } satisfies FleetMessage),
);
