/**
 * Issue 18 finding 1: a peer that sends without reading must not grow the server without bound. A real LwM2M
 * server process (heap capped at 256 MB, as a small deployment would run it) is flooded over real TLS-PSK with
 * CoAP Pings (RFC 8323 §5.4, each answered by a Pong) at full speed for 8 s, once by a client that never reads
 * and once by one that does; and its REST listener gets pipelined HTTP requests from a client that never reads
 * the responses. The server's resident memory (/proc/PID/status VmRSS) must not grow by more than 200 MB, or the
 * server must close that connection; a normal device's Register afterwards gets 2.01.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Code } from '../../shared/coap/message.js';
import { csmMessage, encodeTcp, pingMessage } from '../../shared/coap/tcp.js';
import { spawnNf, type NfProcess } from '../support/nf.js';
import { connectTestDevice, registerRequest, startFakePskApi, type FakePskApi } from '../support/lwm2m.js';

const TOKEN = 'psk-api-token-0123456789abcdef';
const IMPI = '001010000000001@ims.mnc001.mcc001.pub.3gppnetwork.org';
const FLOOD_MS = 8000;
const MAX_GROWTH_BYTES = 200 * 1024 * 1024;

interface Key {
  identity: string;
  psk: Buffer;
  endpoint: string;
}
let seq = 0;
function addKey(api: FakePskApi): Key {
  const n = ++seq;
  const btid = `${Buffer.alloc(16, 0x60 + n).toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
  const k = {
    identity: `3GPP-bootstrapping.${btid}`,
    psk: Buffer.alloc(32, 0x20 + n),
    endpoint: `urn:uuid:00000000-0000-8000-8000-${String(700 + n).padStart(12, '0')}`,
  };
  api.entries.set(k.identity, {
    psk: k.psk,
    endpoint: k.endpoint,
    btid,
    impi: IMPI,
    expiresAt: () => new Date(Date.now() + 3600_000).toISOString(),
  });
  return k;
}

const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};
/** Rejects when `p` has not settled within `ms` (so a stuck server fails an assertion, not the test timeout). */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** Samples a process's resident memory every 100 ms until stopped; the peak and the first sample. */
function sampleRss(pid: number): { base: number; stop(): number } {
  const base = rssOf(pid);
  let peak = base;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      /* exited */
    }
  }, 100);
  return {
    base,
    stop: () => {
      clearInterval(t);
      try {
        peak = Math.max(peak, rssOf(pid));
      } catch {
        /* exited */
      }
      return peak;
    },
  };
}

interface FloodResult {
  sentBytes: number;
  closedByServer: boolean;
}

/** Writes `chunk` as fast as the socket takes it (respecting our own write backpressure) for FLOOD_MS. */
async function flood(socket: net.Socket, chunk: Buffer): Promise<FloodResult> {
  let closedByServer = false;
  socket.on('close', () => {
    closedByServer = true;
  });
  socket.on('error', () => undefined);
  let sentBytes = 0;
  const end = Date.now() + FLOOD_MS;
  while (Date.now() < end && !closedByServer && !socket.destroyed) {
    sentBytes += chunk.length;
    if (!socket.write(chunk)) {
      // Wait for drain, close, or the end of the flood, whichever first.
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.max(0, end - Date.now()));
        function done() {
          clearTimeout(t);
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        }
        socket.once('drain', done);
        socket.once('close', done);
      });
    } else if (sentBytes % (chunk.length * 16) === 0) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  const closed = closedByServer;
  socket.destroy();
  return { sentBytes, closedByServer: closed };
}

function connectPsk(port: number, k: Key): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ciphers: 'PSK-AES128-CCM8',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      pskCallback: () => ({ psk: k.psk, identity: k.identity }),
      checkServerIdentity: () => undefined,
    });
    s.once('error', reject);
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

