/**
 * Runs the whole network as child processes, the way `gba-sim up` does (and tests and benchmarks reuse):
 * plans ports and tokens, writes the children's configuration, starts every NF, waits for each `ready` line
 * and /healthz, and writes endpoints.json (contract C2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { RotatingLog } from './rotating-log.js';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nafUaTlsPorts, redactConfig, type ResolvedConfig } from '../shared/config.js';
import { redactUrlCredentials, writePrivateFile } from '../shared/redact.js';
import { packageRoot } from '../shared/assets.js';
import { freePort } from '../shared/net/free-port.js';
import { newToken } from '../shared/nf/runtime.js';
import { resolveStoreKind } from '../shared/store/open.js';
import { Supervisor } from './supervisor.js';
import { startEmbeddedRedis } from './embedded-redis.js';
import { ensureLabTls } from './lab-ca.js';
import { humanDeviceEvent, type LogRecord } from './device-events.js';
import { LISTEN_FAILED_EVENT, ListenFailedError, type ListenFailure } from './listen-error.js';
import { NF_ORDER, type DiameterEndpoint, type Endpoints, type NfName } from '../shared/endpoints.js';

// endpoints.json's shape and the NF names live in shared/ so that bench/ and the tests need not import bin/.
export { NF_ORDER, type DiameterEndpoint, type Endpoints, type NfName };
import { bsfDiameterPort, diameterIdentity, hssDiameterPort } from '../shared/diameter/identity.js';

interface NetworkOptions {
  config: ResolvedConfig;
  /** Which NFs to start (default: all that exist). */
  nfs?: readonly NfName[];
  /** Where children's logs go; default <stateDir>/logs. */
  logDir?: string;
  /** Called with each line a child logs at warn/error level, and on child exit. */
  onEvent?: (nf: NfName, line: string) => void;
  readyTimeoutMs?: number;
  /** Also start the web console (`gba-sim console`) as a supervised child (what `up` does). */
  console?: boolean;
  /** One human line per device event (bin/device-events.ts). */
  onDeviceEvent?: (line: string) => void;
  /** A child died and is being restarted, or keeps dying (then childExited resolves). */
  onRestart?: (info: { name: string; restarts: number; delayMs: number; why: string }) => void;
}

export interface RunningNetwork {
  endpoints: Endpoints;
  config: ResolvedConfig;
  storeReason: string;
  endpointsFile: string;
  children: Map<NfName, ChildProcess>;
  /** Restarts so far, by child (NF name or "console"). */
  restarts(): Record<string, number>;
  /** Resolves when any child exits on its own (the network is then incomplete). */
  childExited: Promise<{ nf: NfName; code: number | null; signal: string | null }>;
  stop(): Promise<void>;
}

