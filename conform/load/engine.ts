/**
 * The UE fleet's engine, as one worker thread runs it (and tests call it directly): its share of the
 * subscribers, each with its own software USIM kept for the whole run and never in two bootstraps at once,
 * driven open loop (`rate` starts per second, whatever the BSF's speed; a start finding every subscriber busy
 * is counted as `not_started`) or closed loop (`concurrency` devices back to back). Milenage and the digests
 * run on this thread, so several workers spread them over cores.
 */
import { SoftUsim } from '../../device/usim.js';
import type { SubscriberKeys } from '../../shared/crypto/aka-algorithm.js';
import { HttpClient } from '../http.js';
import type { UeContext } from '../ue.js';
import { fleetBootstrap } from './bootstrap.js';

export interface FleetSubscriber {
  impi: string;
  realm: string;
  keys: SubscriberKeys;
  sqnMs?: number;
}

export interface EngineJob {
  ub: string;
  subscribers: FleetSubscriber[];
  /** Open loop: starts per second (this worker's share). */
  rate?: number;
  /** Closed loop: devices back to back; with `rate`, the cap on bootstraps in flight. */
  concurrency: number;
  durationMs: number;
  timeoutMs: number;
  /** Epoch ms at which every worker starts, so their schedules line up. */
  startAt: number;
}

/** What an engine reports, incrementally (progress) and at the end. */
export interface EngineDelta {
  attempted: number;
  succeeded: number;
  failed: number;
  notStarted: number;
  resyncs: number;
  outcomes: Record<string, number>;
  /** Latencies of the bootstraps that ended in 200 since the last report, milliseconds. */
  latencies: number[];
}

export const emptyDelta = (): EngineDelta => ({
  attempted: 0,
  succeeded: 0,
  failed: 0,
  notStarted: 0,
  resyncs: 0,
  outcomes: {},
  latencies: [],
});

export function mergeDelta(into: EngineDelta, d: EngineDelta, keepLatencies = true): void {
  into.attempted += d.attempted;
  into.succeeded += d.succeeded;
  into.failed += d.failed;
  into.notStarted += d.notStarted;
  into.resyncs += d.resyncs;
  for (const [k, v] of Object.entries(d.outcomes)) into.outcomes[k] = (into.outcomes[k] ?? 0) + v;
  if (keepLatencies) for (const l of d.latencies) into.latencies.push(l);
}

interface Device {
  ctx: UeContext;
  usim: SoftUsim;
}

export async function runEngine(job: EngineJob, onDelta: (d: EngineDelta) => void, reportEveryMs = 250): Promise<void> {
  const base = new URL(job.ub);
  const inFlightCap = Math.max(1, Math.min(job.concurrency, job.subscribers.length));
  const http = new HttpClient(base, job.timeoutMs, inFlightCap);
  const idle: Device[] = job.subscribers.map((s) => ({
    ctx: { http, impi: s.impi, realm: s.realm, uri: base.pathname + base.search },
    usim: new SoftUsim({ ...s.keys, sqnMs: s.sqnMs ?? 0 }),
  }));
  let delta = emptyDelta();
  let inFlight = 0;
  const flush = () => {
    const d = delta;
    delta = emptyDelta();
    onDelta(d);
  };
  const ticker = setInterval(flush, reportEveryMs);

  const one = async (dev: Device): Promise<void> => {
    inFlight++;
    delta.attempted++;
    const t0 = performance.now();
    try {
      const r = await fleetBootstrap(dev.ctx, dev.usim);
      delta.outcomes[r.outcome] = (delta.outcomes[r.outcome] ?? 0) + 1;
      delta.resyncs += r.resyncs;
      if (r.status === 200) {
        delta.succeeded++;
        delta.latencies.push(performance.now() - t0);
      } else delta.failed++;
    } catch (err) {
      delta.failed++;
      const k = `error: ${(err as Error).message.slice(0, 60)}`;
      delta.outcomes[k] = (delta.outcomes[k] ?? 0) + 1;
    } finally {
      inFlight--;
      idle.push(dev);
    }
  };

  await new Promise((r) => setTimeout(r, Math.max(0, job.startAt - Date.now())));
  const t0 = performance.now();
  const end = t0 + job.durationMs;
  const running = new Set<Promise<void>>();
  const launch = (dev: Device): Promise<void> => {
    const p = one(dev).finally(() => running.delete(p));
    running.add(p);
    return p;
  };
  try {
    if (job.rate !== undefined) {
      // Open loop: the n-th start is due at t0 + n/rate, whether or not earlier ones have finished.
      let started = 0;
      while (performance.now() < end) {
        const due = Math.floor(((performance.now() - t0) / 1000) * job.rate);
        for (; started < due; started++) {
          const dev = inFlight < inFlightCap ? idle.shift() : undefined;
          if (dev) void launch(dev);
          else delta.notStarted++;
        }
        const next = t0 + ((started + 1) / job.rate) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(next, end) - performance.now())));
      }
    } else {
      const loop = async () => {
        while (performance.now() < end) {
          const dev = idle.shift();
          if (!dev) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          await launch(dev);
        }
      };
      await Promise.all(Array.from({ length: inFlightCap }, loop));
    }
    await Promise.all(running);
  } finally {
    clearInterval(ticker);
    flush();
    http.close();
  }
}
