/**
 * The network under test: one the bench starts itself (bin/network.ts: every NF a child process on free
 * ports) or one already running, named by its endpoints.json. Either way the phases get the same view:
 * endpoints, the NAF's Zn token, the processes to watch, and how to tidy up.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigSchema, derive, type ResolvedConfig } from '../shared/config.js';
import type { Endpoints, NfName } from '../shared/endpoints.js';
import { redactUrlCredentials } from '../shared/redact.js';

/**
 * What the bench needs of the network launcher (bin/network.ts's startNetwork). The CLI hands it in, so
 * bench/ never imports bin/ (bin/commands/bench.ts imports bench/; test/unit/repo/architecture.test.ts).
 */
export type StartNetwork = (o: {
  config: ResolvedConfig;
  nfs: readonly NfName[];
  onEvent?: (nf: NfName, line: string) => void;
  readyTimeoutMs?: number;
}) => Promise<{
  endpoints: Endpoints;
  config: ResolvedConfig;
  storeReason: string;
  children: ReadonlyMap<NfName, { pid?: number }>;
  stop(): Promise<void>;
}>;

export interface NetworkTarget {
  endpoints: Endpoints;
  /** Home network and the BSF's domain, for IMPIs and B-TIDs. */
  homeNetwork: { mcc: string; mnc: string };
  /** The NAF's bearer token at the BSF's Zn (undefined when it cannot be known). */
  znToken?: string;
  znTokenProblem?: string;
  /** The BSF's N65 token at the HSS (run/config.json bsf.hssToken), for the N65 phase. */
  hssToken?: string;
  /** Processes to watch during phases (name → pid). */
  pids: Record<string, number | undefined>;
  /** The BSF's default key lifetime. */
  lifetimeSec: number;
  /** True when the bench started the network (and so may do anything to it). */
  own: boolean;
  /** What the NFs' store is. */
  storeReason: string;
  stop(): Promise<void>;
}

interface OwnNetworkOptions {
  redisUrl: string;
  /** redisUrl is a Redis Cluster seed node. */
  cluster?: boolean;
  prefix: string;
  nfs: readonly NfName[];
  /** Extra environment for the NF children (e.g. NODE_OPTIONS=--cpu-prof). */
  childEnv?: Record<string, string>;
  /** info or debug: startNetwork waits for each NF's `ready` line, an info line. */
  logLevel: 'debug' | 'info';
  onEvent?: (nf: string, line: string) => void;
  /** Told the state directory as soon as it exists, so an interrupted start-up can still remove it. */
  onStateDir?: (dir: string) => void;
  startNetwork: StartNetwork;
}

export async function startOwnNetwork(o: OwnNetworkOptions): Promise<NetworkTarget> {
  const stateDir = mkdtempSync(join(tmpdir(), 'gba-sim-bench-'));
  o.onStateDir?.(stateDir);
  const config: ResolvedConfig = derive(
    ConfigSchema.parse({
      stateDir,
      store: { kind: 'redis', redisUrl: o.redisUrl, prefix: o.prefix, cluster: !!o.cluster },
      log: { level: o.logLevel },
      // Every listener on a free port, the Diameter ones too (their defaults are the fixed 3868/3869).
      hss: { port: 0, diameter: { port: 0 } },
      bsf: { ubPort: 0, znPort: 0, diameter: { port: 0 } },
      naf: { uaPort: 0, pskPort: 0 },
      lwm2m: { port: 0, apiPort: 0 },
    }),
  );
  // startNetwork passes its own environment on to the children: set the extras only while it spawns them.
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(o.childEnv ?? {})) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  let net: Awaited<ReturnType<StartNetwork>>;
  try {
    net = await o.startNetwork({ config, nfs: o.nfs, onEvent: o.onEvent, readyTimeoutMs: 30_000 });
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const pids: Record<string, number | undefined> = {};
  for (const [nf, child] of net.children) pids[nf === 'hss-mock' ? 'hss' : nf] = child.pid;
  return {
    endpoints: net.endpoints,
    homeNetwork: net.config.homeNetwork,
    znToken: net.config.naf.znToken,
    hssToken: net.config.bsf.hssToken,
    pids,
    lifetimeSec: net.config.bsf.lifetimeSec,
    own: true,
    storeReason: net.storeReason,
    stop: async () => {
      await net.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A running network from its endpoints.json. The NAF's Zn token is not in endpoints.json (C2); `gba-sim up`
 * keeps the effective configuration, tokens included, in run/config.json beside it, so it is read from there.
 */
export function existingNetwork(endpointsFile: string): NetworkTarget {
  const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Endpoints;
  if (!endpoints.hss?.provisioning || !endpoints.bsf?.ub)
    throw new Error(`${endpointsFile}: not a gba-sim endpoints.json (hss.provisioning and bsf.ub are required)`);
  let znToken: string | undefined;
  let znTokenProblem: string | undefined;
  let hssToken: string | undefined;
  let lifetimeSec = 3600;
  const runConfig = join(dirname(endpointsFile), 'run', 'config.json');
  if (existsSync(runConfig)) {
    try {
      const c = JSON.parse(readFileSync(runConfig, 'utf8')) as ResolvedConfig;
      znToken = c.naf?.znToken;
      hssToken = c.bsf?.hssToken;
      lifetimeSec = c.bsf?.lifetimeSec ?? lifetimeSec;
      if (!znToken) znTokenProblem = `${runConfig} names no naf.znToken`;
    } catch (err) {
      znTokenProblem = `${runConfig}: ${(err as Error).message}`;
    }
  } else {
    znTokenProblem = `the NAF's Zn token is not in endpoints.json and ${runConfig} does not exist`;
  }
  return {
    endpoints,
    homeNetwork: endpoints.homeNetwork ?? { mcc: '001', mnc: '01' },
    znToken,
    znTokenProblem,
    hssToken,
    lifetimeSec,
    pids: {},
    own: false,
    storeReason:
      endpoints.store?.kind === 'redis'
        ? `Redis at ${redactUrlCredentials(endpoints.store.redisUrl ?? '')}`
        : (endpoints.store?.kind ?? 'unknown store'),
    stop: async () => {},
  };
}
