/**
 * The hostile-input campaign against a running network (`gba-sim up`; issue 18 "keep the campaign"): seeded inputs
 * from gen-http.ts and gen-wire.ts go to every listener — Ub, Zn, the NAF PSK API, DTLS before and after the cookie,
 * CoAP inside real TLS and DTLS sessions of a bootstrapped device, Diameter Zh and Zn — and the report counts the
 * answers per target, the answers that are server errors (HTTP 5xx, CoAP 5.xx, DTLS internal_error), NF restarts
 * seen by up's supervisor (logs/*.log) and each NF's resident memory before and after (/metrics).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { request as httpRequest, Agent } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import tls from 'node:tls';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Endpoints } from '../../shared/endpoints.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { opensslSuiteForUaId } from '../../device/tls-transport.js';
import { ksNaf } from '../../shared/crypto/kdf.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { TestPeer } from '../support/dtls-test-peer.js';
import { jsonInput, pskBody, ubInput, znBody, type HttpInput } from './gen-http.js';
import { coapTcpFrame, coapUdpMessage, diameterFrame, dtlsDatagram } from './gen-wire.js';

export const TARGETS = [
  'ub',
  'zn',
  'psk',
  'dtls-pre-cookie',
  'dtls-post-cookie',
  'coap-tls',
  'coap-dtls',
  'diameter-zh',
  'diameter-zn',
] as const;
export type Target = (typeof TARGETS)[number];

export interface CampaignOptions {
  /** endpoints.json of the network; its directory is the state directory (run/config.json, logs/). */
  endpointsFile: string;
  seed: number;
  count: number;
  concurrency?: number;
  progress?: (line: string) => void;
}

export interface CampaignReport {
  seed: number;
  count: number;
  durationMs: number;
  targets: Record<string, { inputs: number; outcomes: Record<string, number> }>;
  /** HTTP 5xx, CoAP 5.xx, DTLS internal_error (80): none allowed. */
  serverErrors: number;
  serverErrorSamples: Array<{ target: string; index: number; outcome: string }>;
  restarts: { before: number; after: number };
  healthyAfter: boolean;
  memory: Record<string, { beforeBytes: number; afterBytes: number }>;
}

/** The seed of input `i` of a campaign seeded `seed` (each generator mixes in its own constant). */
export const inputSeed = (seed: number, i: number): number => (Math.imul(seed, 1_000_003) + i) >>> 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function countRestarts(stateDir: string): number {
  const dir = join(stateDir, 'logs');
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir))
    n += (readFileSync(join(dir, f), 'utf8').match(/"event":"supervisor\.restart"/g) ?? []).length;
  return n;
}

function nfBases(e: Endpoints): Record<string, string> {
  const origin = (u: string) => new URL(u).origin;
  return {
    'hss-mock': origin(e.hss.provisioning),
    bsf: origin(e.bsf.ub),
    ...(e.naf ? { naf: origin(e.naf.ua) } : {}),
    ...(e.lwm2m?.api ? { lwm2m: origin(e.lwm2m.api) } : {}),
  };
}

