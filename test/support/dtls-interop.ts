/** Helpers for the DTLS interop tests: an echo server on port 0, child processes that always die, a UDP proxy. */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { DtlsServer, type DtlsServerOptions, type DtlsSession } from '../../shared/psk-tls/dtls/index.js';

export const PSK_HEX = 'b0405f96ab34d0927af4ef40732ee7c646f21a8f9dbfad2f911badbd96a99c99';
export const PSK = Buffer.from(PSK_HEX, 'hex');
export const IDENTITY = '3GPP-bootstrapping.I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';

export interface EchoServer {
  server: DtlsServer;
  port: number;
  sessions: DtlsSession[];
  received: Buffer[];
  resolverCalls: { identity: string; suite: number; peer: { address: string; port: number } }[];
  events: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * A DtlsServer on 127.0.0.1:0 that echoes application data with an "echo:" prefix, or with `respond` decides the
 * answer itself (e.g. a CoAP ACK). `psk` may be a function of the identity and suite.
 */
export async function startEchoServer(
  opts: {
    psk?: Buffer | null | ((identity: string, suite: number) => Buffer | null);
    cipherSuites?: number[];
    respond?: (data: Buffer) => Buffer | undefined;
    server?: Partial<DtlsServerOptions>;
  } = {},
): Promise<EchoServer> {
  const sessions: DtlsSession[] = [];
  const received: Buffer[] = [];
  const resolverCalls: EchoServer['resolverCalls'] = [];
  const events: Record<string, unknown>[] = [];
  const server = new DtlsServer({
    pskIdentityHint: '3GPP-bootstrapping',
    cipherSuites: opts.cipherSuites ?? [0xc0a8, 0x00ae, 0x00a8],
    resolvePsk: async (identity, suite, peer) => {
      resolverCalls.push({ identity: identity.toString('utf8'), suite, peer });
      const p = opts.psk === undefined ? PSK : opts.psk;
      return typeof p === 'function' ? p(identity.toString('utf8'), suite) : p;
    },
    log: (e) => events.push(e),
    ...opts.server,
  });
  server.on('session', (s: DtlsSession) => {
    sessions.push(s);
    s.on('data', (d: Buffer) => {
      received.push(d);
      const answer = opts.respond ? opts.respond(d) : Buffer.concat([Buffer.from('echo:'), d]);
      if (answer) s.send(answer);
    });
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port, sessions, received, resolverCalls, events, close: () => server.close() };
}

/** Fails (not skips) when a third-party binary is missing (docs/CONVENTIONS.md). */
export function requireBinary(name: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`]);
  if (r.status !== 0) throw new Error(`${name} is not installed (.ci/run installs it)`);
}

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  waitForOutput(re: RegExp, ms?: number): Promise<void>;
  kill(): Promise<void>;
}

/** Spawns a process with piped stdio. Its stdin stays open until closed or killed. */
export function run(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdin.on('error', () => undefined); // EPIPE when the process already exited
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(re, ms = 8000) {
      const end = Date.now() + ms;
      while (!re.test(out + err)) {
        if (done) throw new Error(`${cmd} exited before printing ${re}: ${out}\n${err}`);
        if (Date.now() > end) throw new Error(`${cmd}: timed out waiting for ${re}: ${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async kill() {
      if (done) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Resolves with the exit status, or kills the process after `ms`. */
export async function exitWithin(p: Proc, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms);
  });
  const r = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (r === 'timeout') {
    await p.kill();
    return 'timeout';
  }
  return r;
}

/**
 * A one-client UDP relay between a DTLS client and the server, to observe server datagrams or duplicate client ones.
 */
export class UdpProxy {
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private client: { address: string; port: number } | undefined;
  readonly toServer: Buffer[] = [];
  readonly toClient: Buffer[] = [];
  /** How many copies of each client datagram to forward (2 = every datagram duplicated). */
  copies = 1;

  constructor(private readonly serverPort: number) {}

  async start(): Promise<number> {
    this.front.on('message', (msg, rinfo) => {
      this.client = { address: rinfo.address, port: rinfo.port };
      this.toServer.push(msg);
      for (let i = 0; i < this.copies; i++) this.back.send(msg, this.serverPort, '127.0.0.1');
    });
    this.back.on('message', (msg) => {
      this.toClient.push(msg);
      if (this.client) this.front.send(msg, this.client.port, this.client.address);
    });
    await new Promise<void>((r) => this.back.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => this.front.bind(0, '127.0.0.1', () => r()));
    return this.front.address().port;
  }

  async close(): Promise<void> {
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