/** Fills in ports (0 → a free one), tokens, URLs and the BSF's NAF allow-list, so children agree. */
export async function planNetwork(
  c: ResolvedConfig,
  nfs: readonly NfName[],
): Promise<{ config: ResolvedConfig; storeReason: string }> {
  const cfg = structuredClone(c) as ResolvedConfig;
  const pick = async (p: number) => (p === 0 ? freePort() : p);
  // The Diameter defaults follow hss.port / bsf.znPort being 0 ("pick free ports"), so read them first.
  const hssDia = hssDiameterPort(cfg);
  const bsfDia = bsfDiameterPort(cfg);
  cfg.hss.port = await pick(cfg.hss.port);
  cfg.bsf.ubPort = await pick(cfg.bsf.ubPort);
  cfg.bsf.znPort = await pick(cfg.bsf.znPort);
  cfg.naf.uaPort = await pick(cfg.naf.uaPort);
  cfg.naf.pskPort = await pick(cfg.naf.pskPort);
  cfg.lwm2m.port = await pick(cfg.lwm2m.port);
  cfg.lwm2m.apiPort = await pick(cfg.lwm2m.apiPort);
  cfg.hss.diameter.port = await pick(hssDia);
  cfg.bsf.diameter.port = await pick(bsfDia);

  cfg.console.port = await pick(cfg.console.port);
  if (nfs.includes('naf')) {
    // C11: Ua over HTTPS with a certificate from the lab CA (unless configured), and Ua over TLS-PSK.
    cfg.naf.uaHttps.port = await pick(nafUaTlsPorts(cfg).https);
    cfg.naf.uaPsk.port = await pick(nafUaTlsPorts(cfg).psk);
    cfg.naf.uaPsk.enabled = true;
    if (!cfg.naf.uaHttps.cert || !cfg.naf.uaHttps.key) {
      const lab = ensureLabTls(cfg.stateDir, cfg.naf.fqdn);
      Object.assign(cfg.naf.uaHttps, { cert: lab.cert, key: lab.key, ca: lab.ca });
    }
  }
  const store = await resolveStoreKind(cfg.store.kind, cfg.store.redisUrl);
  cfg.store.kind = store.kind;
  cfg.store.redisUrl = store.redisUrl;

  const url = (host: string, port: number) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  // C5: one admin token opens every admin API; provisioning keeps accepting hss.adminToken, set to the same.
  cfg.admin.token ??= newToken();
  cfg.hss.adminToken ??= cfg.admin.token;
  cfg.bsf.hssToken ??= newToken();
  if (!cfg.hss.zhTokens.includes(cfg.bsf.hssToken)) cfg.hss.zhTokens = [...cfg.hss.zhTokens, cfg.bsf.hssToken];
  cfg.bsf.hssUrl ??= url(cfg.hss.host, cfg.hss.port);
  // C5: Diameter identities, and Zh open to the BSF's identity only.
  const aaa = (host: string, port: number) => `aaa://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port};transport=tcp`;
  for (const nf of ['hss', 'bsf', 'naf'] as const) Object.assign(cfg[nf].diameter, diameterIdentity(cfg, nf));
  if (!cfg.hss.diameter.allowedPeers.includes(cfg.bsf.diameter.host!))
    cfg.hss.diameter.allowedPeers = [...cfg.hss.diameter.allowedPeers, cfg.bsf.diameter.host!];
  cfg.bsf.diameter.hssUri ??= aaa(cfg.hss.host, cfg.hss.diameter.port);
  cfg.bsf.diameter.hssRealm ??= cfg.hss.diameter.realm;
  cfg.bsf.diameter.hssHost ??= cfg.hss.diameter.host;

  if (nfs.includes('naf')) {
    cfg.naf.znToken ??= newToken();
    cfg.naf.znUrl ??= `${url(cfg.bsf.host, cfg.bsf.znPort)}/nbsp-gba/v1`;
    cfg.naf.pskApiToken ??= newToken();
    cfg.naf.lwm2m.uri ??= `coaps+tcp://127.0.0.1:${cfg.lwm2m.port}`;
    if (nfs.includes('lwm2m') && cfg.lwm2m.dtls) cfg.naf.lwm2m.uriDtls ??= `coaps://127.0.0.1:${cfg.lwm2m.port}`;
    // Contract C3: the NAF acts for its own FQDN (Ua HTTP Digest) and for the LwM2M server it serves keys to.
    if (!cfg.bsf.nafs.some((n) => n.token === cfg.naf.znToken)) {
      cfg.bsf.nafs = [
        ...cfg.bsf.nafs,
        {
          name: 'naf',
          token: cfg.naf.znToken,
          group: 'lwm2m',
          // FQDN-level allow-list (C3); the Ua id varies for the LwM2M server (one per (D)TLS suite).
          fqdns: [{ fqdn: cfg.naf.fqdn }, { fqdn: cfg.naf.lwm2m.fqdn }],
          diameterHost: cfg.naf.diameter.host,
        },
      ];
    }
    cfg.naf.diameter.bsfUri ??= aaa(cfg.bsf.host, cfg.bsf.diameter.port);
    cfg.naf.diameter.bsfRealm ??= cfg.bsf.diameter.realm;
    cfg.naf.diameter.bsfHost ??= cfg.bsf.diameter.host;
  }
  if (nfs.includes('lwm2m')) {
    cfg.lwm2m.pskLookupUrl ??= `${url(cfg.naf.host, cfg.naf.pskPort)}/naf/v1/psk-lookup`;
    cfg.lwm2m.pskApiToken ??= cfg.naf.pskApiToken;
  }
  return {
    config: cfg,
    storeReason: `${store.reason}${cfg.store.cluster ? ' (Redis Cluster seed node)' : ''}${cfg.workers > 1 ? `; ${cfg.workers} workers per HTTP NF` : ''}`,
  };
}