async function rss(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function healthy(e: Endpoints): Promise<boolean> {
  for (const b of Object.values(nfBases(e))) {
    try {
      if ((await fetch(`${b}/healthz`, { signal: AbortSignal.timeout(5000) })).status !== 200) return false;
    } catch {
      return false;
    }
  }
  return true;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function sendHttp(base: string, i: HttpInput): Promise<string> {
  return new Promise((resolve) => {
    let req;
    try {
      const u = new URL(base);
      req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          method: i.method,
          path: i.path,
          headers: { ...i.headers, ...(i.body !== undefined ? { 'content-length': Buffer.byteLength(i.body) } : {}) },
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
          res.on('error', () => resolve(String(res.statusCode)));
        },
      );
    } catch {
      resolve('not-sendable'); // the client library refuses the header (e.g. a character outside Latin-1)
      return;
    }
    req.setTimeout(15_000, () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code ?? err.message}`));
    req.end(i.body);
  });
}

/** One UDP exchange: send, collect answers for `waitMs`. */
function udpExchange(port: number, datagrams: Buffer[], waitMs: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const s: UdpSocket = createSocket('udp4');
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    s.on('error', () => undefined);
    s.bind(0, '127.0.0.1', () => {
      for (const d of datagrams) s.send(d, port, '127.0.0.1');
      setTimeout(() => {
        s.close();
        resolve(got);
      }, waitMs);
    });
  });
}

/** What a DTLS answer datagram is: HelloVerifyRequest, ServerHello, an alert (with its description), other. */
function dtlsOutcome(got: Buffer[]): string {
  if (!got.length) return 'silent';
  const d = got[0]!;
  if (d[0] === 21) return `alert:${d.length >= 15 ? d[14] : '?'}`;
  if (d[0] === 22 && d.length > 13)
    return d[13] === 3 ? 'hello-verify-request' : d[13] === 2 ? 'server-hello' : `handshake:${d[13]}`;
  return `content-type:${d[0]}`;
}

/** Codes of the CoAP over TCP frames in `buf` (RFC 8323 §3.2), as "c.dd". */
function coapTcpCodes(buf: Buffer): string[] {
  const codes: string[] = [];
  let o = 0;
  while (o < buf.length) {
    const len = buf[o]! >> 4,
      tkl = buf[o]! & 15;
    const extLen = len === 13 ? 1 : len === 14 ? 2 : len === 15 ? 4 : 0;
    if (o + 1 + extLen >= buf.length) break;
    const l =
      len < 13
        ? len
        : len === 13
          ? buf[o + 1]! + 13
          : len === 14
            ? buf.readUInt16BE(o + 1) + 269
            : buf.readUInt32BE(o + 1) + 65805;
    const code = buf[o + 1 + extLen]!;
    codes.push(`${code >> 5}.${String(code & 31).padStart(2, '0')}`);
    o += 1 + extLen + 1 + tkl + l;
  }
  return codes;
}

interface Device {
  identity: string;
  psk: Buffer;
  uaSecProtId: string;
  serverFqdn: string;
  tlsPort: number;
  dtlsPort?: number;
}

/** A real device: a subscriber provisioned, bootstrapped over Ub, its LwM2M config from Ua, Ks_NAF derived. */
async function realDevice(e: Endpoints): Promise<Device | undefined> {
  if (!e.naf || !e.lwm2m) return undefined;
  const imsi = `00101${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
  const k = '465b5ce8b199b49faa5f0a2ee238a6bc',
    opc = 'cd63cb71954a9f4e48a5994e37a02baf'; // TS 35.208 test set 1
  const put = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${e.hss.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ k, opc }),
  });
  if (put.status >= 300) throw new Error(`provisioning the campaign's device: ${put.status}`);
  const b = await bootstrap({
    bsfUrl: e.bsf.ub,
    impi: impiFromImsi(imsi, 2),
    realm: e.bsf.realm,
    usim: new SoftUsim({ algorithm: 'milenage', k: Buffer.from(k, 'hex'), opc: Buffer.from(opc, 'hex') }),
  });
  const cfg = await fetchDeviceConfig(e.naf.ua, b);
  const psk = ksNaf({
    ks: b.ks,
    rand: b.rand,
    impi: b.impi,
    nafFqdn: cfg.serverFqdn,
    uaSecProtId: Buffer.from(cfg.uaSecProtId, 'hex'),
  });
  return {
    identity: cfg.pskIdentity,
    psk,
    uaSecProtId: cfg.uaSecProtId,
    serverFqdn: cfg.serverFqdn,
    tlsPort: Number(new URL(e.lwm2m.uri.replace(/^coaps\+tcp/, 'http')).port),
    ...(e.lwm2m.uriDtls ? { dtlsPort: Number(new URL(e.lwm2m.uriDtls.replace(/^coaps/, 'http')).port) } : {}),
  };
}

