/**
 * CoAP over TCP/TLS on one connection (RFC 8323), over any Node Duplex: a tls.TLSSocket in production, an in-memory
 * pair in tests. Both ends send a CSM first (§3.3); requests and responses are matched by token (§3.4); signaling
 * (§5) is answered here: Ping → Pong, Release → orderly close, Abort → close. There is no type, message ID,
 * retransmission or deduplication over TCP: the transport is reliable and ordered.
 */
import { TimerSet } from './timers.js';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { DecodeError, InputError } from '../errors.js';
import {
  Code,
  CoapExchangeError,
  type CoapMessage,
  type CoapOption,
  type CoapResponse,
  DEFAULT_KNOWN_CRITICAL,
  type ExchangeFailure,
  isRequestCode,
  isResponseCode,
  isSignalingCode,
  message,
  type RequestHandler,
  unknownCriticalOption,
} from './message.js';
import {
  abortMessage,
  BASE_MAX_MESSAGE_SIZE,
  CoapTcpDecoder,
  csmMessage,
  encodeTcp,
  parseCsm,
  pingMessage,
  pongMessage,
  releaseMessage,
  SignalingOption,
} from './tcp.js';

export interface TcpConnectionOptions {
  /** Ours: advertised in our CSM and enforced on what we receive. Default 1152, the base value (§5.3.1). */
  maxMessageSize?: number;
  /** Advertise Block-Wise-Transfer in our CSM (§5.3.2). Default true. */
  blockWiseTransfer?: boolean;
  /** Wait for a response (or a Pong). Default 93 s. */
  requestTimeoutMs?: number;
  /** Abort when the peer has sent no CSM after this long. Default 30 s. */
  csmTimeoutMs?: number;
  /** After our Release, close ourselves if the peer has not closed within this time. Default 5 s. */
  releaseTimeoutMs?: number;
  knownCriticalOptions?: ReadonlySet<number>;
  tokenLength?: number;
  randomBytes?: (n: number) => Buffer;
  /** Failures with nowhere else to go: a throwing handler, an unencodable response. */
  onError?: (err: unknown) => void;
  /**
   * Incoming requests whose handler has not finished; at this many we stop reading the peer until one finishes
   * (TCP flow control then slows the peer down). Default 16.
   */
  maxRequestsInProgress?: number;
  /**
   * A peer that does not read: once write() reports the stream backed up we stop reading (no more Pongs or
   * responses are produced) until 'drain'; if it stays backed up this long the connection is closed. Default 30 s.
   */
  writeStallTimeoutMs?: number;
  /**
   * Octets queued for the peer beyond which the connection is closed at once (only what we send unasked — our own
   * requests and notifications — can still grow the queue once reading has stopped). Default 1 MiB.
   */
  maxQueuedOutputBytes?: number;
}

/** Defaults of the flow-control limits (issue 18 finding 1); see TcpConnectionOptions. */
export const TCP_FLOW_DEFAULTS = {
  maxRequestsInProgress: 16,
  writeStallTimeoutMs: 30_000,
  maxQueuedOutputBytes: 1024 * 1024,
} as const;

export interface PeerSettings {
  maxMessageSize: number;
  blockWiseTransfer: boolean;
}

export type CloseReason = 'local' | 'peer-closed' | 'peer-abort' | 'aborted' | 'released' | 'error' | 'stalled';
export interface CloseInfo {
  reason: CloseReason;
  /** Abort diagnostic (ours or the peer's) or stream error message. */
  detail?: string;
}

