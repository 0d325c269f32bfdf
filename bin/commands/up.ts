/**
 * `gba-sim up` (contract C1): every NF that exists as its own child process, endpoints.json once all answer
 * /healthz, a short table, and a clean stop of every child on SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { addConfigOptions, configFromFlags, type FlagSpec } from '../config-flags.js';
import { exitWithProblems } from '../cli-util.js';
import { NF_ORDER, startNetwork, type Endpoints, type RunningNetwork } from '../network.js';
import { ListenFailedError, upListenMessage } from '../listen-error.js';

const UP_FLAGS: FlagSpec[] = [
  {
    flag: '--base-port <n>',
    path: '__basePort',
    description:
      'listeners at N+0 … N+6: Ub, Zn, HSS, NAF Ua, NAF PSK API, LwM2M CoAP, LwM2M REST; N+7 HSS Diameter (Zh), N+8 BSF Diameter (Zn), N+9 web console, N+10 NAF Ua HTTPS, N+11 NAF Ua TLS-PSK',
    type: 'number',
  },
  {
    flag: '--zh <transport>',
    path: 'bsf.zhTransport',
    description: 'how the BSF reaches the HSS: http (N65) | diameter (MAR/MAA); default http',
  },
  {
    flag: '--workers <n>',
    path: 'workers',
    description: 'worker processes per HTTP NF (hss-mock, bsf, naf) on the same ports, node:cluster; default 1',
    type: 'number',
  },
  {
    flag: '--zn <transport>',
    path: 'naf.znTransport',
    description: 'how the NAF reaches the BSF: http (N66) | diameter (BIR/BIA); default http',
  },
];

export function portsFromBase(base: number): Record<string, number> {
  return {
    'bsf.ubPort': base,
    'bsf.znPort': base + 1,
    'hss.port': base + 2,
    'naf.uaPort': base + 3,
    'naf.pskPort': base + 4,
    'lwm2m.port': base + 5,
    'lwm2m.apiPort': base + 6,
    'hss.diameter.port': base + 7,
    'bsf.diameter.port': base + 8,
    'console.port': base + 9,
    'naf.uaHttps.port': base + 10,
    'naf.uaPsk.port': base + 11,
  };
}

/** Each listener's place after --base-port, by config path. */
const BASE_OFFSETS: Readonly<Record<string, number>> = portsFromBase(0);

