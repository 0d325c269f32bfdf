/**
 * Diameter peer connections over TCP (RFC 6733 §5): capabilities exchange (CER/CEA, §5.3), the transport
 * watchdog (DWR/DWA, RFC 3539 §3.4), disconnection (DPR/DPA, §5.4), hop-by-hop and end-to-end identifiers
 * (§3), request timeouts, and a client that reconnects with back-off. One Connection per socket; a server
 * keeps every connection an allowed identity opens (no election: RFC 6733 §5.6.4 elections would close one).
 * TLS and SCTP are not implemented (RFC 6733 §2.1 makes TCP enough for a peer).
 */
import { createConnection, createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { PeerUnavailable } from '../http/client.js';
import type { Logger } from '../log.js';
import {
  avp,
  checkAvps,
  decodeHeader,
  decodeMessage,
  DiameterDecodeError,
  encodeMessage,
  failedAvp,
  FLAG_E,
  FLAG_P,
  FLAG_R,
  find,
  findAll,
  getGrouped,
  getStr,
  getU32,
  HEADER_LENGTH,
  messageLength,
  missingAvpStub as stubOf,
  value,
  type Avp,
  type DiameterMessage,
} from './codec.js';
import { APP_BASE, APP_RELAY, CMD, COMMAND_NAMES, RC, VENDOR_3GPP } from './dictionary.js';
import type { DiameterMetrics } from './metrics.js';

export interface LocalIdentity {
  host: string;
  realm: string;
  /** The application this node serves or uses (advertised in Vendor-Specific-Application-Id {10415, app}). */
  applicationId: number;
  productName?: string;
}

export interface ConnectionOptions {
  local: LocalIdentity;
  log: Logger;
  metrics?: DiameterMetrics;
  /** Largest message accepted; a longer length field closes the connection (no buffering of it). */
  maxMessageBytes?: number;
  /** RFC 3539 Tw; default 30 s. */
  watchdogMs?: number;
  requestTimeoutMs?: number;
  /** Requests awaiting an answer on this connection; more are refused (PeerUnavailable). */
  maxPending?: number;
  /** Answers an application request (already checked for unknown M-bit AVPs). */
  onRequest?: (req: DiameterMessage, conn: Connection) => Promise<DiameterMessage>;
}

export type PeerState = 'wait-cer' | 'wait-cea' | 'open' | 'closing' | 'closed';

const ORIGIN_STATE_ID = Math.floor(Date.now() / 1000) >>> 0;
let hopByHop = randomInt(0, 0x7fffffff);
let endToEndLow = randomInt(0, 1 << 20);
/** RFC 6733 §3: end-to-end ids start with the low 12 bits of the time in the high bits, then a counter. */
const nextEndToEnd = (): number =>
  (((Math.floor(Date.now() / 1000) & 0xfff) << 20) | (endToEndLow = (endToEndLow + 1) & 0xfffff)) >>> 0;
const nextHopByHop = (): number => (hopByHop = (hopByHop + 1) >>> 0);

const plainIp = (ip: string | undefined): string => (ip ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '');
const hostIp = (ip: string | undefined): string => {
  const p = plainIp(ip);
  return isIPv4(p) || isIPv6(p) ? p : '127.0.0.1';
};

/** Result code of an answer: Result-Code, else Experimental-Result-Code. */
export function resultOf(m: DiameterMessage): number | undefined {
  const rc = getU32(m.avps, 'Result-Code');
  if (rc !== undefined) return rc;
  const er = getGrouped(m.avps, 'Experimental-Result');
  return er ? getU32(er, 'Experimental-Result-Code') : undefined;
}

export class Connection {
  state: PeerState;
  peerHost?: string;
  peerRealm?: string;
  readonly remote: string;
  readonly #o: Required<Omit<ConnectionOptions, 'metrics' | 'onRequest'>> &
    Pick<ConnectionOptions, 'metrics' | 'onRequest'>;
  readonly #pending = new Map<
    number,
    {
      resolve: (m: DiameterMessage) => void;
      reject: (e: Error) => void;
      timer: NodeJS.Timeout;
      sentAt: number;
      command: number;
    }
  >();
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = 0;
  #lastRx = Date.now();
  #stateLabel = '';
  #dwrOutstanding = false;
  /** The capabilities exchange succeeded at some point (the connection may be closing now). */
  #opened = false;
  #watchdog?: NodeJS.Timeout;
  #closedListeners: Array<(reason: string) => void> = [];
  #openListeners: Array<() => void> = [];
  /** Decides a peer's fate at CER (server side); returns a result code. */
  authorizeCer?: (cer: DiameterMessage) => number;

  constructor(
    readonly socket: Socket,
    role: 'server' | 'client',
    opts: ConnectionOptions,
  ) {
    this.#o = {
      ...opts,
      maxMessageBytes: opts.maxMessageBytes ?? 1 << 20,
      watchdogMs: opts.watchdogMs ?? 30_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 5000,
      maxPending: opts.maxPending ?? 10_000,
    };
    this.state = role === 'server' ? 'wait-cer' : 'wait-cea';
    this.remote = `${plainIp(socket.remoteAddress)}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (d) => this.#onData(d));
    socket.on('error', (e) => this.#close(`socket error: ${e.message}`));
    socket.on('close', () => this.#close('connection closed by peer'));
    this.#armWatchdog();
    this.#stateLabel = this.label;
    this.#o.metrics?.state(this.label, undefined, this.state);
  }

  /** Metrics label: the Origin-Host once known (bounded by the allow-lists), never the remote port. */
  get label(): string {
    return this.peerHost ?? 'unidentified';
  }
  onClose(f: (reason: string) => void): void {
    this.#closedListeners.push(f);
  }
  onOpen(f: () => void): void {
    this.#openListeners.push(f);
  }

  #setState(to: PeerState, reason: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.#o.metrics?.state(this.label, from, to, this.#stateLabel);
    this.#stateLabel = this.label;
    const level = to === 'closed' && from !== 'closing' ? 'warn' : 'info';
    this.#o.log[level](
      { event: 'diameter_peer', peer: this.peerHost, remote: this.remote, from, to, reason },
      'Diameter peer state change',
    );
    if (to === 'open') {
      this.#opened = true;
      for (const f of this.#openListeners) f();
    }
  }

  // ---- framing: at most one message's declared length is ever buffered ----
  #onData(d: Buffer): void {
    this.#lastRx = Date.now();
    this.#dwrOutstanding = false;
    this.#chunks.push(d);
    this.#buffered += d.length;
    while (this.state !== 'closed') {
      if (this.#need === 0) {
        if (this.#buffered < 4) return;
        const head = this.#take(4, false);
        try {
          this.#need = messageLength(head, this.#o.maxMessageBytes);
        } catch (e) {
          this.#close(`unframeable input: ${(e as Error).message}`);
          return;
        }
      }
      if (this.#buffered < this.#need) return;
      const msg = this.#take(this.#need, true);
      this.#need = 0;
      this.#onMessage(msg);
    }
  }

  #take(n: number, consume: boolean): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const out = all.subarray(0, n);
    if (consume) {
      const rest = all.subarray(n);
      this.#chunks = rest.length ? [rest] : [];
      this.#buffered = rest.length;
    } else {
      this.#chunks = [all];
    }
    return out;
  }

  #onMessage(raw: Buffer): void {
    let m: DiameterMessage;
    try {
      m = decodeMessage(raw, this.#o.maxMessageBytes);
      if (m.flags & FLAG_R) checkAvps(m.avps);
    } catch (e) {
      const err = e as DiameterDecodeError;
      const h = decodeHeader(raw);
      if (h.flags & FLAG_R && err instanceof DiameterDecodeError) {
        this.#o.log.warn(
          {
            event: 'diameter_decode',
            peer: this.peerHost,
            remote: this.remote,
            command: h.commandCode,
            resultCode: err.resultCode,
            reason: err.message,
          },
          'malformed Diameter request',
        );
        this.#send(this.errorAnswer({ ...h, avps: safeAvps(raw) }, err.resultCode, err.failedAvp, err.message));
        if (this.state === 'wait-cer') this.#endSoon('malformed CER');
      } else {
        this.#o.log.warn(
          { event: 'diameter_decode', peer: this.peerHost, remote: this.remote, reason: (e as Error).message },
          'malformed Diameter answer dropped',
        );
      }
      return;
    }
    if (m.flags & FLAG_R) this.#onRequest(m);
    else this.#onAnswer(m);
  }

  #onRequest(m: DiameterMessage): void {
    this.#o.metrics?.request(this.label, m.commandCode, 'in');
    if (m.commandCode === CMD.CE) {
      if (this.state !== 'wait-cer') {
        this.#send(this.errorAnswer(m, RC.UNABLE_TO_COMPLY, undefined, 'capabilities already exchanged'));
        return;
      }
      this.#onCer(m);
      return;
    }
    // A connection that was open and is now closing (our DPR sent) still answers the peer's DWR and DPR:
    // both sides may send DPR at once on shutdown (RFC 6733 §5.4), and each must get its DPA.
    const established = this.state === 'open' || (this.state === 'closing' && this.#opened);
    if (established && m.commandCode === CMD.DW) {
      this.#send(this.answer(m, RC.SUCCESS, [avp('Origin-State-Id', ORIGIN_STATE_ID)]));
      return;
    }
    if (established && m.commandCode === CMD.DP) {
      this.#send(this.answer(m, RC.SUCCESS, []));
      this.#setState('closing', `DPR from peer (cause ${getU32(m.avps, 'Disconnect-Cause') ?? '?'})`);
      this.socket.end();
      return;
    }
    if (established && this.state === 'closing') {
      // §5.4: we are disconnecting; the peer should send this elsewhere (3002 DIAMETER_UNABLE_TO_DELIVER).
      this.#send(this.errorAnswer(m, RC.UNABLE_TO_DELIVER, undefined, 'disconnecting'));
      return;
    }
    if (this.state !== 'open') {
      // RFC 6733 §5.3: nothing but CER before the capabilities exchange.
      this.#send(this.errorAnswer(m, RC.UNKNOWN_PEER, undefined, 'no capabilities exchange yet'));
      this.#endSoon('request before CER');
      return;
    }
    if (m.applicationId !== this.#o.local.applicationId) {
      this.#send(this.errorAnswer(m, RC.APPLICATION_UNSUPPORTED));
      return;
    }
    if (!this.#o.onRequest) {
      this.#send(this.errorAnswer(m, RC.COMMAND_UNSUPPORTED));
      return;
    }
    this.#o.onRequest(m, this).then(
      (a) => this.#send(a),
      (e: Error) => {
        this.#o.log.error(
          { event: 'diameter_handler', peer: this.peerHost, command: m.commandCode, err: e.message },
          'Diameter request handler failed',
        );
        this.#send(this.answer(m, RC.UNABLE_TO_COMPLY, []));
      },
    );
  }

  #onCer(m: DiameterMessage): void {
    // peerHost (the metrics label) is only set once the identity is accepted, so strangers cannot add series.
    const host = getStr(m.avps, 'Origin-Host');
    const realm = getStr(m.avps, 'Origin-Realm');
    if (!host || !realm) {
      this.#send(this.errorAnswer(m, RC.MISSING_AVP, missingOf(m.avps, ['Origin-Host', 'Origin-Realm'])));
      this.#endSoon('CER without Origin-Host/Origin-Realm');
      return;
    }
    const app = this.#o.local.applicationId;
    const apps = [
      ...findAll(m.avps, 'Auth-Application-Id').map(value.u32),
      ...findAll(m.avps, 'Vendor-Specific-Application-Id').flatMap((v) =>
        findAll(value.grouped(v), 'Auth-Application-Id').map(value.u32),
      ),
    ];
    const rc = this.authorizeCer?.(m) ?? RC.SUCCESS;
    if (rc !== RC.SUCCESS) {
      this.#send(this.cea(m, rc));
      this.#endSoon(`CER refused with ${rc} (Origin-Host ${host})`);
      return;
    }
    if (!apps.includes(app) && !apps.includes(APP_RELAY)) {
      this.#send(this.cea(m, RC.NO_COMMON_APPLICATION));
      this.#endSoon(`no common application (peer offers ${apps.join(',') || 'none'})`);
      return;
    }
    this.peerHost = host;
    this.peerRealm = realm;
    this.#send(this.cea(m, RC.SUCCESS));
    this.#setState('open', `CER from ${host} accepted`);
  }

  #onAnswer(m: DiameterMessage): void {
    const p = this.#pending.get(m.hopByHop);
    if (!p) {
      this.#o.log.debug(
        { event: 'diameter_unexpected_answer', peer: this.peerHost, hopByHop: m.hopByHop },
        'answer with no request',
      );
      return;
    }
    this.#pending.delete(m.hopByHop);
    clearTimeout(p.timer);
    const rc = resultOf(m);
    this.#o.metrics?.answer(this.label, m.commandCode, rc, 'in', (Date.now() - p.sentAt) / 1000);
    p.resolve(m);
  }

  /** Sends a request (filling in ids) and resolves with its answer; PeerUnavailable on timeout or close. */
  request(m: Omit<DiameterMessage, 'hopByHop' | 'endToEnd'> & { endToEnd?: number }): Promise<DiameterMessage> {
    if (this.#pending.size >= this.#o.maxPending)
      return Promise.reject(new PeerUnavailable(`${this.label}: too many requests in flight`));
    if (this.state === 'closed' || this.state === 'closing')
      return Promise.reject(new PeerUnavailable(`${this.label}: connection ${this.state}`));
    const full: DiameterMessage = {
      ...m,
      flags: m.flags | FLAG_R,
      hopByHop: nextHopByHop(),
      endToEnd: m.endToEnd ?? nextEndToEnd(),
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(full.hopByHop);
        this.#o.metrics?.answer(this.label, full.commandCode, undefined, 'in');
        reject(
          new PeerUnavailable(
            `${this.label}: no answer to ${COMMAND_NAMES[full.commandCode] ?? full.commandCode}R within ${this.#o.requestTimeoutMs} ms`,
          ),
        );
      }, this.#o.requestTimeoutMs);
      this.#pending.set(full.hopByHop, { resolve, reject, timer, sentAt: Date.now(), command: full.commandCode });
      this.#o.metrics?.request(this.label, full.commandCode, 'out');
      this.socket.write(encodeMessage(full));
    });
  }

  #send(a: DiameterMessage): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.#o.metrics?.answer(this.label, a.commandCode, resultOf(a), 'out');
    this.socket.write(encodeMessage(a));
  }

  /** RFC 6733 §6.2: the request's P bit, Session-Id first, ids copied, Origin-Host/Realm present. */
  answer(
    req: Omit<DiameterMessage, 'avps'> & { avps: Avp[] },
    resultCode: number | { experimental: number },
    avps: Avp[],
    errorBit = false,
  ): DiameterMessage {
    const sid = find(req.avps, 'Session-Id');
    const result =
      typeof resultCode === 'number'
        ? avp('Result-Code', resultCode)
        : avp('Experimental-Result', [
            avp('Vendor-Id', VENDOR_3GPP),
            avp('Experimental-Result-Code', resultCode.experimental),
          ]);
    return {
      flags: (req.flags & FLAG_P) | (errorBit ? FLAG_E : 0),
      commandCode: req.commandCode,
      applicationId: req.applicationId,
      hopByHop: req.hopByHop,
      endToEnd: req.endToEnd,
      // Session-Id's value copied, its flags our own: a request's reserved AVP flag bits must not echo (§4.1).
      avps: [
        ...(sid ? [avp('Session-Id', sid.data)] : []),
        result,
        avp('Origin-Host', this.#o.local.host),
        avp('Origin-Realm', this.#o.local.realm),
        ...avps,
      ],
    };
  }

  /** An error answer: protocol errors (3xxx) carry the E bit (RFC 6733 §7.1.3); Failed-AVP when known (§7.5). */
  errorAnswer(
    req: Omit<DiameterMessage, 'avps'> & { avps: Avp[] },
    rc: number,
    failed?: Buffer,
    message?: string,
  ): DiameterMessage {
    const extra: Avp[] = [];
    if (message) extra.push(avp('Error-Message', message.slice(0, 200)));
    if (failed) extra.push(failedAvp(failed));
    return this.answer(req, rc, extra, rc >= 3000 && rc < 4000);
  }

  #capabilities(): Avp[] {
    return [
      avp('Origin-Host', this.#o.local.host),
      avp('Origin-Realm', this.#o.local.realm),
      avp('Host-IP-Address', hostIp(this.socket.localAddress)),
      avp('Vendor-Id', 0),
      avp('Product-Name', this.#o.local.productName ?? 'gba-sim'),
      avp('Origin-State-Id', ORIGIN_STATE_ID),
      avp('Supported-Vendor-Id', VENDOR_3GPP),
      avp('Vendor-Specific-Application-Id', [
        avp('Vendor-Id', VENDOR_3GPP),
        avp('Auth-Application-Id', this.#o.local.applicationId),
      ]),
      avp('Firmware-Revision', 1),
    ];
  }

  cea(cer: DiameterMessage, rc: number): DiameterMessage {
    const caps = this.#capabilities();
    return {
      flags: rc >= 3000 && rc < 4000 ? FLAG_E : 0,
      commandCode: CMD.CE,
      applicationId: APP_BASE,
      hopByHop: cer.hopByHop,
      endToEnd: cer.endToEnd,
      avps: [avp('Result-Code', rc), ...caps],
    };
  }

  /** Client side: CER, then open on CEA 2001. */
  async exchangeCapabilities(): Promise<void> {
    const cea = await this.request({
      flags: 0,
      commandCode: CMD.CE,
      applicationId: APP_BASE,
      avps: this.#capabilities(),
    });
    const rc = resultOf(cea);
    this.peerHost = getStr(cea.avps, 'Origin-Host');
    this.peerRealm = getStr(cea.avps, 'Origin-Realm');
    if (rc !== RC.SUCCESS) {
      this.#close(`CEA ${rc ?? 'without Result-Code'}`);
      throw new PeerUnavailable(`peer refused the capabilities exchange with ${rc}`);
    }
    this.#setState('open', `CEA 2001 from ${this.peerHost}`);
  }

  /** RFC 6733 §5.4: DPR, wait (bounded) for the DPA, close. */
  async disconnect(cause = 0 /* REBOOTING */): Promise<void> {
    if (this.state !== 'open') {
      this.#close('shutdown');
      return;
    }
    const dpr = this.request({
      flags: 0,
      commandCode: CMD.DP,
      applicationId: APP_BASE,
      avps: [
        avp('Origin-Host', this.#o.local.host),
        avp('Origin-Realm', this.#o.local.realm),
        avp('Disconnect-Cause', cause),
      ],
    });
    this.#setState('closing', 'local shutdown (DPR sent)');
    await Promise.race([dpr.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.#close('disconnected');
  }

  // ---- RFC 3539 §3.4 watchdog: DWR after Tw of silence, failover after another Tw without an answer ----
  #armWatchdog(): void {
    const tw = this.#o.watchdogMs;
    const jitter = Math.min(2000, Math.floor(tw / 10));
    this.#watchdog = setTimeout(() => this.#onWatchdog(), tw + randomInt(-jitter, jitter + 1));
    this.#watchdog.unref();
  }

  #onWatchdog(): void {
    if (this.state === 'closed') return;
    const silent = Date.now() - this.#lastRx >= this.#o.watchdogMs - 2000;
    if (this.state !== 'open') {
      if (silent) {
        this.#close('no capabilities exchange within Tw');
        return;
      }
    } else if (this.#dwrOutstanding && silent) {
      this.#close('watchdog: no DWA within Tw');
      return;
    } else if (silent) {
      this.#dwrOutstanding = true;
      this.request({
        flags: 0,
        commandCode: CMD.DW,
        applicationId: APP_BASE,
        avps: [
          avp('Origin-Host', this.#o.local.host),
          avp('Origin-Realm', this.#o.local.realm),
          avp('Origin-State-Id', ORIGIN_STATE_ID),
        ],
      }).catch(() => undefined);
    }
    this.#armWatchdog();
  }

  #endSoon(reason: string): void {
    this.#setState('closing', reason);
    this.socket.end();
    setTimeout(() => this.#close(reason), 5000).unref();
  }

  #close(reason: string): void {
    if (this.state === 'closed') return;
    this.#setState('closed', reason);
    clearTimeout(this.#watchdog);
    this.socket.destroy();
    this.#chunks = [];
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PeerUnavailable(`${this.label}: ${reason}`));
    }
    this.#pending.clear();
    for (const f of this.#closedListeners) f(reason);
  }

  destroy(reason = 'destroyed'): void {
    this.#close(reason);
  }
}

/** The AVPs of a malformed request as far as they decode (for Session-Id in the error answer). */
function safeAvps(raw: Buffer): Avp[] {
  const out: Avp[] = [];
  let o = HEADER_LENGTH;
  while (o + 8 <= raw.length) {
    const len = raw.readUInt32BE(o + 4) & 0xffffff;
    const hl = raw[o + 4]! & 0x80 ? 12 : 8;
    if (len < hl || o + len > raw.length) break;
    out.push({
      code: raw.readUInt32BE(o),
      flags: raw[o + 4]!,
      vendorId: hl === 12 ? raw.readUInt32BE(o + 8) : 0,
      data: raw.subarray(o + hl, o + len),
    });
    o += (len + 3) & ~3;
  }
  return out.filter((a) => a.code === 263 && a.vendorId === 0);
}

/** The first AVP of `names` missing from `avps`, as a Failed-AVP stub. */
export function missingOf(avps: readonly Avp[], names: string[]): Buffer | undefined {
  for (const n of names) if (!find(avps, n)) return stubOf(n);
  return undefined;
}

// ---- server ------------------------------------------------------------------------------------------------

export interface DiameterServerOptions extends ConnectionOptions {
  host: string;
  port: number;
  /** Origin-Hosts allowed to connect (C5); anyone else gets CEA 3010 and is disconnected. */
  allowedPeers: (originHost: string) => boolean;
}

export interface RunningDiameterServer {
  port: number;
  uri: string;
  connections: ReadonlySet<Connection>;
  close(): Promise<void>;
}

export async function startDiameterServer(o: DiameterServerOptions): Promise<RunningDiameterServer> {
  const connections = new Set<Connection>();
  const server: Server = createServer((socket) => {
    const c = new Connection(socket, 'server', o);
    c.authorizeCer = (cer) => (o.allowedPeers(getStr(cer.avps, 'Origin-Host') ?? '') ? RC.SUCCESS : RC.UNKNOWN_PEER);
    connections.add(c);
    c.onClose(() => connections.delete(c));
  });
  server.maxConnections = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  const h = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    port,
    uri: `aaa://${h}:${port};transport=tcp`,
    connections,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      await Promise.all([...connections].map((c) => c.disconnect()));
      await closed;
    },
  };
}

// ---- client ------------------------------------------------------------------------------------------------

export interface DiameterClientOptions extends ConnectionOptions {
  host: string;
  port: number;
  /** Reconnect back-off bounds (doubling). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** One peer connection kept up: connects, exchanges capabilities, reconnects with back-off when it drops. */
export class DiameterClient {
  #conn?: Connection;
  #stopped = false;
  #attempt = 0;
  #timer?: NodeJS.Timeout;
  #waiters = new Set<() => void>();

  constructor(readonly o: DiameterClientOptions) {
    this.#connect();
  }

  get state(): PeerState {
    return this.#conn?.state ?? 'closed';
  }

  #connect(): void {
    if (this.#stopped) return;
    const socket = createConnection({ host: this.o.host, port: this.o.port });
    socket.once('connect', () => {
      const c = new Connection(socket, 'client', this.o);
      this.#conn = c;
      c.onOpen(() => {
        this.#attempt = 0;
        for (const w of this.#waiters) w();
      });
      c.onClose(() => {
        if (this.#conn === c) this.#conn = undefined;
        this.#retry();
      });
      c.exchangeCapabilities().catch(() => undefined);
    });
    socket.once('error', (e) => {
      if (this.#conn?.socket === socket) return; // the Connection reports its own errors
      this.o.log.debug(
        { event: 'diameter_connect', remote: `${this.o.host}:${this.o.port}`, err: e.message },
        'Diameter connect failed',
      );
      socket.destroy();
      this.#retry();
    });
  }

  #retry(): void {
    if (this.#stopped || this.#timer) return;
    const min = this.o.minBackoffMs ?? 100;
    const delay = Math.min(this.o.maxBackoffMs ?? 10_000, min * 2 ** Math.min(this.#attempt++, 16));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delay);
    this.#timer.unref();
  }

  /** Waits (up to the request timeout) for an open connection, then sends. */
  async request(
    m: Omit<DiameterMessage, 'hopByHop' | 'endToEnd' | 'flags'> & { flags?: number },
  ): Promise<DiameterMessage> {
    const timeout = this.o.requestTimeoutMs ?? 5000;
    if (this.#conn?.state !== 'open') {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          this.#waiters.delete(done);
          reject(new PeerUnavailable(`Diameter peer ${this.o.host}:${this.o.port} is not connected`));
        }, timeout);
        const done = () => {
          clearTimeout(t);
          this.#waiters.delete(done);
          resolve();
        };
        this.#waiters.add(done);
      });
    }
    return this.#conn!.request({ flags: FLAG_P, ...m });
  }

  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#conn?.disconnect();
  }
}