export interface OutgoingTcpRequest {
  code: number;
  token?: Buffer;
  options?: CoapOption[];
  payload?: Buffer;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

/** Options each signaling code defines (§5.3–§5.6); an unknown critical one is a reason to Abort (§5.1). */
const SIGNALING_OPTIONS: Readonly<Record<number, readonly number[]>> = {
  [Code.CSM]: [SignalingOption.MAX_MESSAGE_SIZE, SignalingOption.BLOCK_WISE_TRANSFER],
  [Code.PING]: [SignalingOption.CUSTODY],
  [Code.PONG]: [SignalingOption.CUSTODY],
  [Code.RELEASE]: [SignalingOption.ALTERNATIVE_ADDRESS, SignalingOption.HOLD_OFF],
  [Code.ABORT]: [SignalingOption.BAD_CSM_OPTION],
};

const FAILURE: Record<CloseReason, ExchangeFailure> = {
  local: 'closed',
  'peer-closed': 'closed',
  error: 'closed',
  stalled: 'closed',
  'peer-abort': 'aborted',
  aborted: 'aborted',
  released: 'released',
};

export class CoapTcpConnection {
  readonly #stream: Duplex;
  readonly #decoder: CoapTcpDecoder;
  readonly #requestTimeoutMs: number;
  readonly #releaseTimeoutMs: number;
  readonly #known: ReadonlySet<number>;
  readonly #tokenLength: number;
  readonly #randomBytes: (n: number) => Buffer;
  readonly #onError: ((err: unknown) => void) | undefined;
  #handler: RequestHandler | undefined;
  #peer: PeerSettings = { maxMessageSize: BASE_MAX_MESSAGE_SIZE, blockWiseTransfer: false };
  #csmReceived = false;
  #peerReleased = false;
  #weReleased = false;
  #inflight = 0; // incoming requests whose handler has not finished
  #closeInfo: CloseInfo | undefined;
  #csmTimer: NodeJS.Timeout | undefined;
  readonly #pending = new Map<string, Waiter<CoapMessage>>(); // by token (hex)
  readonly #pings = new Map<string, Waiter<void>>();
  readonly #readyWaiters: Waiter<PeerSettings>[] = [];
  readonly #closeListeners: ((info: CloseInfo) => void)[] = [];
  readonly #timers = new TimerSet();
  #unmatched: ((res: CoapMessage) => void) | undefined;
  readonly #maxInProgress: number;
  readonly #stallTimeoutMs: number;
  readonly #maxQueuedOutput: number;
  /** Decoded messages not yet handled: reading stops while this is non-empty (one read's worth at most). */
  #backlog: CoapMessage[] = [];
  /** write() returned false and 'drain' has not come yet. */
  #writeBlocked = false;
  #stallTimer: NodeJS.Timeout | undefined;
  #readingPaused = false;

