/**
 * `gba-sim bench --sessions N --scale` (issue 16): the store at scale. On its own Redis (or 3-node Redis Cluster
 * with --redis-cluster) and its own network it measures, in order:
 *   - bootstraps: NF CPU seconds (BSF + HSS) and Redis commands (INFO commandstats delta) and bytes per bootstrap;
 *   - Zn and PSK API lookups on an empty store: p50/p99 and Redis commands per lookup;
 *   - then fills Redis with N sessions (pipelined, through the BSF's own RedisSessionStore encoding) and measures
 *     bytes per session (INFO used_memory delta / N, summed over every master), and Zn/PSK p99 again (ratio);
 *   - memory per LwM2M registration (RedisLwm2mRegistrationStore records, delta / count).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { bootstrap } from '../device/ub-client.js';
import { SoftUsim } from '../device/usim.js';
import { btidFromRand, impiFromImsi } from '../shared/identifiers.js';
import { keyNames } from '../shared/store/keys.js';
import { connectRedis, RedisSessionStore, type RedisPort } from '../shared/store/redis.js';
import { connectRedisCluster } from '../shared/store/redis-cluster.js';
import { RedisLwm2mRegistrationStore } from '../shared/store/lwm2m-registrations-redis.js';
import type { StoredRegistration } from '../shared/store/lwm2m-registrations.js';
import type { NfName } from '../shared/endpoints.js';
import { startOwnRedis } from './redis-server.js';
import { startOwnRedisCluster } from './redis-cluster.js';
import { startOwnNetwork, type StartNetwork } from './network-target.js';
import { importDevices, makeDevices } from './subscribers.js';
import type { Progress } from './progress.js';

export interface ScaleOptions {
  sessions: number;
  cluster: boolean;
  redisUrl?: string;
  progress: Progress;
  network: { start: StartNetwork; nfs: readonly NfName[] };
  /** Bootstraps measured (default 500), lookups per latency run (default 2000). */
  bootstraps?: number;
  lookups?: number;
}

export interface LatencyResult {
  n: number;
  p50_ms: number;
  p99_ms: number;
  commands_per_request: number;
}

export interface ScaleResults {
  store: string;
  masters: number;
  sessions: number;
  bootstrap: {
    n: number;
    per_s: number;
    nf_cpu_seconds: number;
    per_core_s: number;
    commands_per_bootstrap: number;
    bytes_per_bootstrap: number;
    commands: Record<string, number>;
  };
  empty: { zn: LatencyResult; psk: LatencyResult };
  full: { zn: LatencyResult; psk: LatencyResult };
  ratio: { zn_p99: number; psk_p99: number };
  bytes_per_session: number;
  fill_seconds: number;
  lwm2m: { registrations: number; bytes_per_registration: number };
  bytes_per_subscriber: number;
  /** NAF key cache entry (Ks_NAF in Redis, with its B-TID's NAF_Id set), measured on the first PSK pass. */
  bytes_per_naf_key: number;
  zn_commands: Record<string, number>;
  psk_commands: Record<string, number>;
}

type Masters = Awaited<ReturnType<RedisPort['masters']>>;

async function infoOf(masters: Masters, section: string): Promise<Array<Map<string, string>>> {
  return Promise.all(
    masters.map(async (m) => {
      const text = String(await m.cmd(['INFO', section]));
      const map = new Map<string, string>();
      for (const line of text.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) map.set(line.slice(0, i), line.slice(i + 1));
      }
      return map;
    }),
  );
}

const usedMemory = async (masters: Masters): Promise<number> =>
  (await infoOf(masters, 'memory')).reduce((s, m) => s + Number(m.get('used_memory')), 0);

/** Calls per command over every master (INFO commandstats: cmdstat_get:calls=…). INFO itself is left out. */
async function commandCalls(masters: Masters): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const m of await infoOf(masters, 'commandstats')) {
    for (const [k, v] of m) {
      const name = k.replace(/^cmdstat_/, '');
      if (name === k || name === 'info') continue;
      total.set(name, (total.get(name) ?? 0) + Number(/calls=(\d+)/.exec(v)?.[1] ?? 0));
    }
  }
  return total;
}

function delta(
  before: Map<string, number>,
  after: Map<string, number>,
  per: number,
): { total: number; by: Record<string, number> } {
  const by: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) {
      by[k] = Math.round((d / per) * 100) / 100;
      total += d;
    }
  }
  return { total: total / per, by };
}

