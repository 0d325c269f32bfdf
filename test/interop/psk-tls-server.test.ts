/**
 * The LwM2M TLS-PSK listener against real peers: Node's tls client, openssl s_client and libcoap's
 * coap-client-openssl. The key comes from an asynchronous resolver; the first handshake of a new identity
 * must succeed without a client retry.
 */
import { expect } from 'chai';
import net from 'node:net';
import tls from 'node:tls';
import { spawn, type ChildProcess } from 'node:child_process';
import { InputError } from '../../shared/errors.js';
import {
  createPskTlsServer,
  type PskTlsServer,
  type PskTlsServerOptions,
  type PskTlsSecureInfo,
  type OnSecure,
} from '../../shared/psk-tls/tls/psk-tls-server.js';
import type { PskLookupContext } from '../../shared/psk-tls/tls/psk-resolver-cache.js';
import { clientHello, flights, hs, record, vec16 } from '../support/psk-tls.js';

const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const IDENTITY = `3GPP-bootstrapping.${BTID}`;
/** 32 printable octets: libcoap 4.3.1 takes -k as literal text (docs/toolchain-notes.md §6.3). */
const KEY_TEXT = 'gba-sim-test-key-0123456789abcde';
const KEY = Buffer.from(KEY_TEXT);
const HINT = '3GPP-bootstrapping';

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---- resources every test leaves behind, closed in afterEach ----
const servers: PskTlsServer[] = [];
const sockets: net.Socket[] = [];
const children: ChildProcess[] = [];
const allLogs: Record<string, unknown>[] = [];

interface Harness {
  server: PskTlsServer;
  port: number;
  calls: { identity: string; ctx: PskLookupContext }[];
  logs: Record<string, unknown>[];
  secured: PskTlsSecureInfo[];
}

interface StartOptions extends Partial<Omit<PskTlsServerOptions, 'resolvePsk'>> {
  /** Answers of the default resolver (identity → key or null); default: IDENTITY → KEY. */
  keys?: Map<string, Buffer | null>;
  /** Async delay of the default resolver per call (ms); default 120. */
  delayMs?: (identity: string) => number;
  resolvePsk?: PskTlsServerOptions['resolvePsk'];
  onSecure?: OnSecure;
}

/** Echoes application data back: enough to prove both directions work. */
const echo: OnSecure = (socket) => {
  socket.on('data', (d: Buffer) => socket.write(d));
};

async function start(o: StartOptions = {}): Promise<Harness> {
  const calls: Harness['calls'] = [];
  const logs: Record<string, unknown>[] = [];
  const secured: PskTlsSecureInfo[] = [];
  const keys = o.keys ?? new Map([[IDENTITY, KEY]]);
  const delayMs = o.delayMs ?? (() => 120);
  const resolvePsk =
    o.resolvePsk ??
    (async (identity: string, _ctx: PskLookupContext) => {
      await sleep(delayMs(identity)); // an HTTP round trip to the NAF's PSK API
      return keys.get(identity) ?? null;
    });
  const server = createPskTlsServer(
    {
      ciphers: 'PSK-AES128-CCM8',
      pskIdentityHint: HINT,
      ...o,
      resolvePsk: (identity, ctx) => {
        calls.push({ identity, ctx });
        return resolvePsk(identity, ctx);
      },
      log: (e) => {
        logs.push(e);
        allLogs.push(e);
      },
    },
    (socket, info) => {
      // every secure connection names its remote address; the assertions below compare the rest
      expect(info.remote).to.match(/^127\.0\.0\.1:\d+$/);
      const { remote, ...rest } = info;
      void remote;
      secured.push(rest as PskTlsSecureInfo);
      (o.onSecure ?? echo)(socket, info);
    },
  );
  servers.push(server);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { server, port: (server.address() as net.AddressInfo).port, calls, logs, secured };
}

interface ClientResult {
  cipher: string;
  protocol: string | null;
  alpn: string | false;
  echo: string;
  ms: number;
}