  constructor(stream: Duplex, options: TcpConnectionOptions = {}) {
    const maxMessageSize = options.maxMessageSize ?? BASE_MAX_MESSAGE_SIZE;
    this.#stream = stream;
    this.#decoder = new CoapTcpDecoder({ maxMessageSize });
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 93_000;
    this.#releaseTimeoutMs = options.releaseTimeoutMs ?? 5_000;
    this.#known = options.knownCriticalOptions ?? DEFAULT_KNOWN_CRITICAL;
    this.#tokenLength = options.tokenLength ?? 4;
    this.#randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.#onError = options.onError;
    this.#maxInProgress = Math.max(1, options.maxRequestsInProgress ?? TCP_FLOW_DEFAULTS.maxRequestsInProgress);
    this.#stallTimeoutMs = options.writeStallTimeoutMs ?? TCP_FLOW_DEFAULTS.writeStallTimeoutMs;
    this.#maxQueuedOutput = options.maxQueuedOutputBytes ?? TCP_FLOW_DEFAULTS.maxQueuedOutputBytes;

    stream.on('drain', () => this.#onDrain());
    stream.on('data', (chunk: Buffer | string) => this.#onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', () => this.#shutdown({ reason: 'peer-closed' }));
    stream.on('close', () => this.#shutdown({ reason: 'peer-closed' }));
    stream.on('error', (err: Error) => this.#shutdown({ reason: 'error', detail: err.message }));

    // §3.3: our CSM is our first message; the initiator must not wait for the peer's, and we never do.
    this.#write(csmMessage({ maxMessageSize, blockWiseTransfer: options.blockWiseTransfer ?? true }));
    this.#csmTimer = this.#timers.set(
      () => this.abort({ diagnostic: 'no CSM received' }),
      options.csmTimeoutMs ?? 30_000,
    );
  }

  /** The peer's CSM settings so far (the base values until its CSM arrives). */
  get peerSettings(): PeerSettings {
    return { ...this.#peer };
  }

  get closed(): boolean {
    return this.#closeInfo !== undefined;
  }

  /** Resolves once the peer's CSM has arrived; rejects if the connection closes first. */
  whenReady(): Promise<PeerSettings> {
    if (this.#csmReceived) return Promise.resolve(this.peerSettings);
    if (this.#closeInfo) return Promise.reject(this.#failure());
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  onRequest(handler: RequestHandler): void {
    this.#handler = handler;
  }

  /**
   * Responses whose token matches no outstanding request: Observe notifications (RFC 8323 §7.1, RFC 7641 §3.2)
   * after the first response settled the request. Without a listener they are dropped.
   */
  onUnmatchedResponse(listener: (res: CoapMessage) => void): void {
    this.#unmatched = listener;
  }

  /** Sends a response under `token` outside any request in progress: an Observe notification (RFC 8323 §7.1). */
  notify(token: Buffer, res: CoapResponse): boolean {
    if (this.#closeInfo || !isResponseCode(res.code)) return false;
    try {
      this.#write(
        this.#encodeForPeer(
          message({ code: res.code, token, options: res.options ?? [], payload: res.payload ?? Buffer.alloc(0) }),
        ),
      );
      return true;
    } catch (err) {
      this.#onError?.(err);
      return false;
    }
  }

  /** Called once, when the connection closes for whatever reason (immediately if it already has). */
  onClose(listener: (info: CloseInfo) => void): void {
    if (this.#closeInfo) listener(this.#closeInfo);
    else this.#closeListeners.push(listener);
  }

  request(req: OutgoingTcpRequest): Promise<CoapMessage> {
    if (this.#closeInfo) return Promise.reject(this.#failure());
    if (this.#peerReleased || this.#weReleased) {
      return Promise.reject(new CoapExchangeError('released', 'connection is being released (RFC 8323 §5.5)'));
    }
    if (!isRequestCode(req.code)) return Promise.reject(new InputError(`code ${req.code} is not a request code`));
    const token = req.token ?? this.#freshToken();
    const key = token.toString('hex');
    if (this.#pending.has(key)) return Promise.reject(new InputError('token already used by an outstanding request'));
    let frame: Buffer;
    try {
      frame = this.#encodeForPeer(
        message({ code: req.code, token, options: req.options ?? [], payload: req.payload ?? Buffer.alloc(0) }),
      );
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => {
      const w: Waiter<CoapMessage> = { resolve, reject };
      w.timer = this.#timers.set(() => {
        this.#pending.delete(key);
        reject(new CoapExchangeError('timeout', 'no response within the request timeout'));
      }, this.#requestTimeoutMs);
      this.#pending.set(key, w);
      this.#write(frame);
    });
  }

  /** 7.02 Ping; resolves on the matching 7.03 Pong (§5.4). */
  ping(timeoutMs = this.#requestTimeoutMs): Promise<void> {
    if (this.#closeInfo) return Promise.reject(this.#failure());
    const token = this.#freshToken();
    const key = token.toString('hex');
    return new Promise((resolve, reject) => {
      const w: Waiter<void> = { resolve, reject };
      w.timer = this.#timers.set(() => {
        this.#pings.delete(key);
        reject(new CoapExchangeError('timeout', 'no Pong within the timeout'));
      }, timeoutMs);
      this.#pings.set(key, w);
      this.#write(pingMessage(token));
    });
  }

  /** 7.04 Release (§5.5): we stop sending requests and leave the closing to the peer, within releaseTimeoutMs. */
  release(opts: { alternativeAddresses?: string[]; holdOffSec?: number; diagnostic?: string } = {}): Promise<void> {
    return new Promise((resolve) => {
      this.onClose(() => resolve());
      if (this.#closeInfo || this.#weReleased) return;
      this.#weReleased = true;
      this.#write(releaseMessage(opts));
      this.#timers.set(() => this.#shutdown({ reason: 'released' }), this.#releaseTimeoutMs);
    });
  }

  /** 7.05 Abort (§5.6), then close. */
  abort(opts: { diagnostic?: string; badCsmOption?: number } = {}): void {
    if (this.#closeInfo) return;
    this.#write(abortMessage(opts));
    this.#shutdown({ reason: 'aborted', ...(opts.diagnostic === undefined ? {} : { detail: opts.diagnostic }) });
  }

  /** Closes without signaling; outstanding requests fail with reason 'closed'. */
  close(): void {
    this.#shutdown({ reason: 'local' });
  }

  // --- receiving --------------------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#closeInfo) return;
    let messages: CoapMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      // A syntax error or an oversize frame cannot be skipped on a byte stream: Abort (§5.6).
      this.abort({ diagnostic: err instanceof DecodeError ? err.message : 'malformed frame' });
      return;
    }
    if (messages.length) this.#backlog.push(...messages);
    this.#pump();
  }

  /**
   * Handles queued messages in order while the peer's side lets us: not while our output is backed up (a Ping
   * would only queue another Pong) and not while maxRequestsInProgress handlers run. Reading from the stream
   * pauses whenever something is held back, so the peer's sending is bounded by TCP flow control, not our memory.
   */
  #pump(): void {
    // Corked, the Pongs and responses of one read leave in one write (one TLS record, not one per message).
    this.#stream.cork();
    try {
      while (this.#backlog.length > 0 && !this.#closeInfo && !this.#blocked()) this.#onMessage(this.#backlog.shift()!);
    } finally {
      this.#stream.uncork();
    }
    if (this.#closeInfo) return;
    const hold = this.#backlog.length > 0 || this.#blocked();
    if (hold && !this.#readingPaused) {
      this.#readingPaused = true;
      this.#stream.pause();
    } else if (!hold && this.#readingPaused) {
      this.#readingPaused = false;
      this.#stream.resume();
    }
  }

  #blocked(): boolean {
    return this.#writeBlocked || this.#inflight >= this.#maxInProgress;
  }

  /** Whether reading is paused (our output is backed up, or too many requests are in progress). For tests and metrics. */
  get readingPaused(): boolean {
    return this.#readingPaused;
  }

  #onDrain(): void {
    if (!this.#writeBlocked) return;
    this.#writeBlocked = false;
    if (this.#stallTimer) {
      this.#timers.clear(this.#stallTimer);
      this.#stallTimer = undefined;
    }
    this.#pump();
  }

  #onMessage(m: CoapMessage): void {
    if (!this.#csmReceived && m.code !== Code.CSM) {
      this.abort({ diagnostic: 'first message was not a CSM (RFC 8323 §3.3)' });
      return;
    }
    if (isSignalingCode(m.code)) this.#onSignal(m);
    else if (isRequestCode(m.code)) this.#onRequest(m);
    else if (isResponseCode(m.code)) this.#onResponse(m);
    // Empty messages are keep-alives and are ignored (§3.4), as are the reserved classes 1 and 6.
  }

  #onSignal(m: CoapMessage): void {
    const known = SIGNALING_OPTIONS[m.code];
    if (known === undefined) return; // an unassigned 7.xx code
    const bad = m.options.find((o) => o.number % 2 === 1 && !known.includes(o.number))?.number;
    if (bad !== undefined && m.code !== Code.ABORT) {
      this.abort({
        diagnostic: `unknown critical option ${bad} in ${m.code === Code.CSM ? 'CSM' : 'signaling message'}`,
        ...(m.code === Code.CSM ? { badCsmOption: bad } : {}),
      });
      return;
    }
    switch (m.code) {
      case Code.CSM:
        this.#onCsm(m);
        break;
      case Code.PING:
        this.#write(pongMessage(m));
        break;
      case Code.PONG: {
        const w = this.#pings.get(m.token.toString('hex'));
        if (w) this.#settle(this.#pings, m.token, w, undefined);
        break;
      }
      case Code.RELEASE:
        // §5.5: no new requests; close once we have answered the requests received before the Release.
        this.#peerReleased = true;
        if (this.#inflight === 0) this.#shutdown({ reason: 'released' });
        break;
      case Code.ABORT:
        this.#shutdown({ reason: 'peer-abort', detail: m.payload.toString('utf8') });
        break;
    }
  }

  /** CSM options are cumulative: a later CSM updates only what it states (§5.3). */
  #onCsm(m: CoapMessage): void {
    let s;
    try {
      s = parseCsm(m);
    } catch (err) {
      this.abort({ diagnostic: err instanceof DecodeError ? err.message : 'bad CSM' });
      return;
    }
    if (s.maxMessageSize !== undefined) this.#peer.maxMessageSize = s.maxMessageSize;
    if (s.blockWiseTransfer) this.#peer.blockWiseTransfer = true;
    if (this.#csmReceived) return;
    this.#csmReceived = true;
    if (this.#csmTimer) this.#timers.clear(this.#csmTimer);
    for (const w of this.#readyWaiters.splice(0)) w.resolve(this.peerSettings);
  }

  #onRequest(req: CoapMessage): void {
    const bad = unknownCriticalOption(req, this.#known);
    const run = async (): Promise<CoapResponse> => {
      if (bad !== undefined) return { code: Code.BAD_OPTION, payload: Buffer.from(`unknown critical option ${bad}`) };
      return this.#handler ? this.#handler(req) : { code: Code.NOT_IMPLEMENTED }; // §3.4: no server → 5.01
    };
    this.#inflight++;
    void run()
      .catch((err: unknown): CoapResponse => {
        this.#onError?.(err);
        return { code: Code.INTERNAL_SERVER_ERROR };
      })
      .then((res) => {
        this.#inflight--;
        if (this.#closeInfo) return;
        this.#write(this.#responseFrame(req, res));
        if (this.#peerReleased && this.#inflight === 0) this.#shutdown({ reason: 'released' });
        else this.#pump();
      });
  }

  #responseFrame(req: CoapMessage, res: CoapResponse): Buffer {
    try {
      if (!isResponseCode(res.code)) throw new InputError(`handler returned ${res.code}, not a response code`);
      return this.#encodeForPeer(
        message({
          code: res.code,
          token: req.token,
          options: res.options ?? [],
          payload: res.payload ?? Buffer.alloc(0),
        }),
      );
    } catch (err) {
      this.#onError?.(err);
      return encodeTcp(message({ code: Code.INTERNAL_SERVER_ERROR, token: req.token }));
    }
  }

  #onResponse(res: CoapMessage): void {
    const w = this.#pending.get(res.token.toString('hex'));
    if (!w) {
      this.#unmatched?.(res);
      return;
    } // no request of ours has this token (a notification, perhaps)
    const bad = unknownCriticalOption(res, this.#known);
    this.#settle(
      this.#pending,
      res.token,
      w,
      bad === undefined ? res : new CoapExchangeError('rejected', `response carries unknown critical option ${bad}`),
    );
  }

  // --- plumbing ---------------------------------------------------------------------------------------------

  #settle<T>(map: Map<string, Waiter<T>>, token: Buffer, w: Waiter<T>, result: T | Error): void {
    map.delete(token.toString('hex'));
    if (w.timer) this.#timers.clear(w.timer);
    if (result instanceof Error) w.reject(result);
    else w.resolve(result);
  }

  /** The peer's Max-Message-Size bounds what we may send it (§5.3.1). */
  #encodeForPeer(msg: CoapMessage): Buffer {
    const frame = encodeTcp(msg);
    if (frame.length > this.#peer.maxMessageSize) {
      throw new InputError(
        `message of ${frame.length} bytes exceeds the peer's Max-Message-Size ${this.#peer.maxMessageSize}`,
      );
    }
    return frame;
  }

  /** Writes, and respects write()'s answer: false means backed up, so stop producing until 'drain'. */
  #write(msg: CoapMessage | Buffer): void {
    if (this.#closeInfo || !this.#stream.writable) return;
    const ok = this.#stream.write(Buffer.isBuffer(msg) ? msg : encodeTcp(msg));
    if (this.#stream.writableLength > this.#maxQueuedOutput) {
      this.#shutdown({
        reason: 'stalled',
        detail: `more than ${this.#maxQueuedOutput} octets queued for a peer that does not read`,
      });
      return;
    }
    if (ok || this.#writeBlocked) return;
    this.#writeBlocked = true;
    // A peer that never reads again is closed; one that reads slowly keeps its connection.
    this.#stallTimer = this.#timers.set(
      () =>
        this.#shutdown({
          reason: 'stalled',
          detail: `output backed up for ${this.#stallTimeoutMs} ms: the peer does not read`,
        }),
      this.#stallTimeoutMs,
    );
  }

