/**
 * `gba-sim bench`, start to end: its own redis-server and network unless told otherwise, the Redis memory
 * measurement and the crypto micro-benchmarks while nothing else runs, then the baselines and the
 * network's phases through the load generator; everything it started is stopped again, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdirSync, rmSync } from 'node:fs';
import { redactUrlCredentials } from '../shared/redact.js';
import { siblingScript, startBaseline, type BaselineKind } from './baselines.js';
import { LoadGenerator } from './load/generator.js';
import {
  bootstrapJob,
  diameterJob,
  httpJob,
  n65Requests,
  pskRequests,
  runPhase,
  timing,
  warmPskCache,
  znRequests,
  type PhaseResult,
} from './phases.js';
import { Progress } from './progress.js';
import { measureSessionMemory } from './redis-memory.js';
import { startOwnRedis } from './redis-server.js';
import { existingNetwork, startOwnNetwork, type NetworkTarget, type StartNetwork } from './network-target.js';
import { deleteDevices, importDevices, makeDevices } from './subscribers.js';
import { LWM2M_VARIANTS, lwm2mJob, lwm2mParams, lwm2mUnavailable } from './lwm2m.js';
import type { BenchResults } from './report.js';
import { CRYPTO_CASES } from './crypto.js';
import { connectRedis } from '../shared/store/redis.js';
import { bsfDomain, impiFromImsi } from '../shared/identifiers.js';
import { parseAaaUri } from '../shared/diameter/identity.js';
import type { NfName } from '../shared/endpoints.js';

interface BenchOptions {
  concurrency: number;
  durationSec: number;
  endpointsFile?: string;
  redisUrl?: string;
  /** Sessions written for the memory measurement (≥ 100,000). */
  sessions: number;
  /** Write CPU profiles of the NF and baseline processes here. */
  cpuProfDir?: string;
  loadWorkers: number;
  progress: Progress;
  /** How to start a network of its own (bin/network.ts's startNetwork) and which NFs exist to start. */
  network: { start: StartNetwork; nfs: readonly NfName[] };
}

/** Concurrency of the latency phase (TS: "p50/p99 at c=4"). */
const LATENCY_CONCURRENCY = 4;
/** bench/crypto.ts time per case, spread over interleaved slices (the best slice counts): 7 cases ≈ 7 s. */
const CRYPTO_MS_PER_CASE = 1000;
/** TCP connections each load-generator worker opens to a Diameter listener. */
const DIAMETER_CONNECTIONS = 4;
/** B-TIDs the Zn, PSK and LwM2M phases cycle through. */
const SESSIONS_KEPT = 5000;

export const defaultLoadWorkers = (): number => (availableParallelism() >= 8 ? 2 : 1);

/** Deletes every key under a prefix (only ever a prefix the bench made up). */
async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const r = await connectRedis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = (await r.cmd(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
        Buffer,
        Buffer[],
      ];
      cursor = next.toString();
      if (keys.length) await r.cmd(['UNLINK', ...keys]);
    } while (cursor !== '0');
  } finally {
    await r.close();
  }
}