/** A Node tls PSK client (docs/toolchain-notes.md §6.2): handshake, send a line, wait for its echo. */
function nodeClient(
  port: number,
  o: {
    identity?: string;
    key?: Buffer;
    ciphers?: string;
    minVersion?: tls.SecureVersion;
    maxVersion?: tls.SecureVersion;
    alpn?: string[];
  } = {},
): Promise<ClientResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const c = tls.connect({
      host: '127.0.0.1',
      port,
      ciphers: o.ciphers ?? 'PSK-AES128-CCM8',
      minVersion: o.minVersion ?? 'TLSv1.2',
      maxVersion: o.maxVersion ?? 'TLSv1.2',
      checkServerIdentity: () => undefined,
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
      pskCallback: () => ({ psk: o.key ?? KEY, identity: o.identity ?? IDENTITY }),
    });
    sockets.push(c);
    let secure = false;
    c.on('secureConnect', () => {
      secure = true;
      const ms = Date.now() - started;
      c.write('ping from node');
      c.once('data', (d: Buffer) => {
        resolve({
          cipher: c.getCipher().name,
          protocol: c.getProtocol(),
          alpn: c.alpnProtocol ?? false,
          echo: d.toString(),
          ms,
        });
        c.end();
      });
    });
    c.on('error', reject);
    c.on('close', () => {
      if (!secure) reject(new Error('closed before the handshake finished'));
    });
  });
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  return expect.fail('expected the handshake to fail, but it succeeded');
}

/** A raw TCP client for the misbehaving cases; resolves `closed` when the server hangs up. */
async function rawClient(port: number): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  await new Promise<void>((res) => socket.once('connect', res));
  const opened = Date.now();
  const closed = new Promise<number>((res) => socket.once('close', () => res(Date.now() - opened)));
  return { socket, closed };
}

