/**
 * The bench's results: the JSON document (nested objects of plain numbers only), the targets with their
 * verdicts, and the table printed on stdout.
 */
import type { CryptoBenchResult } from './crypto.js';
import type { PhaseResult } from './phases.js';
import type { SessionMemoryResult } from './redis-memory.js';

export interface BenchResults {
  concurrency: number;
  durationSec: number;
  bootstrap?: PhaseResult; // at --concurrency
  bootstrapC4?: PhaseResult; // at 4
  zn?: PhaseResult;
  /** Zh vectors over N65 HTTP and over Diameter MAR/MAA; Zn over Diameter BIR/BIA (zn is its N66 twin). */
  n65?: PhaseResult;
  mar?: PhaseResult;
  bir?: PhaseResult;
  psk?: PhaseResult;
  lwm2m: Partial<Record<'per_s' | 'dtls_per_s', PhaseResult>>;
  /** The better of the baseline runs (before and after the network's phases). */
  express?: PhaseResult;
  nodeHttp?: PhaseResult;
  baselineRuns: { express: number[]; nodeHttp: number[] };
  crypto?: CryptoBenchResult;
  redis?: SessionMemoryResult;
  /** Phases not measured, with the reason (table only: the JSON holds numbers). */
  notMeasured: Array<{ what: string; why: string }>;
  machine: { cores: number; loadAvgStart: number; loadAvgEnd: number; totalMemBytes: number; nodeMajor: number };
  context: { store: string; redisPrefixNote?: string; logLevel: string; loadWorkers: number };
  totalSeconds: number;
}

export interface Target {
  name: string; // e.g. "bootstrap.per_s ≥ 0.15 × baseline.express_per_s"
  key: string; // JSON key under "targets"
  measured: number;
  target: number;
  pass: boolean;
  /** ≥ or < / ≤ */
  op: '≥' | '<' | '≤';
  note?: string;
  unit?: string;
}

function targetsOf(r: BenchResults): Target[] {
  const t: Target[] = [];
  const express = r.express?.per_s,
    nodeHttp = r.nodeHttp?.per_s;
  if (r.bootstrap && express) {
    const target = 0.15 * express;
    t.push({
      key: 'bootstrap_vs_express',
      name: `bootstrap.per_s (c=${r.bootstrap.concurrency}) ≥ 0.15 × baseline.express_per_s`,
      op: '≥',
      measured: r.bootstrap.per_s,
      target,
      pass: r.bootstrap.per_s >= target,
      unit: '/s',
      note: `${ratio(r.bootstrap.per_s, express)} of Express${nodeHttp ? `, ${ratio(r.bootstrap.per_s, nodeHttp)} of node:http` : ''}`,
    });
  }
  if (r.bootstrapC4)
    t.push({
      key: 'bootstrap_p99',
      name: 'bootstrap.p99_ms (c=4) < 25',
      op: '<',
      measured: r.bootstrapC4.p99_ms,
      target: 25,
      pass: r.bootstrapC4.p99_ms < 25,
      unit: ' ms',
    });
  if (r.psk && express) {
    const target = 0.5 * express;
    t.push({
      key: 'psk_lookup_vs_express',
      name: 'psk_lookup.per_s ≥ 0.5 × baseline.express_per_s',
      op: '≥',
      measured: r.psk.per_s,
      target,
      pass: r.psk.per_s >= target,
      unit: '/s',
      note: `${ratio(r.psk.per_s, express)} of Express`,
    });
  }
  if (r.crypto) {
    const c = r.crypto;
    t.push({
      key: 'milenage_vs_aes',
      name: 'crypto.milenage_per_s × 6 ≥ 0.6 × crypto.aes_block_per_s',
      op: '≥',
      measured: c.milenage_per_s * 6,
      target: 0.6 * c.aes_block_per_s,
      pass: c.milenage_per_s * 6 >= 0.6 * c.aes_block_per_s,
      unit: ' blocks/s',
      note: `${ratio(c.milenage_per_s * 6, c.aes_block_per_s)} of single-block AES`,
    });
    t.push({
      key: 'ks_naf_vs_hmac',
      name: 'crypto.ks_naf_per_s ≥ 0.7 × crypto.hmac_sha256_per_s',
      op: '≥',
      measured: c.ks_naf_per_s,
      target: 0.7 * c.hmac_sha256_per_s,
      pass: c.ks_naf_per_s >= 0.7 * c.hmac_sha256_per_s,
      unit: '/s',
      note: `${ratio(c.ks_naf_per_s, c.hmac_sha256_per_s)} of HMAC-SHA-256`,
    });
  }
  if (r.redis)
    t.push({
      key: 'redis_bytes_per_session',
      name: 'redis.bytes_per_session ≤ 400',
      op: '≤',
      measured: r.redis.bytes_per_session,
      target: 400,
      pass: r.redis.bytes_per_session <= 400,
      unit: ' B',
    });
  return t;
}