function endpointsOf(cfg: ResolvedConfig, nfs: readonly NfName[]): Endpoints {
  const h = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host);
  const e: Endpoints = {
    hss: { provisioning: `http://${h(cfg.hss.host)}:${cfg.hss.port}/provisioning/v1`, adminToken: cfg.hss.adminToken! },
    bsf: {
      ub: `http://${h(cfg.bsf.host)}:${cfg.bsf.ubPort}/`,
      realm: cfg.bsf.domain,
      zn: `http://${h(cfg.bsf.host)}:${cfg.bsf.znPort}/nbsp-gba/v1`,
      admin: `http://${h(cfg.bsf.host)}:${cfg.bsf.znPort}/admin/v1`,
    },
  };
  const dia = (nf: 'hss' | 'bsf', host: string, port: number): DiameterEndpoint => ({
    uri: `aaa://${h(host)}:${port};transport=tcp`,
    ...diameterIdentity(cfg, nf),
  });
  e.hss.diameter = dia('hss', cfg.hss.host, hssDiameterPort(cfg));
  e.bsf.diameter = dia('bsf', cfg.bsf.host, bsfDiameterPort(cfg));
  if (nfs.includes('naf')) {
    e.naf = {
      fqdn: cfg.naf.fqdn,
      ua: `http://${h(cfg.naf.host)}:${cfg.naf.uaPort}/`,
      pskLookup: `http://${h(cfg.naf.host)}:${cfg.naf.pskPort}/naf/v1/psk-lookup`,
      pskApiToken: cfg.naf.pskApiToken!,
    };
    e.naf.diameter = diameterIdentity(cfg, 'naf');
    if (cfg.naf.uaHttps.cert && cfg.naf.uaHttps.key)
      e.naf.uaHttps = `https://${h(cfg.naf.host)}:${nafUaTlsPorts(cfg).https}/`;
    if (cfg.naf.uaPsk.enabled) e.naf.uaPsk = `https://${h(cfg.naf.host)}:${nafUaTlsPorts(cfg).psk}/`;
    if (cfg.naf.uaHttps.ca) e.naf.ca = cfg.naf.uaHttps.ca;
    // C2: fqdn and uaSecProtId are NAF configuration, present as soon as the NAF is.
    e.lwm2m = { fqdn: cfg.naf.lwm2m.fqdn, uri: cfg.naf.lwm2m.uri!, uaSecProtId: cfg.naf.lwm2m.uaSecProtId };
  }
  if (nfs.includes('lwm2m') && e.lwm2m) {
    e.lwm2m.api = `http://${h(cfg.lwm2m.apiHost)}:${cfg.lwm2m.apiPort}/`;
    if (cfg.lwm2m.dtls) e.lwm2m.uriDtls = `coaps://127.0.0.1:${cfg.lwm2m.port}`;
  }
  e.store = {
    kind: cfg.store.kind as 'redis' | 'memory',
    ...(cfg.store.redisUrl ? { redisUrl: cfg.store.redisUrl } : {}),
  };
  e.homeNetwork = cfg.homeNetwork;
  if (cfg.admin.token) e.admin = { token: cfg.admin.token };
  return e;
}