/** Runs a third-party client; the test fails if the binary is missing. */
function run(
  cmd: string,
  args: string[],
  o: { stdin?: string; until?: RegExp; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} timed out; stdout: ${stdout}\nstderr: ${stderr}`));
    }, o.timeoutMs ?? 10_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not be started (is it installed?): ${err.message}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (o.until && o.until.test(stdout)) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve({ stdout, stderr, code: null });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    // s_client closes the connection when its stdin ends, so stdin stays open until the child is done.
    if (o.stdin !== undefined) child.stdin.write(o.stdin);
    else child.stdin.end();
  });
}

/** Minimal RFC 8323 §3.2 framing for a one-shot test responder (the real CoAP layer lives elsewhere). */
function coapResponder(payload: string): OnSecure {
  return (socket) => {
    socket.write(Buffer.of(0x00, 0xe1)); // CSM 7.01, no options: RFC 8323 §5.3.1, each side's first message
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length < 2) return;
        const lenNibble = buf[0]! >> 4;
        const tkl = buf[0]! & 0x0f;
        const extLen = lenNibble === 13 ? 1 : lenNibble === 14 ? 2 : lenNibble === 15 ? 4 : 0;
        if (buf.length < 1 + extLen) return;
        const len =
          extLen === 0
            ? lenNibble
            : extLen === 1
              ? buf[1]! + 13
              : extLen === 2
                ? buf.readUInt16BE(1) + 269
                : buf.readUInt32BE(1) + 65805;
        const total = 1 + extLen + 1 + tkl + len;
        if (buf.length < total) return;
        const code = buf[1 + extLen]!;
        const token = buf.subarray(2 + extLen, 2 + extLen + tkl);
        buf = buf.subarray(total);
        if (code === 0x01) {
          // GET → 2.05 Content with the payload
          const body = Buffer.concat([Buffer.of(0xff), Buffer.from(payload)]);
          // Len nibble, or 13 plus one extended-length octet (payloads here stay under 269 octets)
          const head =
            body.length < 13 ? Buffer.of((body.length << 4) | tkl) : Buffer.of((13 << 4) | tkl, body.length - 13);
          socket.write(Buffer.concat([head, Buffer.of(0x45), token, body]));
        } else if (code === 0xe2) {
          // Ping → Pong, RFC 8323 §5.4
          socket.write(Buffer.concat([Buffer.of(tkl, 0xe3), token]));
        }
      }
    });
  };
}

describe('LwM2M TLS-PSK listener (interop: Node tls, openssl s_client, libcoap)', function () {
  this.timeout(20_000);
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  before(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((res) => s.close(() => res()))));
    await sleep(20); // let late resolver answers and close events run while the hook still watches
    const leaked = allLogs.splice(0).filter((e) => {
      const text = JSON.stringify(e);
      return text.includes(KEY.toString('hex')) || text.includes(KEY_TEXT);
    });
    expect(leaked, 'log events that contain the key').to.deep.equal([]);
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
    unhandled = [];
  });

  describe('the first handshake of a never-seen identity succeeds, the key arriving 50–200 ms later', () => {
    it('with Node tls.connect (TLS 1.2, PSK-AES128-CCM8)', async () => {
      const h = await start();
      const r = await nodeClient(h.port);
      expect(r).to.include({ cipher: 'PSK-AES128-CCM8', protocol: 'TLSv1.2', echo: 'ping from node' });
      expect(r.ms).to.be.at.least(100); // it really waited for the resolver
      expect(h.calls).to.deep.equal([{ identity: IDENTITY, ctx: { tlsVersion: 'TLSv1.2' } }]);
      expect(h.secured).to.deep.equal([
        { pskIdentity: IDENTITY, cipher: 'PSK-AES128-CCM8', protocol: 'TLSv1.2', alpnProtocol: false },
      ]);
      expect(h.logs.map((e) => e.event)).to.include.members(['tls.client-hello', 'tls.psk-lookup', 'tls.secure']);
    });

    it('with openssl s_client -tls1_2 -psk … -cipher PSK-AES128-CCM8', async () => {
      const h = await start({ delayMs: () => 80 });
      const out = await run(
        'openssl',
        [
          's_client',
          '-tls1_2',
          '-connect',
          `127.0.0.1:${h.port}`,
          '-psk',
          KEY.toString('hex'),
          '-psk_identity',
          IDENTITY,
          '-cipher',
          'PSK-AES128-CCM8',
        ],
        { stdin: 'echo me, openssl\n', until: /echo me, openssl[\s\S]*$/ },
      );
      expect(out.stdout).to.match(/Cipher is PSK-AES128-CCM8/);
      expect(out.stdout).to.match(/Protocol\s*: TLSv1\.2/);
      expect(out.stdout).to.include('echo me, openssl'); // s_client prints only what it received
      expect(h.calls).to.have.length(1);
      expect(h.secured[0]).to.include({ pskIdentity: IDENTITY, cipher: 'PSK-AES128-CCM8' });
    });

    it('with coap-client-openssl -u … -k … coaps+tcp:// (libcoap offers no ALPN and sends an IP literal as SNI)', async () => {
      const h = await start({
        alpn: ['coap'],
        delayMs: () => 200,
        onSecure: coapResponder('hello from the lwm2m listener'),
      });
      const out = await run('coap-client-openssl', [
        '-u',
        IDENTITY,
        '-k',
        KEY_TEXT,
        '-B',
        '5',
        `coaps+tcp://127.0.0.1:${h.port}/x`,
      ]);
      expect(out.stdout, JSON.stringify(out)).to.include('hello from the lwm2m listener');
      expect(out.code).to.equal(0);
      expect(h.calls).to.have.length(1);
      expect(h.secured).to.deep.equal([
        {
          pskIdentity: IDENTITY,
          cipher: 'PSK-AES128-CCM8',
          protocol: 'TLSv1.2',
          alpnProtocol: false,
          serverName: '127.0.0.1',
        },
      ]);
    });

    it('with PSK-AES128-GCM-SHA256 configured, which the server then picks whatever the client prefers', async () => {
      const h = await start({ ciphers: 'PSK-AES128-GCM-SHA256', delayMs: () => 50 });
      const r = await nodeClient(h.port, { ciphers: 'PSK-AES128-CCM8:PSK-AES128-GCM-SHA256' });
      expect(r.cipher).to.equal('PSK-AES128-GCM-SHA256');
      const out = await run(
        'openssl',
        [
          's_client',
          '-tls1_2',
          '-connect',
          `127.0.0.1:${h.port}`,
          '-psk',
          KEY.toString('hex'),
          '-psk_identity',
          IDENTITY,
          '-cipher',
          'PSK-AES128-GCM-SHA256',
        ],
        { stdin: 'gcm echo\n', until: /gcm echo[\s\S]*$/ },
      );
      expect(out.stdout).to.match(/Cipher is PSK-AES128-GCM-SHA256/);
      expect(h.calls).to.have.length(1); // the second handshake was served from the cache
    });

    it('with TLS 1.3 when enabled (identity from the ClientHello pre_shared_key; resolver told the version)', async () => {
      const h = await start({ tls13: true, alpn: ['coap'] });
      const r = await nodeClient(h.port, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', alpn: ['coap'] });
      expect(r).to.include({ protocol: 'TLSv1.3', alpn: 'coap', echo: 'ping from node' });
      expect(r.ms).to.be.at.least(100);
      expect(h.calls).to.deep.equal([{ identity: IDENTITY, ctx: { tlsVersion: 'TLSv1.3' } }]);
      expect(h.secured[0]).to.include({ pskIdentity: IDENTITY, protocol: 'TLSv1.3' });
      // a TLS 1.2 client still gets TLS 1.2, with its own lookup
      expect((await nodeClient(h.port)).protocol).to.equal('TLSv1.2');
      expect(h.calls.map((c) => c.ctx.tlsVersion)).to.deep.equal(['TLSv1.3', 'TLSv1.2']);
    });
  });

  it('after the handshake, bulk data in both directions passes untouched (256 KiB echo)', async () => {
    const h = await start({ delayMs: () => 50, limits: { maxPendingBytes: 1024 } });
    const c = tls.connect({
      host: '127.0.0.1',
      port: h.port,
      ciphers: 'PSK-AES128-CCM8',
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: KEY, identity: IDENTITY }),
    });
    sockets.push(c);
    const data = Buffer.alloc(256 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const got: Buffer[] = [];
    let n = 0;
    await new Promise<void>((resolve, reject) => {
      c.on('error', reject);
      c.on('secureConnect', () => c.write(data));
      c.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= data.length) resolve();
      });
    });
    expect(Buffer.concat(got).equals(data)).to.equal(true);
    expect(h.server.stats()).to.include({ connections: 1, handshaking: 0 });
  });

  describe('refusals', () => {
    it('a wrong key fails the handshake for the client', async () => {
      const h = await start();
      const err = await rejection(nodeClient(h.port, { key: Buffer.alloc(32, 0x99) }));
      expect(err.code).to.match(/^ERR_SSL_/);
      expect(h.secured).to.deep.equal([]);
      expect(h.logs.find((e) => e.event === 'tls.handshake-failed')).to.include({
        reason: 'handshake-failed',
        pskIdentity: IDENTITY,
      });
    });

    it('an identity the resolver does not know gets the unknown_psk_identity alert, and "unknown" is cached', async () => {
      const h = await start({ keys: new Map() });
      const err = await rejection(nodeClient(h.port));
      expect(err.code).to.equal('ERR_SSL_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY');
      const again = await rejection(nodeClient(h.port));
      expect(again.code).to.equal('ERR_SSL_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY');
      expect(h.calls).to.have.length(1);
      expect(h.secured).to.deep.equal([]);
    });

    it('exactly the configured suite: a client offering only another suite is refused', async () => {
      const h = await start({ ciphers: 'PSK-AES128-GCM-SHA256' });
      const err = await rejection(nodeClient(h.port, { ciphers: 'PSK-AES128-CCM8' }));
      expect(err.code).to.match(/^ERR_SSL_/);
      expect(h.calls).to.have.length(0);
    });

    it('TLS 1.3 is off by default: a TLS 1.3-only client is refused', async () => {
      const h = await start();
      const err = await rejection(nodeClient(h.port, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }));
      expect(err.code).to.match(/^ERR_SSL_/);
      expect(h.calls).to.have.length(0);
    });

    it('ALPN: coap is negotiated when offered, no ALPN is accepted, another protocol is refused (RFC 7301 §3.2)', async () => {
      const h = await start({ alpn: ['coap'] });
      expect((await nodeClient(h.port, { alpn: ['coap'] })).alpn).to.equal('coap');
      expect((await nodeClient(h.port)).alpn).to.equal(false);
      const err = await rejection(nodeClient(h.port, { alpn: ['h2'] }));
      expect(err.code).to.equal('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    });

    it('rejects option values it cannot honour', () => {
      const base = { pskIdentityHint: HINT, resolvePsk: async () => null };
      for (const ciphers of ['PSK-AES128-CCM8:PSK-AES128-GCM-SHA256', 'ALL', 'AES128-SHA', 'PSK-NO-SUCH-SUITE', '']) {
        expect(() => createPskTlsServer({ ...base, ciphers }, echo), ciphers).to.throw(InputError);
      }
      expect(() =>
        createPskTlsServer({ ...base, ciphers: 'PSK-AES128-CCM8', limits: { maxPendingBytes: 0 } }, echo),
      ).to.throw(InputError);
      expect(() => createPskTlsServer({ ...base, ciphers: 'PSK-AES128-CCM8', alpn: [] }, echo)).to.throw(InputError);
    });
  });

  describe('concurrency', () => {
    it('20 concurrent first handshakes of the same new identity make exactly one resolver call', async () => {
      const h = await start({ delayMs: () => 150 });
      const results = await Promise.all(Array.from({ length: 20 }, () => nodeClient(h.port)));
      expect(results.map((r) => r.echo)).to.deep.equal(Array(20).fill('ping from node'));
      expect(h.calls).to.have.length(1);
      expect(h.secured).to.have.length(20);
    });

    it('a slow lookup does not hold up a connection whose identity is cached', async () => {
      const SLOW = '3GPP-bootstrapping.slow@bsf.example';
      const h = await start({
        keys: new Map([
          [IDENTITY, KEY],
          [SLOW, KEY],
        ]),
        delayMs: (id) => (id === SLOW ? 1500 : 20),
      });
      await nodeClient(h.port); // IDENTITY is now cached
      let slowDone = false;
      const slow = nodeClient(h.port, { identity: SLOW }).then((r) => {
        slowDone = true;
        return r;
      });
      await until(() => h.server.stats().lookupsInFlight === 1, 'the slow lookup to start');
      const fast = await nodeClient(h.port);
      expect(fast.ms).to.be.below(500);
      expect(slowDone, 'the slow handshake finished first').to.equal(false);
      expect(h.server.stats().handshaking).to.equal(1);
      expect((await slow).echo).to.equal('ping from node');
      expect(h.calls.map((c) => c.identity)).to.deep.equal([IDENTITY, SLOW]);
    });
  });

  describe('misbehaving clients and failing lookups leave nothing behind', () => {
    const empty = { connections: 0, handshaking: 0, lookupsInFlight: 0 };
    const state = (h: Harness) => {
      const s = h.server.stats();
      return { connections: s.connections, handshaking: s.handshaking, lookupsInFlight: s.lookupsInFlight };
    };

    it('garbage instead of a ClientHello: the connection is closed, the server carries on', async () => {
      const h = await start();
      const c = await rawClient(h.port);
      c.socket.write('GET / HTTP/1.1\r\nHost: lwm2m\r\n\r\n');
      await c.closed;
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(state(h)).to.deep.equal(empty);
      expect(h.logs.find((e) => e.event === 'tls.handshake-failed')).to.include({ reason: 'malformed' });
      expect((await nodeClient(h.port)).echo).to.equal('ping from node');
    });

    it('a client that disconnects halfway through its ClientHello', async () => {
      const h = await start();
      const hello = Buffer.from(flights()[0]!.clientFlightHex, 'hex').subarray(0, 60);
      const c = await rawClient(h.port);
      c.socket.write(hello);
      await sleep(30);
      c.socket.destroy();
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(state(h)).to.deep.equal(empty);
      expect(h.calls).to.have.length(0);
    });

    it('a client that disconnects while its key is being looked up; the late answer is still cached', async () => {
      const h = await start({ delayMs: () => 300 });
      const p = nodeClient(h.port).catch((e: Error) => e);
      await until(() => h.server.stats().lookupsInFlight === 1, 'the lookup to start');
      for (const s of sockets) s.destroy();
      expect(await p).to.be.instanceOf(Error);
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      await until(() => h.server.stats().lookupsInFlight === 0, 'the lookup to end');
      expect(state(h)).to.deep.equal(empty);
      expect(h.server.stats().cachedAnswers).to.equal(1);
      const r = await nodeClient(h.port);
      expect(r.ms).to.be.below(250);
      expect(h.calls).to.have.length(1);
    });

    it('a resolver that fails: the client is disconnected, nothing is cached, no unhandled rejection', async () => {
      let fail = true;
      const h = await start({
        resolvePsk: async () => {
          await sleep(60);
          if (fail) throw new Error('PSK API answered 503');
          return KEY;
        },
      });
      expect(await rejection(nodeClient(h.port))).to.be.instanceOf(Error);
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(state(h)).to.deep.equal(empty);
      expect(h.logs.find((e) => e.event === 'tls.handshake-failed')).to.include({
        reason: 'lookup-failed',
        pskIdentity: IDENTITY,
      });
      fail = false;
      expect((await nodeClient(h.port)).echo).to.equal('ping from node');
      expect(h.calls).to.have.length(2);
    });

    it('a resolver that never answers: the lookup times out and the connection is closed', async () => {
      const h = await start({
        resolvePsk: () => new Promise<Buffer | null>(() => undefined),
        limits: { resolveTimeoutMs: 150 },
      });
      const started = Date.now();
      expect(await rejection(nodeClient(h.port))).to.be.instanceOf(Error);
      expect(Date.now() - started).to.be.within(140, 2000);
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(state(h)).to.deep.equal(empty);
      expect(h.logs.find((e) => e.event === 'tls.handshake-failed')).to.include({ reason: 'lookup-failed' });
    });

    it('a client that says nothing is closed after handshakeTimeoutMs', async () => {
      const h = await start({ limits: { handshakeTimeoutMs: 200 } });
      const c = await rawClient(h.port);
      expect(await c.closed).to.be.within(150, 2000);
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(h.logs.find((e) => e.event === 'tls.handshake-failed')).to.include({ reason: 'handshake-timeout' });
    });

    it('a client that sends more than maxPendingBytes before its PSK identity is closed', async () => {
      const h = await start({ limits: { maxPendingBytes: 1024 } });
      const c = await rawClient(h.port);
      c.socket.write(Buffer.concat([Buffer.from('160303 3e80'.replace(' ', ''), 'hex'), Buffer.alloc(2000)]));
      expect(await c.closed).to.be.below(2000);
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(h.logs.find((e) => e.event === 'tls.handshake-failed')).to.include({ reason: 'too-many-bytes' });
    });

    it('connections beyond maxConnections are closed at once', async () => {
      const h = await start({ limits: { maxConnections: 2 } });
      await rawClient(h.port);
      await rawClient(h.port);
      await until(() => h.server.stats().connections === 2, 'two connections');
      const third = await rawClient(h.port);
      expect(await third.closed).to.be.below(1000);
      expect(h.logs.some((e) => e.event === 'tls.connection-dropped')).to.equal(true);
    });

    it('one connection carrying 182 ClientKeyExchanges costs at most 4 lookups (issue 18 finding 3)', async () => {
      const h = await start({ delayMs: () => 5 });
      const c = await rawClient(h.port);
      c.socket.write(
        Buffer.concat([
          record(22, hs(1, clientHello())),
          ...Array.from({ length: 182 }, (_, i) =>
            record(22, hs(16, vec16(Buffer.from(`3GPP-bootstrapping.flood-${i}`)))),
          ),
        ]),
      );
      await c.closed;
      await until(() => h.server.stats().connections === 0, 'the server to forget the connection');
      expect(h.calls.length).to.be.within(1, 4);
    });

    it('rate-limits lookups per source address and counts what it refused (issue 18 finding 3)', async () => {
      const h = await start({ delayMs: () => 5, limits: { lookupRatePerSource: 0.01, lookupBurstPerSource: 2 } });
      for (let i = 0; i < 3; i++) {
        const c = await rawClient(h.port);
        c.socket.write(
          Buffer.concat([
            record(22, hs(1, clientHello())),
            record(22, hs(16, vec16(Buffer.from(`3GPP-bootstrapping.rate-${i}`)))),
          ]),
        );
        c.socket.end();
        await c.closed;
      }
      await until(() => h.server.stats().connections === 0, 'the server to forget the connections');
      expect(h.calls.map((c) => c.identity)).to.deep.equal(['3GPP-bootstrapping.rate-0', '3GPP-bootstrapping.rate-1']);
      expect(h.server.stats().lookupsLimited).to.equal(1);
      expect(h.logs.some((e) => e.event === 'tls.psk-lookup-limited')).to.equal(true);
    });

    it('server.close() ends established and handshaking connections and calls back', async () => {
      const h = await start({
        delayMs: (id) => (id === IDENTITY ? 20 : 5000),
        keys: new Map([
          [IDENTITY, KEY],
          ['stuck', KEY],
        ]),
      });
      const est = tls.connect({
        host: '127.0.0.1',
        port: h.port,
        ciphers: 'PSK-AES128-CCM8',
        maxVersion: 'TLSv1.2',
        checkServerIdentity: () => undefined,
        pskCallback: () => ({ psk: KEY, identity: IDENTITY }),
      });
      sockets.push(est);
      est.on('error', () => undefined);
      await new Promise<void>((res) => est.once('secureConnect', () => res()));
      const estClosed = new Promise<void>((res) => est.once('close', () => res()));
      const pending = nodeClient(h.port, { identity: 'stuck' }).catch((e: Error) => e);
      const idle = await rawClient(h.port);
      await until(
        () => h.server.stats().connections === 3 && h.server.stats().lookupsInFlight === 1,
        'three connections',
      );
      await new Promise<void>((res) => h.server.close(() => res()));
      servers.splice(servers.indexOf(h.server), 1);
      await estClosed;
      await idle.closed;
      expect(await pending).to.be.instanceOf(Error);
      expect(h.server.stats().connections).to.equal(0);
    });
  });
});
