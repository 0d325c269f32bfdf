/**
 * freeDiameter 1.2.1 (Debian `freediameterd`) as an independent Diameter peer: compiles the Zh/Zn test
 * extension (test/interop/fixtures/zhzn.c) against `libfreediameter-dev`, writes a loopback-only, TCP-only,
 * TLS-less configuration, runs `freeDiameterd` and reads back what the extension recorded. Recipe:
 * docs/lab-peers.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './nf.js';
import { freePort } from './ports.js';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'fixtures', 'zhzn.c');
export const FREEDIAMETERD = '/usr/bin/freeDiameterd';

let built: string | undefined;

/** gcc against libfreediameter-dev; once per test process. Throws with the compiler's output on failure. */
export function buildZhZnExtension(): string {
  if (built) return built;
  if (!existsSync(FREEDIAMETERD))
    throw new Error('freeDiameterd is not installed (.ci/run installs freediameterd and libfreediameter-dev)');
  if (!existsSync('/usr/include/freeDiameter/extension.h'))
    throw new Error('libfreediameter-dev is not installed (.ci/run installs it)');
  const out = join(tempDir('gba-fd-ext-'), 'zhzn.fdx');
  try {
    execFileSync(
      'gcc',
      [
        '-shared',
        '-fPIC',
        '-Wall',
        '-Werror',
        '-I/usr/include/freeDiameter',
        '-o',
        out,
        SOURCE,
        '-lfdcore',
        '-lfdproto',
      ],
      { stdio: 'pipe' },
    );
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`compiling ${SOURCE} failed: ${err.stderr?.toString() ?? err.message}`);
  }
  built = out;
  return out;
}

export interface FdPeer {
  host: string;
  port: number;
}

export interface FreeDiameterOptions {
  identity: string;
  realm: string;
  /** Peers to connect to (ConnectPeer), by their Diameter identity. */
  peers: FdPeer[];
  /** RFC 3539 Tw (freeDiameter's minimum is 6 s). */
  twTimerSec?: number;
  /** Environment for the extension (ZHZN_*; see zhzn.c). */
  env?: Record<string, string>;
}

export interface FreeDiameter {
  child: ChildProcess;
  dir: string;
  /** freeDiameterd's own log (stdout and stderr). */
  log: () => string;
  /** What the extension recorded. */
  records: () => string;
  /** Sends SIGUSR1: the extension sends its requests. */
  trigger(): void;
  /** Waits until `records()` satisfies `ok`. */
  waitRecords(ok: (text: string) => boolean, timeoutMs: number, what: string): Promise<string>;
  waitLog(re: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM (freeDiameter sends DPR to its open peers), then SIGKILL if it lingers. */
  stop(): Promise<number | null>;
}

export async function startFreeDiameter(o: FreeDiameterOptions): Promise<FreeDiameter> {
  const ext = buildZhZnExtension();
  const dir = tempDir('gba-fd-');
  const out = join(dir, 'records.txt');
  writeFileSync(out, '');
  const conf = join(dir, 'freeDiameter.conf');
  // No_SCTP and no TLS_Cred/SecPort: TCP in the clear; its own listener on loopback and a free port only.
  writeFileSync(
    conf,
    [
      `Identity = "${o.identity}";`,
      `Realm = "${o.realm}";`,
      `Port = ${await freePort()};`,
      'SecPort = 0;',
      'No_SCTP;',
      'No_IPv6;',
      'NoRelay;',
      `ListenOn = "127.0.0.1";`,
      `TwTimer = ${o.twTimerSec ?? 6};`,
      'TcTimer = 1;',
      'AppServThreads = 2;',
      `LoadExtension = "${ext}";`,
      ...o.peers.map(
        (p) => `ConnectPeer = "${p.host}" { ConnectTo = "127.0.0.1"; No_TLS; No_SCTP; Port = ${p.port}; };`,
      ),
      '',
    ].join('\n'),
  );
  const lines: string[] = [];
  const child = spawn(FREEDIAMETERD, ['-c', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ZHZN_OUT: out, ...o.env },
  });
  child.stdout!.on('data', (d: Buffer) => lines.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
  const records = () => readFileSync(out, 'utf8');
  const log = () => lines.join('');
  const wait = async (ok: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (child.exitCode !== null) throw new Error(`freeDiameterd exited ${child.exitCode} before ${what}:\n${log()}`);
      if (Date.now() > deadline)
        throw new Error(
          `freeDiameterd: no ${what} within ${timeoutMs} ms\n--- records\n${records()}\n--- log\n${log().slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const fd: FreeDiameter = {
    child,
    dir,
    log,
    records,
    trigger: () => {
      child.kill('SIGUSR1');
    },
    waitRecords: async (ok, timeoutMs, what) => {
      await wait(() => ok(records()), timeoutMs, what);
      return records();
    },
    waitLog: (re, timeoutMs) => wait(() => re.test(log()), timeoutMs, `log line ${re}`),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
        child.once('exit', (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
  await fd.waitRecords((t) => t.includes('READY'), 10000, 'extension start-up (READY)');
  return fd;
}

export interface FdAvp {
  depth: number;
  name: string;
  code: number;
  vendor: number;
  flags: number;
  value: string;
}
export interface FdAnswer {
  tag: string;
  cmd: number;
  app: number;
  flags: number;
  avps: FdAvp[];
}

/** The answers the extension recorded, by tag. */
export function parseRecords(text: string): Map<string, FdAnswer> {
  const out = new Map<string, FdAnswer>();
  let cur: FdAnswer | undefined;
  for (const line of text.split('\n')) {
    const a = /^ANSWER (\S+) cmd=(\d+) app=(\d+) flags=([0-9a-f]{2})$/.exec(line);
    if (a) {
      cur = { tag: a[1]!, cmd: Number(a[2]), app: Number(a[3]), flags: parseInt(a[4]!, 16), avps: [] };
      continue;
    }
    const v = /^AVP (\d+) (\S+) (\d+) (\d+) ([0-9a-f]{2}) (.*)$/.exec(line);
    if (v && cur) {
      cur.avps.push({
        depth: Number(v[1]),
        name: v[2]!,
        code: Number(v[3]),
        vendor: Number(v[4]),
        flags: parseInt(v[5]!, 16),
        value: v[6]!,
      });
      continue;
    }
    const e = /^END (\S+)$/.exec(line);
    if (e && cur) {
      out.set(cur.tag, cur);
      cur = undefined;
    }
  }
  return out;
}