/** Sends CoAP frames over real TLS-PSK sessions, reconnecting when the server closes one; one outcome per frame. */
async function coapOverTls(d: Device, frames: Buffer[], record: (outcome: string) => void): Promise<void> {
  let next = 0;
  while (next < frames.length) {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: d.tlsPort,
      servername: d.serverFqdn,
      ciphers: opensslSuiteForUaId(d.uaSecProtId),
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ALPNProtocols: ['coap'],
      pskCallback: () => ({ psk: d.psk, identity: d.identity }),
      checkServerIdentity: () => undefined,
    });
    let closed = false;
    let rx = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      rx = Buffer.concat([rx, c]).subarray(-65536);
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {
      closed = true;
    });
    const ok = await new Promise<boolean>((r) => {
      socket.once('secureConnect', () => r(true));
      socket.once('close', () => r(false));
      setTimeout(() => r(false), 10_000);
    });
    if (!ok) {
      record('handshake-failed');
      next++;
      socket.destroy();
      continue;
    }
    // The CSM first (RFC 8323 §5.3), then hostile frames one at a time.
    socket.write(Buffer.from([0x00, 0xe1]));
    while (next < frames.length && !closed) {
      rx = Buffer.alloc(0);
      socket.write(frames[next]!);
      await sleep(8);
      const codes = coapTcpCodes(rx).filter((c) => c !== '7.01');
      record(closed ? 'closed' : codes.length ? codes.join('+') : 'no-answer-yet');
      next++;
    }
    socket.destroy();
  }
}

/** Sends CoAP messages as application data of real DTLS-PSK associations; one outcome per message. */
async function coapOverDtls(d: Device, msgs: Buffer[], record: (outcome: string) => void): Promise<void> {
  let next = 0;
  while (next < msgs.length) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const peer = new TestPeer({ psk: d.psk, identity: d.identity, send: (dg) => s.send(dg, d.dtlsPort!, '127.0.0.1') });
    s.on('message', (m) => peer.receive(m));
    s.on('error', () => undefined);
    let answers: Buffer[] = [];
    let fatal = false;
    peer.on('data', (b: Buffer) => answers.push(b));
    peer.on('alert', (a: { level: number }) => {
      if (a.level === 2) fatal = true;
    });
    try {
      await peer.handshake(5000);
    } catch {
      record('handshake-failed');
      next++;
      s.close();
      continue;
    }
    while (next < msgs.length && !fatal) {
      answers = [];
      peer.sendApp(msgs[next]!);
      await sleep(8);
      const codes = answers
        .filter((a) => a.length >= 2)
        .map((a) => `${a[1]! >> 5}.${String(a[1]! & 31).padStart(2, '0')}`);
      record(fatal ? 'fatal-alert' : codes.length ? codes.join('+') : 'no-answer-yet');
      next++;
    }
    s.close();
  }
}