/** Environment that makes a child Node process profile itself (see cpu-profile-hook.ts). */
function cpuProfileEnv(dir: string): Record<string, string> {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const hook = siblingScript('./cpu-profile-hook');
  const imports = [
    ...hook.execArgv.filter((a) => a !== '--import').map((a) => `--import=${a}`),
    `--import=${pathToFileURL(hook.file).href}`,
  ];
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${imports.join(' ')}`.trim(), GBA_BENCH_CPU_PROF_DIR: abs };
}

/** Clean-ups of the run in progress, for an interrupted run (abortBench). */
let running: Array<() => Promise<void>> | undefined;

/**
 * Stops what a run in progress started (network, redis-server, baselines' workers, temporary files), for
 * SIGINT/SIGTERM. Children would follow the bench anyway (their stdin closes), but this also tidies up.
 */
export async function abortBench(): Promise<void> {
  const c = running;
  running = undefined;
  for (const f of (c ?? []).reverse()) await f().catch(() => undefined);
}

export async function runBench(o: BenchOptions): Promise<BenchResults> {
  const started = performance.now();
  const progress = o.progress;
  const results: BenchResults = {
    concurrency: o.concurrency,
    durationSec: o.durationSec,
    lwm2m: {},
    notMeasured: [],
    baselineRuns: { express: [], nodeHttp: [] },
    machine: {
      cores: availableParallelism(),
      loadAvgStart: loadavg()[0]!,
      loadAvgEnd: 0,
      totalMemBytes: totalmem(),
      nodeMajor: Number(process.versions.node.split('.')[0]),
    },
    context: { store: '', logLevel: 'info', loadWorkers: o.loadWorkers },
    totalSeconds: 0,
  };
  const cleanups: Array<() => Promise<void>> = [];
  running = cleanups;
  const t = timing(o.durationSec);
  const profileEnv = o.cpuProfDir ? cpuProfileEnv(o.cpuProfDir) : undefined;

  try {
    // --- Redis: the bench's own server unless a Redis or a whole network was named.
    let ownRedis: Awaited<ReturnType<typeof startOwnRedis>> | undefined;
    if (!o.endpointsFile && !o.redisUrl) {
      progress.start('redis-server');
      ownRedis = await startOwnRedis();
      cleanups.push(() => ownRedis!.stop());
      progress.done(`own redis-server at ${ownRedis.url}`);
    }
    const existing = o.endpointsFile ? existingNetwork(o.endpointsFile) : undefined;

    // --- Redis memory per session, first: nothing else has touched this Redis yet.
    const home = existing?.homeNetwork ?? { mcc: '001', mnc: '01' };
    let memUrl =
      o.redisUrl ??
      ownRedis?.url ??
      (existing?.endpoints.store?.kind === 'redis' ? existing.endpoints.store.redisUrl : undefined);
    let memPrefix = 'gba:';
    if (!ownRedis || memUrl !== ownRedis.url) {
      if (!memUrl) {
        // The network keeps its state in memory: measure on a private redis-server of our own.
        const tmp = await startOwnRedis();
        cleanups.push(() => tmp.stop());
        memUrl = tmp.url;
      } else {
        memPrefix = `gba:bench-${randomBytes(4).toString('hex')}:`;
        results.context.redisPrefixNote = `measured on a shared Redis under the unique prefix ${memPrefix} (${memPrefix.length - 4} characters longer than a deployment's "gba:"), deleted afterwards`;
      }
    }
    progress.start(`redis memory (${o.sessions.toLocaleString('en-US')} sessions)`);
    results.redis = await measureSessionMemory({
      redisUrl: memUrl!,
      prefix: memPrefix,
      sessions: o.sessions,
      homeNetwork: home,
      bsfDomain: bsfDomain(home),
      lifetimeSec: existing?.lifetimeSec ?? 3600,
      onProgress: (n) => progress.update(`${n.toLocaleString('en-US')} written`, n / o.sessions),
    });
    progress.done(`${results.redis.bytes_per_session.toFixed(1)} bytes per session`);

    const gen = new LoadGenerator(o.loadWorkers);
    cleanups.push(() => gen.close());

    // --- Crypto micro-benchmarks (bench/crypto.ts, on a load-generator thread), while no load runs.
    progress.start('crypto', CRYPTO_MS_PER_CASE * CRYPTO_CASES + 200);
    const ticker = setInterval(() => progress.update(''), 200);
    try {
      results.crypto = await gen.crypto(CRYPTO_MS_PER_CASE);
    } finally {
      clearInterval(ticker);
    }
    progress.done(
      `Milenage ${Math.round(results.crypto.milenage_per_s)}/s, Ks_NAF ${Math.round(results.crypto.ks_naf_per_s)}/s`,
    );

    // --- Baselines, each in its own child process, at the bootstrap phase's concurrency.
    const baseline = async (kind: BaselineKind, label: string): Promise<PhaseResult> => {
      const s = await startBaseline(kind, profileEnv ? { ...process.env, ...profileEnv } : process.env);
      try {
        return await runPhase(
          gen,
          progress,
          label,
          httpJob(`http://${s.host}:${s.port}/`, [{ method: 'GET', path: '/' }], o.concurrency, t),
          { [kind]: s.pid },
        );
      } finally {
        await s.stop();
      }
    };
    // Measured before the network's phases and again after them; the better run of each counts, so a burst of
    // someone else's load on a shared machine cannot make the baselines, and with them the targets, look easier.
    const baselines = async (round: 1 | 2) => {
      const e = await baseline('express', `baseline: express (${round}/2)`);
      const n = await baseline('node_http', `baseline: node:http (${round}/2)`);
      results.baselineRuns.express.push(e.per_s);
      results.baselineRuns.nodeHttp.push(n.per_s);
      if (!results.express || e.per_s > results.express.per_s) results.express = e;
      if (!results.nodeHttp || n.per_s > results.nodeHttp.per_s) results.nodeHttp = n;
    };
    await baselines(1);

    // --- The network.
    let net: NetworkTarget;
    let netPrefix = 'gba:';
    if (existing) {
      net = existing;
    } else {
      if (o.redisUrl) {
        netPrefix = `gba-bench-${randomBytes(4).toString('hex')}:`;
        cleanups.push(() => deletePrefix(o.redisUrl!, netPrefix));
      }
      const nfs = o.network.nfs;
      progress.start(`network (${nfs.join(', ')})`);
      net = await startOwnNetwork({
        redisUrl: o.redisUrl ?? ownRedis!.url,
        prefix: netPrefix,
        nfs,
        logLevel: 'info',
        childEnv: profileEnv,
        startNetwork: o.network.start,
        onStateDir: (dir) => cleanups.push(async () => rmSync(dir, { recursive: true, force: true })),
        onEvent: (nf, line) => {
          if (!/"level":"(info|debug)"/.test(line)) progress.note(`[${nf}] ${line.slice(0, 300)}`);
        },
      });
      cleanups.push(() => net.stop());
      progress.done(`up (store: ${net.storeReason})`);
    }
    results.context.store = existing
      ? `existing network (${net.storeReason})`
      : `${o.redisUrl ? `Redis at ${redactUrlCredentials(o.redisUrl)}, prefix ${netPrefix}` : `own redis-server ${ownRedis!.url}`}`;
    const pids = { ...net.pids, ...(ownRedis ? { redis: ownRedis.pid } : {}) };
    const e = net.endpoints;

    // --- Subscribers for the simulated devices.
    const devices = makeDevices(Math.max(1000, o.concurrency * 8), net.homeNetwork);
    progress.start(`provisioning ${devices.length} subscribers`);
    await importDevices(e.hss.provisioning, e.hss.adminToken, devices, (n) =>
      progress.update(`${n}`, n / devices.length),
    );
    if (!net.own) cleanups.push(() => deleteDevices(e.hss.provisioning, e.hss.adminToken, devices));
    progress.done('bulk import done');
    const mncDigits = net.homeNetwork.mnc.length as 2 | 3;

    // --- Ub: throughput at --concurrency, then latency at 4.
    const ub = { bsfUrl: e.bsf.ub, realm: e.bsf.realm, mncDigits, devices };
    results.bootstrap = await runPhase(
      gen,
      progress,
      `bootstrap c=${o.concurrency}`,
      bootstrapJob({ ...ub, concurrency: o.concurrency, keep: SESSIONS_KEPT }, t),
      pids,
    );
    results.bootstrapC4 = await runPhase(
      gen,
      progress,
      `bootstrap c=${LATENCY_CONCURRENCY}`,
      bootstrapJob({ ...ub, concurrency: LATENCY_CONCURRENCY, keep: SESSIONS_KEPT }, t),
      pids,
    );
    const sessions = [...(results.bootstrap.sessions ?? []), ...(results.bootstrapC4.sessions ?? [])].slice(
      0,
      SESSIONS_KEPT,
    );
    const btids = sessions.map((s) => s.btid);

    // --- Zn: NAF → BSF key retrieval, with the NAF's own token.
    if (!e.naf) results.notMeasured.push({ what: 'zn.per_s', why: 'the network has no NAF' });
    else if (!net.znToken)
      results.notMeasured.push({ what: 'zn.per_s', why: net.znTokenProblem ?? "the NAF's Zn token is unknown" });
    else
      results.zn = await runPhase(
        gen,
        progress,
        `zn c=${o.concurrency}`,
        httpJob(e.bsf.zn, znRequests(e.bsf.zn, net.znToken, e.naf.fqdn, btids), o.concurrency, t),
        pids,
      );

    // --- Zh vectors: N65 HTTP and MAR/MAA Diameter side by side (one vector per request, the same IMPIs).
    const impis = devices.map((d) => impiFromImsi(d.imsi, mncDigits));
    if (!net.hssToken)
      results.notMeasured.push({ what: 'n65.per_s', why: "the BSF's N65 token (bsf.hssToken) is unknown" });
    else
      results.n65 = await runPhase(
        gen,
        progress,
        `zh N65 http c=${o.concurrency}`,
        httpJob(e.hss.provisioning, n65Requests(e.hss.provisioning, net.hssToken, impis), o.concurrency, t),
        pids,
      );
    if (!e.hss.diameter)
      results.notMeasured.push({ what: 'diameter.mar_per_s', why: 'endpoints.json names no hss.diameter listener' });
    else {
      const { host, port } = parseAaaUri(e.hss.diameter.uri);
      results.mar = await runPhase(
        gen,
        progress,
        `zh MAR/MAA diameter c=${o.concurrency}`,
        diameterJob(
          {
            kind: 'mar',
            host,
            port,
            local: {
              host: e.bsf.diameter?.host ?? `bsf.${e.hss.diameter.realm}`,
              realm: e.bsf.diameter?.realm ?? e.hss.diameter.realm,
            },
            peer: { host: e.hss.diameter.host, realm: e.hss.diameter.realm },
            items: impis,
            connections: DIAMETER_CONNECTIONS,
          },
          o.concurrency,
          t,
        ),
        pids,
      );
    }
    // --- Zn over Diameter: BIR/BIA under the NAF's identity, the same B-TIDs and NAF-Id as the N66 phase.
    if (!e.naf?.diameter || !e.bsf.diameter)
      results.notMeasured.push({
        what: 'diameter.bir_per_s',
        why: 'endpoints.json names no bsf.diameter listener or NAF identity',
      });
    else {
      const { host, port } = parseAaaUri(e.bsf.diameter.uri);
      results.bir = await runPhase(
        gen,
        progress,
        `zn BIR/BIA diameter c=${o.concurrency}`,
        diameterJob(
          {
            kind: 'bir',
            host,
            port,
            local: e.naf.diameter,
            peer: { host: e.bsf.diameter.host, realm: e.bsf.diameter.realm },
            items: btids,
            nafFqdn: e.naf.fqdn,
            uaSecProtId: '0100000002',
            connections: DIAMETER_CONNECTIONS,
          },
          o.concurrency,
          t,
        ),
        pids,
      );
    }

    // --- PSK API with the NAF's key cache warm (every identity looked up once first).
    if (!e.naf) results.notMeasured.push({ what: 'psk_lookup.per_s', why: 'the network has no NAF' });
    else {
      progress.start(`psk cache warm-up (${btids.length} identities)`);
      const warm = await warmPskCache(e.naf.pskLookup, e.naf.pskApiToken, btids, o.concurrency, (n) =>
        progress.update(`${n}`, n / btids.length),
      );
      progress.done(warm.failed ? `${warm.failed} lookups failed (${warm.first})` : 'every identity cached');
      results.psk = await runPhase(
        gen,
        progress,
        `psk lookup c=${o.concurrency}`,
        httpJob(e.naf.pskLookup, pskRequests(e.naf.pskLookup, e.naf.pskApiToken, btids), o.concurrency, t),
        pids,
      );
    }

    // --- LwM2M, each variant that can run here.
    for (const v of LWM2M_VARIANTS) {
      const why = e.naf ? lwm2mUnavailable(v, e) : 'the network has no NAF';
      if (why) {
        results.notMeasured.push({ what: `lwm2m.${v.key} (${v.label})`, why });
        continue;
      }
      // Each loop needs devices of its own (an endpoint is never registered twice at once).
      if (sessions.length < o.concurrency) {
        results.notMeasured.push({
          what: `lwm2m.${v.key} (${v.label})`,
          why: `only ${sessions.length} bootstrapped devices for ${o.concurrency} concurrent ones`,
        });
        continue;
      }
      const params = await lwm2mParams(v, e, sessions, o.concurrency, Math.min(sessions.length, o.concurrency * 4));
      results.lwm2m[v.key] = await runPhase(
        gen,
        progress,
        `lwm2m ${v.key === 'per_s' ? 'tls' : 'dtls'} c=${o.concurrency}`,
        lwm2mJob(v, params, o.concurrency, t),
        pids,
      );
    }

    await baselines(2);
  } finally {
    if (running === cleanups) running = undefined;
    for (const c of cleanups.reverse())
      await c().catch((err: Error) => progress.note(`bench: clean-up: ${err.message}`));
  }
  results.machine.loadAvgEnd = loadavg()[0]!;
  results.totalSeconds = (performance.now() - started) / 1000;
  return results;
}