async function healthy(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url}/healthz did not answer 200`);
}

export async function startNetwork(o: NetworkOptions): Promise<RunningNetwork> {
  const nfs = o.nfs ?? NF_ORDER;
  // C1/C5: `auto` without a URL gets a private redis-server with its data in the state dir (never 6379).
  const embedded =
    o.config.store.kind === 'auto' && !o.config.store.redisUrl
      ? await startEmbeddedRedis(o.config.stateDir)
      : undefined;
  const { config, storeReason } = await planNetwork(
    embedded ? { ...o.config, store: { ...o.config.store, kind: 'redis', redisUrl: embedded.url } } : o.config,
    nfs,
  );
  const reason = embedded
    ? `private redis-server at ${embedded.url}, append-only file in ${embedded.dir}`
    : o.config.store.kind === 'auto' && !o.config.store.redisUrl
      ? 'in-memory store: redis-server is not on the PATH (state is per process and lost on exit; install redis-server or pass --redis-url)'
      : storeReason;
  const dir = config.stateDir;
  rmSync(join(dir, 'endpoints.json'), { force: true }); // a stale one from an earlier run would mislead
  const logDir = o.logDir ?? join(dir, 'logs');
  mkdirSync(join(dir, 'run'), { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const runConfig = join(dir, 'run', 'config.json');
  // run/config.json and endpoints.json keep the secrets the children and clients need; only the owner reads them.
  // effective-config.json is for people: redacted, and 0600 all the same.
  writePrivateFile(runConfig, JSON.stringify(config, null, 2));
  writePrivateFile(join(dir, 'effective-config.json'), `${JSON.stringify(redactConfig(config), null, 2)}\n`);

  const cli = join(packageRoot(), 'dist', 'bin', 'gba-sim.js');
  const children = new Map<NfName, ChildProcess>();
  const supervisors = new Map<string, Supervisor>();
  const logs = new Map<string, RotatingLog>();
  let stopping = false;
  let exited!: (v: { nf: NfName; code: number | null; signal: string | null }) => void;
  const childExited = new Promise<{ nf: NfName; code: number | null; signal: string | null }>((r) => {
    exited = r;
  });

  const readyTimeoutMs = o.readyTimeoutMs ?? 20_000;
  // Each child is `gba-sim <nf> --config …`, supervised: restarted as the same kind of child when it dies.
  const startChild = (nf: NfName | 'console') =>
    new Promise<Record<string, string>>((resolve, reject) => {
      const logFile = join(logDir, `${nf}.log`);
      // Bounded: log.maxFileBytes per file, log.keepFiles rotated ones (bin/rotating-log.ts).
      const log =
        logs.get(nf) ?? new RotatingLog(logFile, { maxBytes: config.log.maxFileBytes, keep: config.log.keepFiles });
      logs.set(nf, log);
      const timer = setTimeout(
        () => reject(new Error(`${nf} did not become ready within ${readyTimeoutMs} ms (see ${logFile})`)),
        readyTimeoutMs,
      );
      let listenFailed: ListenFailure | undefined; // the child could not take a port (bin/listen-error.ts)
      const spawnOne = (): ChildProcess => {
        // stdin stays an open pipe: a child exits when it ends, so children never outlive this process.
        const child = spawn(process.execPath, [cli, nf, '--config', runConfig], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, REDIS_URL: '', GBA_STORE: '', GBA_SIM_SUPERVISED: '1' },
        });
        if (nf !== 'console') children.set(nf, child);
        createInterface({ input: child.stdout! }).on('line', (raw) => {
          // Whatever a child prints, no URL password reaches logs/* or up's output.
          const line = redactUrlCredentials(raw);
          log.write(`${line}\n`);
          let rec: (LogRecord & { listeners?: Record<string, string> }) | undefined;
          try {
            rec = JSON.parse(line);
          } catch {
            rec = undefined;
          }
          if (rec?.event === 'ready') {
            clearTimeout(timer);
            resolve(rec.listeners ?? {});
          }
          if (rec?.event === LISTEN_FAILED_EVENT) {
            const f = rec as unknown as ListenFailure;
            listenFailed = { code: f.code, host: f.host, port: f.port, path: f.path };
          } else if (rec?.level === 'warn' || rec?.level === 'error') o.onEvent?.(nf as NfName, line);
          if (rec && o.onDeviceEvent) {
            const h = humanDeviceEvent(nf, rec);
            if (h) o.onDeviceEvent(h);
          }
        });
        createInterface({ input: child.stderr! }).on('line', (raw) => {
          const line = redactUrlCredentials(raw);
          log.write(`${line}\n`);
          o.onEvent?.(nf as NfName, line);
        });
        return child;
      };
      const sup = new Supervisor({
        name: nf,
        spawn: spawnOne,
        onEarlyExit: ({ why }) => {
          clearTimeout(timer);
          // 'close' follows 'exit' once the child's stdout is read to the end, so its last record has been seen.
          sup.child.once('close', () =>
            reject(
              listenFailed
                ? new ListenFailedError(nf, listenFailed)
                : new Error(`${nf} exited (${why}) before it was ready; see ${logFile}`),
            ),
          );
        },
        onRestart: (info) => {
          log.write(
            `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), event: 'supervisor.restart', ...info })}\n`,
          );
          o.onRestart?.(info);
        },
        onGiveUp: ({ why, deathsInWindow }) => {
          if (stopping) return;
          o.onEvent?.(nf as NfName, `exited (${why}) ${deathsInWindow} times within a minute: giving up`);
          exited({
            nf: nf as NfName,
            code: /^\d+$/.test(why) ? Number(why) : null,
            signal: /^\d+$/.test(why) ? null : why,
          });
        },
      });
      supervisors.set(nf, sup);
    });
  const ready = nfs.map((nf) =>
    startChild(nf).then((l) => {
      supervisors.get(nf)!.arm();
      return l;
    }),
  );

  const stop = async () => {
    stopping = true;
    // Every NF gets SIGTERM: it stops accepting, finishes what is in flight (bounded), closes its store.
    await Promise.all([...supervisors.values()].map((sup) => sup.stop(5000)));
    for (const l of logs.values()) l.close();
    await embedded?.stop();
  };

  const h = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host);
  try {
    await Promise.all(ready);
    const deadline = Date.now() + readyTimeoutMs;
    const checks = [
      `http://${h(config.hss.host)}:${config.hss.port}`,
      `http://${h(config.bsf.host)}:${config.bsf.ubPort}`,
      `http://${h(config.bsf.host)}:${config.bsf.znPort}`,
    ];
    if (nfs.includes('naf'))
      checks.push(
        `http://${h(config.naf.host)}:${config.naf.uaPort}`,
        `http://${h(config.naf.host)}:${config.naf.pskPort}`,
      );
    if (nfs.includes('lwm2m')) checks.push(`http://${h(config.lwm2m.apiHost)}:${config.lwm2m.apiPort}`);
    await Promise.all(checks.map((u) => healthy(u, deadline)));
  } catch (err) {
    await stop();
    throw err;
  }
  const endpoints = endpointsOf(config, nfs);
  if (embedded) endpoints.store = { ...endpoints.store!, embedded: true, dir: embedded.dir };
  const endpointsFile = join(dir, 'endpoints.json');
  const writeEndpoints = () => writePrivateFile(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  if (o.console) {
    // The console reads endpoints.json for its upstreams when it serves a page, so it may start before the file is written.
    try {
      await startChild('console');
      supervisors.get('console')!.arm();
      endpoints.console = { url: `http://${h(config.console.host)}:${config.console.port}/` };
    } catch (err) {
      await stop();
      throw err;
    }
  }
  writeEndpoints();
  const restarts = () => Object.fromEntries([...supervisors].map(([n, sup]) => [n, sup.restarts]));
  return { endpoints, config, storeReason: reason, endpointsFile, children, restarts, childExited, stop };
}