async function settle(masters: Masters): Promise<void> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    await new Promise((res) => setTimeout(res, 150));
    const now = await usedMemory(masters);
    if (now === last) return;
    last = now;
  }
}

/** utime + stime of a process in seconds (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** `n` POSTs at concurrency 4 over keep-alive connections, cycling through `bodies`; latencies in ms. */
async function latency(
  url: string,
  token: string,
  bodies: string[],
  n: number,
  masters: Masters,
): Promise<{ r: LatencyResult; by: Record<string, number> }> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 4 });
  const times: number[] = [];
  let next = 0;
  const before = await commandCalls(masters);
  try {
    const loop = async () => {
      while (next < n) {
        const body = bodies[next++ % bodies.length]!;
        const t0 = performance.now();
        const r = await pool.request({
          method: 'POST',
          path: u.pathname,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
          body,
        });
        await r.body.text();
        if (r.statusCode !== 200) throw new Error(`${url} answered ${r.statusCode}`);
        times.push(performance.now() - t0);
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
  } finally {
    await pool.close();
  }
  const d = delta(before, await commandCalls(masters), n);
  times.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    r: { n, p50_ms: round(pct(times, 0.5)), p99_ms: round(pct(times, 0.99)), commands_per_request: round(d.total) },
    by: d.by,
  };
}