function endpointTable(e: Endpoints): string {
  const rows: Array<[string, string]> = [
    ['HSS provisioning', e.hss.provisioning],
    ['BSF Ub', `${e.bsf.ub}  (realm ${e.bsf.realm})`],
    ['BSF Zn', e.bsf.zn],
  ];
  if (e.bsf.admin) rows.push(['BSF admin', e.bsf.admin]);
  if (e.hss.diameter) rows.push(['HSS Diameter Zh', `${e.hss.diameter.uri}  (${e.hss.diameter.host})`]);
  if (e.bsf.diameter) rows.push(['BSF Diameter Zn', `${e.bsf.diameter.uri}  (${e.bsf.diameter.host})`]);
  if (e.naf) rows.push(['NAF Ua', `${e.naf.ua}device/v1/config  (${e.naf.fqdn})`], ['NAF PSK API', e.naf.pskLookup]);
  if (e.naf?.uaHttps) rows.push(['NAF Ua HTTPS', `${e.naf.uaHttps}  (CA ${e.naf.ca ?? 'as configured'})`]);
  if (e.naf?.uaPsk) rows.push(['NAF Ua TLS-PSK', e.naf.uaPsk]);
  if (e.lwm2m) {
    rows.push(['LwM2M server', `${e.lwm2m.uri}  (${e.lwm2m.fqdn}, Ua id ${e.lwm2m.uaSecProtId})`]);
    if (e.lwm2m.uriDtls) rows.push(['LwM2M DTLS', e.lwm2m.uriDtls]);
    if (e.lwm2m.api) rows.push(['LwM2M REST', e.lwm2m.api]);
  }
  if (e.console) rows.push(['Web console', e.console.url]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

/** A demo run after start-up; `signal` stops it (quietly), and `stopped` settles once it has. */
type UpDemo = (net: RunningNetwork, signal: AbortSignal) => Promise<{ stopped: Promise<void> }>;

export function registerUpCommand(
  program: Command,
  nfsThatExist: readonly (typeof NF_ORDER)[number][],
  demo?: UpDemo,
): void {
  const cmd = addConfigOptions(
    program
      .command('up')
      .description('start every network function as a child process and write <state-dir>/endpoints.json'),
    UP_FLAGS,
  );
  if (demo) cmd.option('--demo', 'also provision a demo subscriber and run a device through the whole flow');
  cmd.action(async (opts: Record<string, unknown>) => {
    const extra: Record<string, unknown> = {};
    if (opts.basePort !== undefined) {
      const base = Number(opts.basePort);
      if (!/^\d+$/.test(String(opts.basePort)) || base < 1 || base + 11 > 65535)
        exitWithProblems([`--base-port: must be 1..65524, got ${JSON.stringify(opts.basePort)}`]);
      Object.assign(extra, portsFromBase(base));
      delete opts.basePort;
    }
    const config = configFromFlags(
      opts,
      UP_FLAGS.filter((f) => f.path !== '__basePort'),
      extra,
    );
    const say = (s: string) => process.stdout.write(`${s}\n`);
    // A signal during start-up: the children see their stdin close when this process exits, and stop.
    const early = () => {
      say('interrupted during start-up');
      process.exit(130);
    };
    process.once('SIGINT', early);
    process.once('SIGTERM', early);
    let net: RunningNetwork;
    try {
      net = await startNetwork({
        config,
        nfs: nfsThatExist,
        console: true,
        // A worker starts after its primary: two Node start-ups before `ready`; a busy lab machine needs more than 20 s.
        readyTimeoutMs: config.workers > 1 ? 90_000 : 60_000,
        onEvent: (nf, line) => process.stderr.write(`[${nf}] ${line}\n`),
        // Device events for people, one line each, at info level; the JSON records stay in the log files.
        onDeviceEvent: config.log.level === 'debug' || config.log.level === 'info' ? (line) => say(line) : undefined,
        onRestart: ({ name, restarts, delayMs, why }) =>
          process.stderr.write(`[${name}] exited (${why}); restarting in ${delayMs} ms (restart ${restarts})\n`),
      });
    } catch (err) {
      const line =
        err instanceof ListenFailedError
          ? upListenMessage(err.nf, err.failure, (path) => (path in BASE_OFFSETS ? BASE_OFFSETS[path] : undefined))
          : (err as Error).message;
      process.stderr.write(`gba-sim up: ${line}\n`);
      process.exit(1);
    }
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
    say(`gba-sim network is up — store: ${net.storeReason}`);
    say(endpointTable(net.endpoints));
    say(`  endpoints     ${net.endpointsFile}`);
    say(`  logs          ${net.config.stateDir}/logs/`);
    let stopping = false;
    const demoStop = new AbortController();
    let demoStopped: Promise<void> | undefined;
    const shutdown = async (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      say(`stopping (${why}) …`);
      // The demo device goes first (it de-registers), so it never sees its network vanish.
      demoStop.abort();
      if (demoStopped) await Promise.race([demoStopped, new Promise((r) => setTimeout(r, 3000).unref())]);
      await net.stop();
      say('stopped');
      process.exit(code);
    };
    process.on('SIGINT', () => void shutdown('SIGINT', 0));
    process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
    void net.childExited.then(({ nf, code, signal }) => shutdown(`${nf} keeps exiting (last: ${signal ?? code})`, 1));
    if (demo && opts.demo) {
      try {
        demoStopped = (await demo(net, demoStop.signal)).stopped;
      } catch (err) {
        if (!stopping) process.stderr.write(`demo failed: ${(err as Error).message}\n`);
      }
      say('\nThe network keeps running: try the commands above, or press Ctrl-C to stop it.');
    } else {
      say('Press Ctrl-C to stop.');
    }
  });
}