function diameterExchange(uri: string, frame: Buffer): Promise<string> {
  const m = /^aaa:\/\/([^:;]+):(\d+)/.exec(uri)!;
  return new Promise((resolve) => {
    const s = tcpConnect(Number(m[2]), m[1]!);
    let rx = Buffer.alloc(0);
    const done = (o: string) => {
      clearTimeout(t);
      s.destroy();
      resolve(o);
    };
    const t = setTimeout(() => done(rx.length ? 'answer' : 'silent'), 300);
    s.on('connect', () => s.write(frame));
    s.on('data', (c: Buffer) => {
      rx = Buffer.concat([rx, c]);
      if (rx.length >= 20 && rx.length >= rx.readUIntBE(1, 3)) {
        // Result-Code (268) of the answer, when it has one at the top level.
        let o = 20,
          rc = '';
        while (o + 8 <= rx.length) {
          const code = rx.readUInt32BE(o),
            l = rx.readUIntBE(o + 5, 3);
          if (l < 8) break;
          if (code === 268 && l >= 12) rc = String(rx.readUInt32BE(o + 8));
          o += l + ((4 - (l % 4)) % 4);
        }
        done(`answer${rc ? `:${rc}` : ''}`);
      }
    });
    s.on('close', () => done(rx.length ? 'answer' : 'closed'));
    s.on('error', () => done('closed'));
  });
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const started = Date.now();
  const e = JSON.parse(readFileSync(o.endpointsFile, 'utf8')) as Endpoints;
  const stateDir = dirname(o.endpointsFile);
  const run = JSON.parse(readFileSync(join(stateDir, 'run', 'config.json'), 'utf8')) as { naf?: { znToken?: string } };
  const znToken = run.naf?.znToken ?? 'no-zn-token-known-0123456789';
  const say = o.progress ?? (() => undefined);

  const bases = nfBases(e);
  const memory: CampaignReport['memory'] = {};
  for (const [nf, b] of Object.entries(bases)) memory[nf] = { beforeBytes: await rss(b), afterBytes: NaN };
  const restartsBefore = countRestarts(stateDir);
  const report: CampaignReport = {
    seed: o.seed,
    count: o.count,
    durationMs: 0,
    targets: {},
    serverErrors: 0,
    serverErrorSamples: [],
    restarts: { before: restartsBefore, after: restartsBefore },
    healthyAfter: false,
    memory,
  };
  const record = (target: Target, index: number, outcome: string) => {
    const t = (report.targets[target] ??= { inputs: 0, outcomes: {} });
    t.inputs++;
    t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
    if (/^5\d\d$/.test(outcome) || /(^|\+)5\.\d\d/.test(outcome) || outcome === 'alert:80') {
      report.serverErrors++;
      if (report.serverErrorSamples.length < 20) report.serverErrorSamples.push({ target, index, outcome });
    }
  };

  const byTarget = new Map<Target, number[]>(TARGETS.map((t) => [t, []]));
  for (let i = 0; i < o.count; i++) byTarget.get(TARGETS[i % TARGETS.length]!)!.push(i);
  const conc = o.concurrency ?? 16;
  const seedOf = (i: number) => inputSeed(o.seed, i);

  say('http: Ub, Zn, PSK API');
  const zn = `${e.bsf.zn}/bootstrapping-info-retrieval`;
  await Promise.all([
    pool(byTarget.get('ub')!, conc, async (i) => record('ub', i, await sendHttp(e.bsf.ub, ubInput(seedOf(i))))),
    pool(byTarget.get('zn')!, conc, async (i) =>
      record(
        'zn',
        i,
        await sendHttp(zn, {
          ...jsonInput(
            seedOf(i),
            new URL(zn).pathname,
            znBody(seedOf(i)),
            seedOf(i) % 7 === 0 ? 'wrong-token-0123456789abcdef' : znToken,
          ),
        }),
      ),
    ),
    pool(byTarget.get('psk')!, conc, async (i) =>
      e.naf
        ? record(
            'psk',
            i,
            await sendHttp(
              e.naf.pskLookup,
              jsonInput(seedOf(i), new URL(e.naf.pskLookup).pathname, pskBody(seedOf(i)), e.naf.pskApiToken),
            ),
          )
        : undefined,
    ),
  ]);

  if (e.lwm2m?.uriDtls) {
    say('dtls: before and after the cookie');
    const port = Number(new URL(e.lwm2m.uriDtls.replace(/^coaps/, 'http')).port);
    const base: Buffer[] = [];
    const p0 = new TestPeer({ psk: Buffer.alloc(16), identity: 'hostile', send: (d) => base.push(d) });
    p0.random.fill(0x11);
    p0.sendClientHello();
    await pool(byTarget.get('dtls-pre-cookie')!, conc, async (i) =>
      record('dtls-pre-cookie', i, dtlsOutcome(await udpExchange(port, [dtlsDatagram(seedOf(i), base[0]!)], 60))),
    );
    await pool(byTarget.get('dtls-post-cookie')!, conc, async (i) => {
      // A real cookie exchange from this socket, then the damaged ClientHello that carries the cookie.
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      const sent: Buffer[] = [];
      const peer = new TestPeer({
        psk: Buffer.alloc(16),
        identity: 'hostile',
        send: (d) => {
          sent.push(d);
        },
      });
      peer.random.fill(0x11); // the ClientHello of base[0] exactly, so the cookie fits the second one
      const got: Buffer[] = [];
      s.on('message', (m) => {
        if (sent.length < 1) peer.receive(m);
        else got.push(m);
      });
      s.on('error', () => undefined);
      s.send(base[0]!, port, '127.0.0.1');
      const t0 = Date.now();
      while (sent.length < 1 && Date.now() - t0 < 2000) await sleep(5);
      if (sent.length < 1) {
        record('dtls-post-cookie', i, 'no-hello-verify-request');
        s.close();
        return;
      }
      s.send(dtlsDatagram(seedOf(i), sent[0]!), port, '127.0.0.1');
      await sleep(60);
      record('dtls-post-cookie', i, dtlsOutcome(got));
      s.close();
    });
  }

  const device = await realDevice(e).catch((err: Error) => {
    say(`no device for the CoAP targets: ${err.message}`);
    return undefined;
  });
  if (device) {
    say('coap inside TLS and DTLS sessions');
    const tlsIdx = byTarget.get('coap-tls')!;
    const chunks = (xs: number[], n: number) => Array.from({ length: n }, (_, k) => xs.filter((_x, j) => j % n === k));
    // Session outcomes are per frame but not per index (-1): the frames of a session are reproduced by the seed as a group.
    await Promise.all(
      chunks(tlsIdx, 4).map((part) =>
        coapOverTls(
          device,
          part.map((i) => coapTcpFrame(seedOf(i))),
          (out) => record('coap-tls', -1, out),
        ),
      ),
    );
    if (device.dtlsPort) {
      const dIdx = byTarget.get('coap-dtls')!;
      await Promise.all(
        chunks(dIdx, 4).map((part) =>
          coapOverDtls(
            device,
            part.map((i) => coapUdpMessage(seedOf(i))),
            (out) => record('coap-dtls', -1, out),
          ),
        ),
      );
    }
  }

  say('diameter: Zh and Zn');
  for (const [t, uri] of [
    ['diameter-zh', e.hss.diameter?.uri],
    ['diameter-zn', e.bsf.diameter?.uri],
  ] as const) {
    if (!uri) continue;
    await pool(byTarget.get(t)!, 8, async (i) => record(t, i, await diameterExchange(uri, diameterFrame(seedOf(i)))));
  }

  await sleep(1500); // a crash shows as a restart record within this
  report.restarts.after = countRestarts(stateDir);
  report.healthyAfter = await healthy(e);
  for (const [nf, b] of Object.entries(bases)) memory[nf]!.afterBytes = await rss(b).catch(() => NaN);
  report.durationMs = Date.now() - started;
  agent.destroy();
  return report;
}

/** The report as Markdown table rows (README "The hostile-input campaign"). */
export function reportMarkdown(r: CampaignReport): string {
  const rows = Object.entries(r.targets).map(
    ([t, v]) =>
      `| ${t} | ${v.inputs} | ${Object.entries(v.outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')} |`,
  );
  const mem = Object.entries(r.memory).map(
    ([nf, m]) => `| ${nf} | ${(m.beforeBytes / 2 ** 20).toFixed(1)} MiB | ${(m.afterBytes / 2 ** 20).toFixed(1)} MiB |`,
  );
  return [
    `seed ${r.seed}, ${r.count} inputs, ${(r.durationMs / 1000).toFixed(1)} s; server errors (HTTP 5xx, CoAP 5.xx, DTLS internal_error): ${r.serverErrors}; NF restarts: ${r.restarts.after - r.restarts.before}; healthy after: ${r.healthyAfter}`,
    '',
    '| target | inputs | outcomes |',
    '|---|---|---|',
    ...rows,
    '',
    '| NF | RSS before | RSS after |',
    '|---|---|---|',
    ...mem,
  ].join('\n');
}