  #failure(): CoapExchangeError {
    const info = this.#closeInfo ?? { reason: 'local' };
    return new CoapExchangeError(
      FAILURE[info.reason],
      `connection closed (${info.reason}${info.detail ? `: ${info.detail}` : ''})`,
    );
  }

  #shutdown(info: CloseInfo): void {
    if (this.#closeInfo) return;
    this.#closeInfo = info;
    this.#timers.clearAll();
    for (const w of this.#pending.values()) w.reject(this.#failure());
    this.#pending.clear();
    for (const w of this.#pings.values()) w.reject(this.#failure());
    this.#pings.clear();
    for (const w of this.#readyWaiters.splice(0)) w.reject(this.#failure());
    this.#backlog = [];
    const stream = this.#stream;
    if (info.reason === 'stalled')
      stream.destroy(); // nothing queued will ever be read: drop it now
    else if (!stream.destroyed) {
      // end() flushes what we wrote (an Abort, say) before the socket goes; then release it. A peer that does
      // not read would hold the flush (and the socket) forever: destroy after the release timeout regardless.
      stream.end(() => stream.destroy());
      setTimeout(() => {
        if (!stream.destroyed) stream.destroy();
      }, this.#releaseTimeoutMs).unref();
    }
    for (const l of this.#closeListeners.splice(0)) l(info);
  }

  #freshToken(): Buffer {
    for (;;) {
      const token = this.#randomBytes(this.#tokenLength);
      const key = token.toString('hex');
      if (!this.#pending.has(key) && !this.#pings.has(key)) return token;
    }
  }
}
