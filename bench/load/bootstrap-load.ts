/**
 * The Ub load loop: `concurrency` simulated devices at a time run the full device-side bootstrap
 * (device/ub-client.ts: Milenage in a software USIM, HTTP Digest AKA, rspauth check) over one shared
 * keep-alive pool. Each device has its own SoftUsim, kept for the worker's lifetime so its SQN state
 * follows the HSS's across phases; a device is never used by two loops at once.
 */
import { Pool } from 'undici';
import { bootstrap } from '../../device/ub-client.js';
import { SoftUsim } from '../../device/usim.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { Histogram } from '../histogram.js';
import type { LoadCounts, RunControl } from './raw-http.js';
import { MeasureWindow } from './window.js';

export interface DeviceSpec {
  imsi: string;
  k: string;
  opc: string;
}

export interface BootstrapJob {
  kind: 'bootstrap';
  bsfUrl: string;
  realm: string;
  mncDigits: 2 | 3;
  /** This worker's devices (at least `concurrency` of them). */
  devices: DeviceSpec[];
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** How many of the sessions made to hand back (for the Zn, PSK and LwM2M phases). */
  keep: number;
}

export interface MadeSession {
  btid: string;
  impi: string;
  ks: string;
  rand: string;
}

const usims = new Map<string, SoftUsim>();

function usimOf(d: DeviceSpec): SoftUsim {
  let u = usims.get(d.imsi);
  if (!u) {
    u = new SoftUsim({ algorithm: 'milenage', k: Buffer.from(d.k, 'hex'), opc: Buffer.from(d.opc, 'hex') });
    usims.set(d.imsi, u);
  }
  return u;
}

export async function runBootstrapLoad(
  job: BootstrapJob,
  ctl: RunControl = {},
): Promise<LoadCounts & { sessions: MadeSession[] }> {
  const url = new URL(job.bsfUrl);
  const pool = new Pool(url.origin, { connections: job.concurrency, keepAliveTimeout: 30_000 });
  const hist = new Histogram();
  const errorSamples = new Set<string>();
  const sessions: MadeSession[] = [];
  let completed = 0;
  const queue = job.devices.map((d) => ({ d, impi: impiFromImsi(d.imsi, job.mncDigits), usim: usimOf(d) }));
  const w = new MeasureWindow(job.warmupMs, job.durationMs);
  const ticker = setInterval(() => ctl.onProgress?.(completed, w.measuring()), 100);

  const loop = async (): Promise<void> => {
    while (w.open()) {
      const dev = queue.shift()!;
      const start = performance.now();
      try {
        const b = await bootstrap({ bsfUrl: job.bsfUrl, impi: dev.impi, realm: job.realm, usim: dev.usim, pool });
        const end = performance.now();
        completed++;
        if (w.record(start, end, true)) hist.record((end - start) * 1000);
        if (sessions.length < job.keep)
          sessions.push({ btid: b.btid, impi: b.impi, ks: b.ks.toString('hex'), rand: b.rand.toString('hex') });
      } catch (err) {
        completed++;
        if (w.record(start, performance.now(), false) && errorSamples.size < 5)
          errorSamples.add((err as Error).message);
        await new Promise((r) => setTimeout(r, 5)); // no hot spin when the BSF is down
      } finally {
        queue.push(dev);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: job.concurrency }, loop));
  } finally {
    clearInterval(ticker);
    await pool.close();
  }
  return {
    ok: w.ok,
    errors: w.errors,
    errorSamples: [...errorSamples],
    seconds: w.seconds(),
    histogram: hist,
    sessions,
  };
}