describe('LwM2M server under a peer that will not read (issue 18 finding 1, real process, real TLS-PSK)', function () {
  this.timeout(60_000);
  let api: FakePskApi;
  let server: NfProcess;
  let coapPort: number;
  let apiUrl: URL;
  const figures: string[] = [];

  before(async () => {
    api = await startFakePskApi(TOKEN);
    server = await spawnNf(
      'lwm2m',
      {
        store: { kind: 'memory' },
        lwm2m: { host: '127.0.0.1', port: 0, apiPort: 0, dtls: false, pskLookupUrl: api.url, pskApiToken: TOKEN },
      },
      { env: { NODE_OPTIONS: '--max-old-space-size=256' } },
    );
    coapPort = Number(new URL(server.listeners.coapTls!.replace('coaps+tcp', 'http')).port);
    apiUrl = new URL(server.listeners.api!);
  });
  after(async () => {
    console.log(`      figures: ${figures.join('; ')}`);
    await server?.stop();
    await api?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(server.output.slice(-30).join('\n'));
  });

  /** A normal device registers and gets 2.01 (RFC 8323 over TLS, LwM2M 1.1 Register). */
  async function registerOk(): Promise<void> {
    const k = addKey(api);
    const d = await within(
      10_000,
      'the handshake',
      connectTestDevice({ port: coapPort, identity: k.identity, psk: k.psk }),
    );
    try {
      await within(5000, "the server's CSM", d.conn.whenReady());
      const res = await d.conn.request(
        registerRequest({ endpoint: k.endpoint, lwm2mVersion: '1.1', binding: 'T', lifetimeSec: 60 }),
      );
      expect(res.code).to.equal(Code.CREATED);
    } finally {
      d.close();
    }
  }

  /**
   * Floods, then has a normal device register, sampling the server's RSS throughout (the server may still be
   * working through what it buffered after the flood ends). Bounded growth, or the server closed the flooder.
   */
  async function check(
    name: string,
    run: () => Promise<FloodResult>,
    extra?: () => string,
    after?: () => Promise<void>,
  ): Promise<void> {
    const rss = sampleRss(server.child.pid!);
    let r: FloodResult | undefined;
    let peak = rss.base;
    try {
      r = await run();
      await after?.();
      await registerOk();
    } finally {
      peak = rss.stop();
      figures.push(
        `${name}: sent ${r ? mb(r.sentBytes) : '?'}${extra ? `, ${extra()}` : ''}, RSS ${mb(rss.base)} → ${mb(peak)}, closed by server: ${r?.closedByServer}`,
      );
    }
    expect(server.child.exitCode, 'the server process is alive').to.equal(null);
    if (!r!.closedByServer) expect(peak - rss.base, `RSS ${mb(rss.base)} → ${mb(peak)}`).to.be.below(MAX_GROWTH_BYTES);
  }

  // 8192 Pings (2 octets each: no token, no options) per write; one CSM first (§3.3).
  const PINGS = Buffer.concat(Array.from({ length: 8192 }, () => encodeTcp(pingMessage(Buffer.alloc(0)))));

  it('a client that floods Pings and never reads: bounded memory or closed; a Register afterwards gets 2.01', async () => {
    const s = await connectPsk(coapPort, addKey(api));
    // Never read: no 'data' listener, and the socket stops pulling from the kernel once its buffer is full.
    s.pause();
    s.write(encodeTcp(csmMessage({ maxMessageSize: 1152 })));
    await check('non-reading Ping flood', () => flood(s, PINGS));
  });

  it('a client that floods Pings and reads the Pongs: bounded memory; a Register afterwards gets 2.01', async () => {
    const s = await connectPsk(coapPort, addKey(api));
    let received = 0;
    s.on('data', (d: Buffer) => {
      received += d.length;
    });
    s.write(encodeTcp(csmMessage({ maxMessageSize: 1152 })));
    await check(
      'reading Ping flood',
      () => flood(s, PINGS),
      () => `read ${mb(received)}`,
    );
    expect(received, 'Pongs came back').to.be.above(0);
  });

  it('an HTTP client that pipelines requests and never reads: bounded memory; the API still answers', async () => {
    const s = net.connect(Number(apiUrl.port), apiUrl.hostname);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    s.pause();
    const req = Buffer.from(`GET /metrics HTTP/1.1\r\nHost: ${apiUrl.host}\r\n\r\n`);
    await check(
      'non-reading HTTP pipeline',
      () => flood(s, Buffer.concat(Array.from({ length: 512 }, () => req))),
      undefined,
      async () => {
        const h = await within(5000, '/healthz answer', fetch(new URL('/healthz', apiUrl)));
        expect(h.status).to.equal(200);
      },
    );
  });
});