function registration(i: number): StoredRegistration {
  const now = Date.now();
  const btid = `${randomBytes(16).toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
  return {
    registrationId: randomBytes(8).toString('hex'),
    endpoint: `urn:uuid:${randomBytes(16).toString('hex')}`,
    location: ['rd', String(i)],
    lwm2mVersion: '1.1',
    lifetimeSec: 300,
    binding: 'T',
    queueMode: false,
    links: [
      { path: '/1/0', params: {} },
      { path: '/3/0', params: {} },
    ],
    objects: [
      { objectId: 1, instances: [0] },
      { objectId: 3, instances: [0] },
    ],
    rootPath: '/',
    contentFormats: [],
    extra: {},
    registeredAtMs: now,
    lastUpdateMs: now,
    transport: 'tcp',
    address: '127.0.0.1:40000',
    pskIdentity: `3GPP-bootstrapping.${btid}`,
    btid,
    impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
    identityEndpoint: 'urn:uuid:00000000-0000-0000-0000-000000000000',
    uaSecProtId: '010001c0a8',
    pskExpiresAtMs: now + 3_600_000,
  };
}

export async function runScaleBench(o: ScaleOptions): Promise<ScaleResults> {
  const { progress } = o;
  const cleanups: Array<() => Promise<void>> = [];
  const K = o.bootstraps ?? 500;
  const M = o.lookups ?? 2000;
  try {
    // --- Redis: the given one, or a private redis-server / 3-master cluster.
    let url = o.redisUrl;
    if (!url) {
      progress.start(o.cluster ? 'redis cluster (3 masters)' : 'redis-server');
      const own = o.cluster ? await startOwnRedisCluster({ masters: 3 }) : await startOwnRedis();
      cleanups.push(() => own.stop());
      url = own.url;
      progress.done(`own ${o.cluster ? 'Redis Cluster, seed' : 'redis-server'} at ${url}`);
    }
    const port = o.cluster ? await connectRedisCluster(url) : await connectRedis(url);
    cleanups.push(() => port.close());
    const masters = await port.masters();
    const prefix = o.redisUrl ? `gba-scale-${randomBytes(4).toString('hex')}:` : 'gba:';

    progress.start('network (hss-mock, bsf, naf)');
    const net = await startOwnNetwork({
      redisUrl: url,
      cluster: o.cluster,
      prefix,
      nfs: o.network.nfs.filter((n) => n !== 'lwm2m'),
      logLevel: 'info',
      startNetwork: o.network.start,
      onEvent: (nf, line) => {
        if (!/"level":"(info|debug)"/.test(line)) progress.note(`[${nf}] ${line.slice(0, 300)}`);
      },
    });
    cleanups.push(() => net.stop());
    progress.done(`up (store: ${net.storeReason})`);
    const e = net.endpoints;

    // --- Bootstraps: NF CPU, Redis commands and bytes per bootstrap.
    const devices = makeDevices(Math.min(K, 1000), net.homeNetwork);
    await settle(masters);
    const subBefore = await usedMemory(masters);
    await importDevices(e.hss.provisioning, e.hss.adminToken, devices);
    await settle(masters);
    const bytesPerSubscriber = ((await usedMemory(masters)) - subBefore) / devices.length;
    const usims = devices.map(
      (d) => new SoftUsim({ algorithm: 'milenage', k: Buffer.from(d.k, 'hex'), opc: Buffer.from(d.opc, 'hex') }),
    );
    const mncDigits = net.homeNetwork.mnc.length as 2 | 3;
    progress.start(`${K} bootstraps`);
    await settle(masters);
    const cmdBefore = await commandCalls(masters);
    const memBefore = await usedMemory(masters);
    const cpuBefore = cpuSeconds(net.pids.bsf) + cpuSeconds(net.pids.hss);
    const t0 = performance.now();
    const btids: string[] = [];
    const pool = new Pool(new URL(e.bsf.ub).origin, { connections: 8 });
    let next = 0;
    const loop = async () => {
      while (next < K) {
        const i = next++ % devices.length;
        const b = await bootstrap({
          bsfUrl: e.bsf.ub,
          impi: impiFromImsi(devices[i]!.imsi, mncDigits),
          realm: e.bsf.realm,
          usim: usims[i]!,
          pool,
        });
        btids.push(b.btid);
        if (btids.length % 50 === 0) progress.update(`${btids.length}`, btids.length / K);
      }
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    await pool.close();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(net.pids.bsf) + cpuSeconds(net.pids.hss) - cpuBefore;
    const cmd = delta(cmdBefore, await commandCalls(masters), K);
    await settle(masters);
    const bytesPerBootstrap = ((await usedMemory(masters)) - memBefore) / K;
    progress.done(
      `${(K / seconds).toFixed(0)}/s, ${(K / cpu).toFixed(0)} per NF CPU second, ${cmd.total.toFixed(1)} commands each`,
    );

    const znBodies = btids.map((btId) =>
      JSON.stringify({ btId, nafId: { nafFqdn: e.naf!.fqdn, uaSecProtId: '0100000002' } }),
    );
    const pskBodies = btids.map((b) => JSON.stringify({ pskIdentity: `3GPP-bootstrapping.${b}` }));
    const znUrl = `${e.bsf.zn.replace(/\/$/, '')}/bootstrapping-info-retrieval`;
    const measure = async (label: string) => {
      progress.start(`${label}: zn and psk lookups`);
      const zn = await latency(znUrl, net.znToken!, znBodies, M, masters);
      await settle(masters);
      const before = await usedMemory(masters);
      const psk = await latency(e.naf!.pskLookup, e.naf!.pskApiToken, pskBodies, M, masters);
      await settle(masters);
      // The first pass caches each B-TID's key at the NAF (in Redis too): memory per cached key.
      const nafKeyBytes = ((await usedMemory(masters)) - before) / btids.length;
      progress.done(`zn p99 ${zn.r.p99_ms} ms, psk p99 ${psk.r.p99_ms} ms`);
      return { zn, psk, nafKeyBytes };
    };
    const empty = await measure('empty store');

    // --- Fill N sessions, pipelined (node-redis sends a batch's commands back to back on one connection per master).
    const sessionStore = new RedisSessionStore(port, keyNames(prefix));
    const home = net.homeNetwork;
    const msinDigits = 15 - 3 - mncDigits;
    await settle(masters);
    const fillMemBefore = await usedMemory(masters);
    progress.start(`filling ${o.sessions.toLocaleString('en-US')} sessions`);
    const fillStart = performance.now();
    const now = Date.now();
    const createdMs = Math.floor(now / 1000) * 1000;
    const expiresMs = createdMs + net.lifetimeSec * 1000;
    const domain = e.bsf.realm;
    const BATCH = o.cluster ? 1000 : 5000;
    for (let done = 0; done < o.sessions; done += BATCH) {
      const n = Math.min(BATCH, o.sessions - done);
      const batch = Array.from({ length: n }, () => {
        const imsi = home.mcc + home.mnc + String(randomInt(0, 10 ** msinDigits)).padStart(msinDigits, '0');
        return {
          btid: btidFromRand(randomBytes(16), domain),
          impi: impiFromImsi(imsi, mncDigits),
          ks: randomBytes(32),
          createdAtMs: createdMs,
          expiresAtMs: expiresMs,
          gbaU: false,
        };
      });
      // A busy machine can time a command out (5 s): the batch is sent again (SET NX: a session written once stays).
      for (let attempt = 1; ; attempt++) {
        try {
          await Promise.all(batch.map((x) => sessionStore.create(x)));
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
      progress.update(`${(done + n).toLocaleString('en-US')} written`, (done + n) / o.sessions);
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    await settle(masters);
    const bytesPerSession = ((await usedMemory(masters)) - fillMemBefore) / o.sessions;
    progress.done(
      `${bytesPerSession.toFixed(1)} bytes per session, ${(o.sessions / fillSeconds).toFixed(0)} sessions/s`,
    );

    const full = await measure(`${o.sessions.toLocaleString('en-US')} sessions`);

    // --- LwM2M registrations.
    const R = Math.max(1000, Math.min(20_000, Math.floor(o.sessions / 10)));
    progress.start(`${R} LwM2M registrations`);
    const regs = new RedisLwm2mRegistrationStore(port, keyNames(prefix));
    await settle(masters);
    const regBefore = await usedMemory(masters);
    for (let i = 0; i < R; i += 1000)
      await Promise.all(
        Array.from({ length: Math.min(1000, R - i) }, (_, j) => regs.put(registration(i + j), Date.now() + 300_000)),
      );
    await settle(masters);
    const bytesPerRegistration = ((await usedMemory(masters)) - regBefore) / R;
    progress.done(`${bytesPerRegistration.toFixed(0)} bytes per registration`);

    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      store: o.cluster ? `Redis Cluster (${masters.length} masters) at ${url}` : `Redis at ${url}`,
      masters: masters.length,
      sessions: o.sessions,
      bootstrap: {
        n: K,
        per_s: r2(K / seconds),
        nf_cpu_seconds: r2(cpu),
        per_core_s: r2(K / cpu),
        commands_per_bootstrap: r2(cmd.total),
        bytes_per_bootstrap: Math.round(bytesPerBootstrap),
        commands: cmd.by,
      },
      empty: { zn: empty.zn.r, psk: empty.psk.r },
      full: { zn: full.zn.r, psk: full.psk.r },
      ratio: { zn_p99: r2(full.zn.r.p99_ms / empty.zn.r.p99_ms), psk_p99: r2(full.psk.r.p99_ms / empty.psk.r.p99_ms) },
      bytes_per_session: r2(bytesPerSession),
      fill_seconds: r2(fillSeconds),
      lwm2m: { registrations: R, bytes_per_registration: Math.round(bytesPerRegistration) },
      zn_commands: empty.zn.by,
      psk_commands: empty.psk.by,
      bytes_per_subscriber: Math.round(bytesPerSubscriber),
      bytes_per_naf_key: Math.round(empty.nafKeyBytes),
    };
  } finally {
    for (const c of cleanups.reverse())
      await c().catch((err: Error) => progress.note(`bench: clean-up: ${err.message}`));
  }
}

export function renderScale(r: ScaleResults): string {
  const rows: Array<[string, string]> = [
    ['store', r.store],
    [
      'bootstraps',
      `${r.bootstrap.n} at ${r.bootstrap.per_s}/s; ${r.bootstrap.per_core_s} per NF CPU second (BSF+HSS); ${r.bootstrap.commands_per_bootstrap} Redis commands, ${r.bootstrap.bytes_per_bootstrap} bytes each`,
    ],
    [
      'Zn p50/p99, empty',
      `${r.empty.zn.p50_ms} / ${r.empty.zn.p99_ms} ms (${r.empty.zn.commands_per_request} Redis commands per lookup)`,
    ],
    [
      'PSK p50/p99, empty',
      `${r.empty.psk.p50_ms} / ${r.empty.psk.p99_ms} ms (${r.empty.psk.commands_per_request} Redis commands per lookup, NAF cache warm)`,
    ],
    [
      `filled`,
      `${r.sessions.toLocaleString('en-US')} sessions in ${r.fill_seconds} s; ${r.bytes_per_session} bytes per session`,
    ],
    [`Zn p50/p99, full`, `${r.full.zn.p50_ms} / ${r.full.zn.p99_ms} ms (p99 ratio ${r.ratio.zn_p99})`],
    [`PSK p50/p99, full`, `${r.full.psk.p50_ms} / ${r.full.psk.p99_ms} ms (p99 ratio ${r.ratio.psk_p99})`],
    ['LwM2M registration', `${r.lwm2m.bytes_per_registration} bytes each (${r.lwm2m.registrations} written)`],
    [
      'subscriber, NAF key',
      `${r.bytes_per_subscriber} bytes per subscriber, ${r.bytes_per_naf_key} bytes per cached NAF key`,
    ],
    [
      'commands/bootstrap',
      Object.entries(r.bootstrap.commands)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}
