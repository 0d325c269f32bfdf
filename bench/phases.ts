/**
 * The measured phases. Each drives the load generator for a warm-up and then `duration`, and returns the
 * completion rate in the measured window, its latency percentiles, the errors, and the CPU each local
 * process used meanwhile (which one was at 1.0 core is what limited the phase).
 */
import { CpuMeter } from './cpu.js';
import type { LoadGenerator, LoadJob, LoadResult } from './load/generator.js';
import type { CycleJob } from './load/cycle-load.js';
import type { DiameterCycleParams } from './diameter-cycle.js';
import { buildRequest, type HttpRequestSpec } from './load/raw-http.js';
import type { DeviceSpec, MadeSession } from './load/bootstrap-load.js';
import type { Progress } from './progress.js';

export interface PhaseResult {
  per_s: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  concurrency: number;
  seconds: number;
  cpu: Record<string, number>;
  sessions?: MadeSession[];
}

export interface PhaseTiming {
  warmupMs: number;
  durationMs: number;
}

/**
 * A phase lasts `--duration` in all: its first quarter (at most 3 s) is a warm-up at full load, the rest is
 * measured. Freshly started processes need a warm-up for V8 to optimise their hot paths and for pools and
 * caches (connections, GUSS) to fill; without it a short phase measures start-up instead of the steady state.
 */
export function timing(durationSec: number): PhaseTiming {
  const totalMs = Math.round(durationSec * 1000);
  const warmupMs = Math.round(Math.min(3000, totalMs / 4));
  return { warmupMs, durationMs: totalMs - warmupMs };
}

export async function runPhase(
  gen: LoadGenerator,
  progress: Progress,
  name: string,
  job: LoadJob,
  pids: Record<string, number | undefined>,
): Promise<PhaseResult> {
  const total = job.warmupMs + job.durationMs;
  progress.start(name, total);
  const cpu = new CpuMeter(pids);
  let measuringSince = 0,
    atStart = 0;
  const r: LoadResult = await gen.run(job, (completed, measuring) => {
    if (measuring && !measuringSince) {
      measuringSince = performance.now();
      atStart = completed;
      cpu.start();
    }
    const rate = measuringSince
      ? (completed - atStart) / Math.max(0.001, (performance.now() - measuringSince) / 1000)
      : 0;
    progress.update(measuring ? `${Math.round(rate)}/s` : 'warming up');
  });
  const usage = measuringSince ? cpu.stop() : {};
  const concurrency = job.kind === 'http' ? job.connections : job.concurrency;
  const res: PhaseResult = {
    per_s: r.ok / r.seconds,
    ok: r.ok,
    errors: r.errors,
    errorSamples: r.errorSamples,
    p50_ms: r.histogram.quantileMs(0.5),
    p99_ms: r.histogram.quantileMs(0.99),
    mean_ms: r.histogram.meanMs(),
    concurrency,
    seconds: r.seconds,
    cpu: usage,
    sessions: r.sessions,
  };
  progress.done(
    `${Math.round(res.per_s)}/s, p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms${res.errors ? `, ${res.errors} errors (${res.errorSamples[0]})` : ''}`,
  );
  if (res.ok === 0)
    throw new Error(`${name}: nothing completed${res.errorSamples.length ? `: ${res.errorSamples.join('; ')}` : ''}`);
  return res;
}

const fmtMs = (v: number): string => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '–');

export function httpJob(
  url: string,
  specs: HttpRequestSpec[],
  connections: number,
  t: PhaseTiming,
  expectStatus = 200,
): LoadJob {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 80);
  return {
    kind: 'http',
    host,
    port,
    requests: specs.map((s) => buildRequest(host, port, s)),
    connections,
    expectStatus,
    ...t,
  };
}

export function bootstrapJob(
  o: { bsfUrl: string; realm: string; mncDigits: 2 | 3; devices: DeviceSpec[]; concurrency: number; keep: number },
  t: PhaseTiming,
): LoadJob {
  return { kind: 'bootstrap', ...o, ...t };
}

/** Zn (TS 29.309 Nbsp_GBA) requests as the NAF sends them, for its own NAF_Id (Ua id of HTTP Digest, 0100000002). */
export function znRequests(
  znBase: string,
  token: string,
  nafFqdn: string,
  btids: readonly string[],
): HttpRequestSpec[] {
  const path = `${new URL(znBase).pathname.replace(/\/$/, '')}/bootstrapping-info-retrieval`;
  return btids.map((btId) => ({
    method: 'POST',
    path,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ btId, nafId: { nafFqdn, uaSecProtId: '0100000002' } }),
  }));
}

/** N65 (TS 29.562 Nhss_gbaUEAU generate-auth-data) requests as the BSF sends them, one vector each: the HTTP twin of MAR. */
export function n65Requests(hssProvisioningUrl: string, token: string, impis: readonly string[]): HttpRequestSpec[] {
  return impis.map((impi) => ({
    method: 'POST',
    path: `/nhss-gba-ueau/v1/${encodeURIComponent(impi)}/security-information/generate-auth-data`,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ authenticationScheme: 'DIGEST_AKAV1_MD5' }),
  }));
}

/** A Diameter phase (MAR/MAA or BIR/BIA) through bench/diameter-cycle.ts. */
export function diameterJob(params: DiameterCycleParams, concurrency: number, t: PhaseTiming): CycleJob {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return { kind: 'cycle', module: new URL(`./diameter-cycle${ext}`, import.meta.url).href, params, concurrency, ...t };
}

/** PSK API lookups as an LwM2M server sends them (contract C3), by PSK identity. */
export function pskRequests(pskLookupUrl: string, token: string, btids: readonly string[]): HttpRequestSpec[] {
  const path = new URL(pskLookupUrl).pathname;
  return btids.map((btid) => ({
    method: 'POST',
    path,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ pskIdentity: `3GPP-bootstrapping.${btid}` }),
  }));
}

/** Looks every identity up once (so the NAF's key cache holds them all), `concurrency` at a time. */
export async function warmPskCache(
  pskLookupUrl: string,
  token: string,
  btids: readonly string[],
  concurrency: number,
  onProgress?: (n: number) => void,
): Promise<{ failed: number; first?: string }> {
  let next = 0,
    done = 0,
    failed = 0;
  let first: string | undefined;
  const loop = async () => {
    while (next < btids.length) {
      const btid = btids[next++]!;
      try {
        const r = await fetch(pskLookupUrl, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ pskIdentity: `3GPP-bootstrapping.${btid}` }),
        });
        const text = await r.text();
        if (r.status !== 200) {
          failed++;
          first ??= `HTTP ${r.status}: ${text.slice(0, 200)}`;
        }
      } catch (err) {
        failed++;
        first ??= (err as Error).message;
      }
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
  return { failed, first };
}