const ratio = (a: number, b: number): string => `${(a / b).toFixed(3)}×`;
const round = (v: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

function phaseJson(p: PhaseResult): Record<string, number | Record<string, number>> {
  return {
    per_s: round(p.per_s, 1),
    p50_ms: round(p.p50_ms, 3),
    p99_ms: round(p.p99_ms, 3),
    mean_ms: round(p.mean_ms, 3),
    errors: p.errors,
    concurrency: p.concurrency,
    seconds: round(p.seconds, 3),
    cpu_cores: p.cpu,
  };
}

type JsonNumbers = { [k: string]: number | JsonNumbers };

/** The --json document: nested objects and plain numbers only. */
export function toJson(r: BenchResults): JsonNumbers {
  const out: JsonNumbers = {};
  if (r.bootstrap || r.bootstrapC4) {
    const b: JsonNumbers = {};
    if (r.bootstrap)
      Object.assign(b, {
        per_s: round(r.bootstrap.per_s, 1),
        p99_ms_c32: round(r.bootstrap.p99_ms, 3),
        p50_ms_c32: round(r.bootstrap.p50_ms, 3),
        concurrency: r.bootstrap.concurrency,
        errors: r.bootstrap.errors,
      });
    if (r.bootstrapC4)
      Object.assign(b, {
        p50_ms: round(r.bootstrapC4.p50_ms, 3),
        p99_ms: round(r.bootstrapC4.p99_ms, 3),
        per_s_c4: round(r.bootstrapC4.per_s, 1),
        errors_c4: r.bootstrapC4.errors,
      });
    if (r.bootstrap) b.cpu_cores = r.bootstrap.cpu;
    if (r.bootstrapC4) b.cpu_cores_c4 = r.bootstrapC4.cpu;
    out.bootstrap = b;
  }
  if (r.zn) out.zn = phaseJson(r.zn);
  if (r.n65) out.n65 = phaseJson(r.n65);
  if (r.mar || r.bir) {
    const d: JsonNumbers = {};
    if (r.mar)
      Object.assign(d, {
        mar_per_s: round(r.mar.per_s, 1),
        mar_p50_ms: round(r.mar.p50_ms, 3),
        mar_p99_ms: round(r.mar.p99_ms, 3),
        mar_errors: r.mar.errors,
      });
    if (r.bir)
      Object.assign(d, {
        bir_per_s: round(r.bir.per_s, 1),
        bir_p50_ms: round(r.bir.p50_ms, 3),
        bir_p99_ms: round(r.bir.p99_ms, 3),
        bir_errors: r.bir.errors,
      });
    out.diameter = d;
  }
  if (r.psk) out.psk_lookup = phaseJson(r.psk);
  const lw: JsonNumbers = {};
  if (r.lwm2m.per_s) Object.assign(lw, phaseJson(r.lwm2m.per_s));
  if (r.lwm2m.dtls_per_s) {
    lw.dtls_per_s = round(r.lwm2m.dtls_per_s.per_s, 1);
    lw.dtls_p99_ms = round(r.lwm2m.dtls_per_s.p99_ms, 3);
  }
  if (Object.keys(lw).length) out.lwm2m = lw;
  if (r.crypto) out.crypto = Object.fromEntries(Object.entries(r.crypto).map(([k, v]) => [k, Math.round(v)]));
  if (r.express || r.nodeHttp) {
    const b: JsonNumbers = {};
    const runs = (v: number[]): JsonNumbers => Object.fromEntries(v.map((x, i) => [`run${i + 1}`, round(x, 1)]));
    if (r.express)
      Object.assign(b, {
        express_per_s: round(r.express.per_s, 1),
        express_p99_ms: round(r.express.p99_ms, 3),
        express_runs_per_s: runs(r.baselineRuns.express),
        express_cpu_cores: r.express.cpu,
      });
    if (r.nodeHttp)
      Object.assign(b, {
        node_http_per_s: round(r.nodeHttp.per_s, 1),
        node_http_p99_ms: round(r.nodeHttp.p99_ms, 3),
        node_http_runs_per_s: runs(r.baselineRuns.nodeHttp),
        node_http_cpu_cores: r.nodeHttp.cpu,
      });
    b.concurrency = (r.express ?? r.nodeHttp)!.concurrency;
    out.baseline = b;
  }
  if (r.redis)
    out.redis = {
      bytes_per_session: round(r.redis.bytes_per_session, 2),
      sessions: r.redis.sessions,
      used_memory_before: r.redis.used_memory_before,
      used_memory_after: r.redis.used_memory_after,
      other_keys_written: r.redis.other_keys_written,
    };
  const ratios: JsonNumbers = {};
  const targets: JsonNumbers = {};
  for (const t of targetsOf(r))
    targets[t.key] = { measured: round(t.measured, 3), target: round(t.target, 3), pass: t.pass ? 1 : 0 };
  if (r.bootstrap && r.express) ratios.bootstrap_to_express = round(r.bootstrap.per_s / r.express.per_s, 4);
  if (r.bootstrap && r.nodeHttp) ratios.bootstrap_to_node_http = round(r.bootstrap.per_s / r.nodeHttp.per_s, 4);
  if (r.psk && r.express) ratios.psk_lookup_to_express = round(r.psk.per_s / r.express.per_s, 4);
  if (r.zn && r.express) ratios.zn_to_express = round(r.zn.per_s / r.express.per_s, 4);
  if (r.mar && r.n65) ratios.mar_to_n65 = round(r.mar.per_s / r.n65.per_s, 4);
  if (r.bir && r.zn) ratios.bir_to_n66 = round(r.bir.per_s / r.zn.per_s, 4);
  if (r.crypto) {
    ratios.milenage_x6_to_aes_block = round((r.crypto.milenage_per_s * 6) / r.crypto.aes_block_per_s, 4);
    ratios.ks_naf_to_hmac_sha256 = round(r.crypto.ks_naf_per_s / r.crypto.hmac_sha256_per_s, 4);
    ratios.noble_to_node_hmac_sha256 = round(r.crypto.noble_hmac_sha256_per_s / r.crypto.hmac_sha256_per_s, 4);
    ratios.noble_to_node_md5 = round(r.crypto.noble_md5_per_s / r.crypto.md5_per_s, 4);
  }
  out.ratios = ratios;
  out.targets = targets;
  out.machine = {
    cores: r.machine.cores,
    load_avg_1m_start: round(r.machine.loadAvgStart),
    load_avg_1m_end: round(r.machine.loadAvgEnd),
    total_mem_bytes: r.machine.totalMemBytes,
    node_major: r.machine.nodeMajor,
  };
  out.run = {
    concurrency: r.concurrency,
    duration_s: r.durationSec,
    total_s: round(r.totalSeconds, 1),
    load_workers: r.context.loadWorkers,
  };
  return out;
}

function fmt(v: number | undefined, digits?: number): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const d = digits ?? (Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 100 ? 1 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** "1.98 busy: bsf 0.70, loadgen 0.61, …, other 0.05": the machine first, then each process, most first. */
const cpuText = (c: Record<string, number>): string => {
  const procs = Object.entries(c)
    .filter(([k, v]) => k !== 'machine' && k !== 'other' && v >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`);
  if (c.other !== undefined && c.other >= 0.01) procs.push(`other ${c.other.toFixed(2)}`);
  return `${c.machine !== undefined ? `${c.machine.toFixed(2)} busy: ` : ''}${procs.join(', ')}`;
};

/** The phase during which other processes (not the bench's) used the most CPU, when that was noticeable. */
function interference(r: BenchResults): { phase: string; cores: number } | undefined {
  const phases: Array<[string, PhaseResult | undefined]> = [
    ['Ub c=32', r.bootstrap],
    ['Ub c=4', r.bootstrapC4],
    ['Zh N65', r.n65],
    ['Zh MAR', r.mar],
    ['Zn', r.zn],
    ['Zn BIR', r.bir],
    ['PSK lookup', r.psk],
    ['LwM2M TLS', r.lwm2m.per_s],
    ['LwM2M DTLS', r.lwm2m.dtls_per_s],
    ['the Express baseline', r.express],
    ['the node:http baseline', r.nodeHttp],
  ];
  let worst: { phase: string; cores: number } | undefined;
  for (const [phase, p] of phases) {
    const other = p?.cpu.other;
    if (other !== undefined && other >= 0.25 && (!worst || other > worst.cores)) worst = { phase, cores: other };
  }
  return worst;
}

/** The readable report for stdout. */
export function renderTable(r: BenchResults): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `gba-sim bench: ${m.cores} cores, load average ${m.loadAvgStart.toFixed(2)} at start and ${m.loadAvgEnd.toFixed(2)} at the end; concurrency ${r.concurrency}, ${r.durationSec} s per phase`,
  );
  lines.push(`store: ${r.context.store}; NF log level ${r.context.logLevel}`);
  lines.push(
    `load generator: ${r.context.loadWorkers} worker thread${r.context.loadWorkers > 1 ? 's' : ''}; bare-socket keep-alive HTTP/1.1 clients for the HTTP phases, device/ub-client.ts for Ub, the device transports for LwM2M`,
  );
  lines.push(
    "CPU: cores busy during the measured window; loadgen = the bench process (its load-generator thread, and its main thread reading the NFs' logs), other = everything else on the machine",
  );
  lines.push('');
  const rows: string[][] = [
    ['Phase', 'per s', 'p50 ms', 'p99 ms', 'errors', 'CPU cores busy (whole machine: by process)'],
  ];
  const row = (label: string, p: PhaseResult | undefined) => {
    if (p) rows.push([label, fmt(p.per_s), fmt(p.p50_ms), fmt(p.p99_ms), String(p.errors), cpuText(p.cpu)]);
  };
  row(`Ub bootstrap, full (c=${r.bootstrap?.concurrency ?? r.concurrency})`, r.bootstrap);
  row('Ub bootstrap, full (c=4)', r.bootstrapC4);
  row(`Zh vector, N65 HTTP (c=${r.n65?.concurrency ?? r.concurrency})`, r.n65);
  row(`Zh vector, MAR/MAA Diameter (c=${r.mar?.concurrency ?? r.concurrency})`, r.mar);
  row(`Zn key retrieval NAF→BSF (c=${r.zn?.concurrency ?? r.concurrency})`, r.zn);
  row(`Zn key retrieval, BIR/BIA Diameter (c=${r.bir?.concurrency ?? r.concurrency})`, r.bir);
  row(`PSK lookup, cache warm (c=${r.psk?.concurrency ?? r.concurrency})`, r.psk);
  row(`LwM2M TLS cycle (c=${r.lwm2m.per_s?.concurrency ?? r.concurrency})`, r.lwm2m.per_s);
  row(`LwM2M DTLS cycle (c=${r.lwm2m.dtls_per_s?.concurrency ?? r.concurrency})`, r.lwm2m.dtls_per_s);
  row(`Baseline: Express 5 hello (c=${r.express?.concurrency ?? r.concurrency})`, r.express);
  row(`Baseline: node:http hello (c=${r.nodeHttp?.concurrency ?? r.concurrency})`, r.nodeHttp);
  lines.push(...table(rows, [false, true, true, true, true, false]));
  const runsText = (v: number[]) => v.map((x) => fmt(x, 0)).join(' and ');
  if (r.baselineRuns.express.length > 1)
    lines.push(
      `  baselines: the better of ${r.baselineRuns.express.length} runs (before and after the network phases): Express ${runsText(r.baselineRuns.express)}/s, node:http ${runsText(r.baselineRuns.nodeHttp)}/s`,
    );
  const busy = interference(r);
  if (busy)
    lines.push(
      `  note: other processes on this machine used up to ${busy.cores.toFixed(2)} cores during ${busy.phase}; figures measured then are lower than on an idle machine`,
    );
  for (const n of r.notMeasured) lines.push(`  ${n.what}: not measured: ${n.why}`);
  if (r.crypto) {
    lines.push('');
    const c = r.crypto;
    lines.push(
      ...table(
        [
          ['Crypto (bench/crypto.ts, one thread)', 'per s'],
          ['Milenage f1…f5* (6 AES blocks)', fmt(c.milenage_per_s, 0)],
          ['Ks_NAF (TS 33.220 KDF, S built per call)', fmt(c.ks_naf_per_s, 0)],
          ['AES-128 single block (baseline)', fmt(c.aes_block_per_s, 0)],
          ['HMAC-SHA-256 over 100 octets (baseline)', fmt(c.hmac_sha256_per_s, 0)],
          [
            `HMAC-SHA-256, @noble/hashes (${ratio(c.noble_hmac_sha256_per_s, c.hmac_sha256_per_s)} of node:crypto)`,
            fmt(c.noble_hmac_sha256_per_s, 0),
          ],
          ['MD5 over 150 octets (Digest response input)', fmt(c.md5_per_s, 0)],
          [`MD5, @noble/hashes (${ratio(c.noble_md5_per_s, c.md5_per_s)} of node:crypto)`, fmt(c.noble_md5_per_s, 0)],
        ],
        [false, true],
      ),
    );
  }
  if (r.redis) {
    lines.push('');
    lines.push(
      `Redis: ${fmt(r.redis.bytes_per_session, 1)} bytes per bootstrapping session (used_memory +${fmt(r.redis.used_memory_after - r.redis.used_memory_before, 0)} B over ${fmt(r.redis.sessions, 0)} sessions${r.redis.other_keys_written ? `; ${r.redis.other_keys_written} other keys appeared meanwhile` : ''})`,
    );
    lines.push(
      `  e.g. key ${r.redis.key_example} (${r.redis.key_example.length} chars), value ${r.redis.value_octets_example} octets${r.context.redisPrefixNote ? `; ${r.context.redisPrefixNote}` : ''}`,
    );
  }
  const targets = targetsOf(r);
  if (targets.length) {
    lines.push('');
    lines.push('Targets');
    const trows = targets.map((t) => [
      t.pass ? 'PASS' : 'MISS',
      t.name,
      `${fmt(t.measured)}${t.unit ?? ''} ${t.op} ${fmt(t.target)}${t.unit ?? ''}`,
      t.note ?? '',
    ]);
    lines.push(...table(trows, [false, false, false, false]));
    const missed = targets.filter((t) => !t.pass);
    lines.push(
      missed.length ? `${missed.length} of ${targets.length} targets missed` : `all ${targets.length} targets met`,
    );
  }
  lines.push(`total time ${r.totalSeconds.toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}

function table(rows: string[][], rightAlign: boolean[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    `  ${r.map((c, i) => (i === r.length - 1 ? c : rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd(),
  );
}
