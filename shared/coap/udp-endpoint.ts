/**
 * CoAP-over-UDP message layer for ONE peer association (an ip:port, or a DTLS association: RFC 7252 §9.1 makes
 * the association the endpoint). It is transport-agnostic: it sends datagrams through `send` and is fed received
 * datagrams through `receive`.
 *
 * Implements RFC 7252 §4 reliability (CON retransmission with exponential back-off, ACK/RST matching, message-ID
 * deduplication), §5.2 piggybacked and separate responses, §5.3.2 token matching and §5.4.1 critical options.
 * Observe (RFC 7641) and block-wise transfer (RFC 7959) belong to the layer above; for Observe this layer hands
 * responses no request is waiting for to onUnmatchedResponse (ACK if taken, RST if not: RFC 7641 §3.6) and sends
 * notifications with notify().
 */
import { TimerSet } from './timers.js';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { InputError } from '../errors.js';
import {
  Code,
  CoapExchangeError,
  type CoapMessage,
  type CoapOption,
  type CoapResponse,
  DEFAULT_KNOWN_CRITICAL,
  isRequestCode,
  isResponseCode,
  OptionNumber,
  type RequestHandler,
  sortOptions,
  unknownCriticalOption,
} from './message.js';
import { decodeUdp, encodeUdp } from './udp.js';

/** RFC 7252 §4.8 transmission parameters and the §4.8.2 times derived from them. */
export const COAP_UDP_DEFAULTS = {
  ackTimeoutMs: 2_000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  nstart: 1,
  exchangeLifetimeMs: 247_000,
  nonLifetimeMs: 145_000,
  maxTransmitWaitMs: 93_000,
} as const;

export interface UdpEndpointOptions {
  send: (datagram: Buffer) => void;
  ackTimeoutMs?: number;
  ackRandomFactor?: number;
  maxRetransmit?: number;
  /** Outstanding interactions (requests waiting for a response) with this peer, RFC 7252 §4.7. */
  nstart?: number;
  /** How long a received CON's message ID is remembered for deduplication (§4.5). */
  exchangeLifetimeMs?: number;
  /** The same for NON (§4.5). */
  nonLifetimeMs?: number;
  /** Wait for the response to a NON request, or for a separate response after an empty ACK. Default MAX_TRANSMIT_WAIT. */
  responseTimeoutMs?: number;
  /** A handler slower than this gets an empty ACK first and a separate response later (§5.2.2). Default ACK_TIMEOUT / 2. */
  piggybackWindowMs?: number;
  /** Bound of the deduplication cache; the oldest entry goes first. */
  maxDedupEntries?: number;
  /** Critical options handlers understand; other critical options get 4.02 (§5.4.1). */
  knownCriticalOptions?: ReadonlySet<number>;
  /**
   * Incoming requests whose handler has not finished; a request beyond this gets 5.03 with Max-Age 1
   * (§5.9.3.4, §5.10.5) instead of running. Default 16.
   */
  maxRequestsInProgress?: number;
  /** Our own requests waiting for an NSTART slot (§4.7); beyond this request() rejects at once. Default 64. */
  maxQueuedRequests?: number;
  tokenLength?: number;
  /** Uniform in [0, 1): retransmission jitter and the initial message ID. */
  random?: () => number;
  randomBytes?: (n: number) => Buffer;
  now?: () => number;
  /** Failures that have nowhere else to go: a throwing `send`, a throwing handler, an unencodable response. */
  onError?: (err: unknown) => void;
}

/** An outgoing request; the endpoint picks the message ID and, unless given, the token. */
export interface OutgoingRequest {
  type?: 'CON' | 'NON';
  code: number;
  token?: Buffer;
  options?: CoapOption[];
  payload?: Buffer;
}

interface Transmission {
  timer?: NodeJS.Timeout;
  /** For a request: a piggybacked ACK must carry this token (§5.3.2). */
  token?: Buffer;
  onAck(ack: CoapMessage): void;
  onReset(): void;
  onTimeout(): void;
}

interface Pending {
  token: Buffer;
  messageId: number;
  settled: boolean;
  timer?: NodeJS.Timeout;
  resolve(res: CoapMessage): void;
  reject(err: Error): void;
}

interface DedupEntry {
  expiresAtMs: number;
  /** What we answered (ACK, piggybacked response, RST), resent for a duplicate. Undefined while still processing. */
  reply?: Buffer;
}

const EMPTY = Buffer.alloc(0);
const empty = (type: 'ACK' | 'RST', messageId: number): Buffer =>
  encodeUdp({ type, code: Code.EMPTY, messageId, token: EMPTY, options: [], payload: EMPTY });

export class CoapUdpEndpoint {
  readonly #send: (d: Buffer) => void;
  readonly #cfg: Required<Omit<UdpEndpointOptions, 'send' | 'onError'>>;
  readonly #onError: ((err: unknown) => void) | undefined;
  #handler: RequestHandler | undefined;
  #unmatched: ((res: CoapMessage) => boolean) | undefined;
  #nextMid: number;
  #active = 0;
  #incoming = 0; // incoming requests whose handler has not finished
  #closed = false;
  readonly #transmissions = new Map<number, Transmission>(); // our CONs awaiting ACK/RST, by message ID
  readonly #pending = new Map<string, Pending>(); // our requests awaiting a response, by token (hex)
  readonly #nonRequests = new Map<number, Pending>(); // our NON requests, by message ID, for RST matching
  readonly #dedup = new Map<number, DedupEntry>(); // received CON/NON message IDs, oldest first
  readonly #queue: { start(): void; reject(err: Error): void }[] = [];
  readonly #timers = new TimerSet();
  readonly #nonNotifications = new Map<number, Buffer>(); // NON notifications sent, by message ID, for RST matching
  #notificationReset: ((token: Buffer) => void) | undefined;

  constructor(options: UdpEndpointOptions) {
    const ackTimeoutMs = options.ackTimeoutMs ?? COAP_UDP_DEFAULTS.ackTimeoutMs;
    this.#send = options.send;
    this.#onError = options.onError;
    this.#cfg = {
      ackTimeoutMs,
      ackRandomFactor: options.ackRandomFactor ?? COAP_UDP_DEFAULTS.ackRandomFactor,
      maxRetransmit: options.maxRetransmit ?? COAP_UDP_DEFAULTS.maxRetransmit,
      nstart: options.nstart ?? COAP_UDP_DEFAULTS.nstart,
      exchangeLifetimeMs: options.exchangeLifetimeMs ?? COAP_UDP_DEFAULTS.exchangeLifetimeMs,
      nonLifetimeMs: options.nonLifetimeMs ?? COAP_UDP_DEFAULTS.nonLifetimeMs,
      responseTimeoutMs: options.responseTimeoutMs ?? COAP_UDP_DEFAULTS.maxTransmitWaitMs,
      piggybackWindowMs: options.piggybackWindowMs ?? ackTimeoutMs / 2,
      maxDedupEntries: options.maxDedupEntries ?? 1024,
      maxRequestsInProgress: Math.max(1, options.maxRequestsInProgress ?? 16),
      maxQueuedRequests: options.maxQueuedRequests ?? 64,
      knownCriticalOptions: options.knownCriticalOptions ?? DEFAULT_KNOWN_CRITICAL,
      tokenLength: options.tokenLength ?? 4,
      random: options.random ?? Math.random,
      randomBytes: options.randomBytes ?? cryptoRandomBytes,
      now: options.now ?? Date.now,
    };
    // The initial message ID should be randomised (§4.4).
    this.#nextMid = Math.floor(this.#cfg.random() * 0x10000) & 0xffff;
  }

  onRequest(handler: RequestHandler): void {
    this.#handler = handler;
  }

  /** Responses no request is waiting for (Observe notifications); return false to reject them with RST. */
  onUnmatchedResponse(listener: (res: CoapMessage) => boolean): void {
    this.#unmatched = listener;
  }

  /**
   * Sends a notification (RFC 7641 §4.2) under `token` as CON or NON. Resolves 'ack' when a CON is acknowledged
   * (or at once for NON), 'reset' when the peer answers RST (it has lost interest, §3.6), 'timeout' otherwise.
   */
  notify(token: Buffer, res: CoapResponse, type: 'CON' | 'NON' = 'CON'): Promise<'ack' | 'reset' | 'timeout'> {
    if (this.#closed) return Promise.resolve('timeout');
    const mid = this.#allocateMid();
    let bytes: Buffer;
    try {
      bytes = encodeUdp({
        type,
        code: res.code,
        messageId: mid,
        token,
        options: sortOptions(res.options ?? []),
        payload: res.payload ?? EMPTY,
      });
    } catch (err) {
      this.#onError?.(err);
      return Promise.resolve('timeout');
    }
    if (type === 'NON') {
      this.#nonNotifications.set(mid, token);
      if (this.#nonNotifications.size > 256) this.#nonNotifications.delete(this.#nonNotifications.keys().next().value!);
      this.#transmitOnce(bytes);
      return Promise.resolve('ack');
    }
    return new Promise((resolve) => {
      this.#transmit(mid, bytes, {
        onAck: () => resolve('ack'),
        onReset: () => resolve('reset'),
        onTimeout: () => resolve('timeout'),
      });
    });
  }

  /** Called with the token of a NON notification the peer answered with RST. */
  onNotificationReset(listener: (token: Buffer) => void): void {
    this.#notificationReset = listener;
  }

  /** Sends a request (CON unless `type: 'NON'`); resolves with the response, rejects with CoapExchangeError. */
  request(req: OutgoingRequest): Promise<CoapMessage> {
    if (this.#closed) return Promise.reject(new CoapExchangeError('closed', 'CoAP endpoint closed'));
    if (!isRequestCode(req.code)) return Promise.reject(new InputError(`code ${req.code} is not a request code`));
    if (this.#queue.length >= this.#cfg.maxQueuedRequests) {
      return Promise.reject(
        new CoapExchangeError('rejected', `${this.#queue.length} requests already wait for this peer (NSTART, §4.7)`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ start: () => this.#start(req, resolve, reject), reject });
      this.#pump();
    });
  }

  /** Feeds one received datagram. */
  receive(datagram: Buffer): void {
    if (this.#closed) return;
    let msg: CoapMessage;
    try {
      msg = decodeUdp(datagram);
    } catch {
      this.#rejectMalformed(datagram);
      return;
    }
    if (msg.type === 'ACK') this.#onAck(msg);
    else if (msg.type === 'RST') this.#onReset(msg);
    else this.#onConOrNon(msg);
  }

  /** Stops every timer and fails every outstanding request; later datagrams and handler results are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.clearAll();
    this.#transmissions.clear();
    const closed = () => new CoapExchangeError('closed', 'CoAP endpoint closed');
    for (const p of this.#pending.values()) p.reject(closed());
    this.#pending.clear();
    this.#nonRequests.clear();
    for (const q of this.#queue.splice(0)) q.reject(closed());
    this.#dedup.clear();
  }

  // --- outgoing requests ------------------------------------------------------------------------------------

  /** NSTART (§4.7): at most `nstart` requests outstanding; the rest wait in order. */
  #pump(): void {
    while (!this.#closed && this.#active < this.#cfg.nstart && this.#queue.length > 0) this.#queue.shift()!.start();
  }

  #start(req: OutgoingRequest, resolve: (m: CoapMessage) => void, reject: (e: Error) => void): void {
    const token = req.token ?? this.#freshToken();
    if (this.#pending.has(token.toString('hex'))) {
      reject(new InputError('token already used by an outstanding request'));
      return;
    }
    const type = req.type ?? 'CON';
    const messageId = this.#allocateMid();
    let bytes: Buffer;
    try {
      bytes = encodeUdp({
        type,
        code: req.code,
        messageId,
        token,
        options: sortOptions(req.options ?? []),
        payload: req.payload ?? EMPTY,
      });
    } catch (err) {
      reject(err as Error);
      return;
    }
    this.#active++;
    const p: Pending = { token, messageId, settled: false, resolve, reject };
    this.#pending.set(token.toString('hex'), p);
    if (type === 'CON') {
      this.#transmit(messageId, bytes, {
        token,
        onAck: (ack) => (ack.code === Code.EMPTY ? this.#awaitResponse(p) : this.#deliver(p, ack)),
        onReset: () => this.#settle(p, new CoapExchangeError('reset', 'peer answered the request with RST')),
        onTimeout: () =>
          this.#settle(p, new CoapExchangeError('timeout', 'no ACK after MAX_RETRANSMIT retransmissions')),
      });
    } else {
      this.#nonRequests.set(messageId, p);
      this.#transmitOnce(bytes);
      this.#awaitResponse(p);
    }
  }

  /** After an empty ACK (§5.2.2), or for a NON request: wait for the response, but not forever. */
  #awaitResponse(p: Pending): void {
    if (p.timer) this.#timers.clear(p.timer);
    p.timer = this.#timers.set(
      () => this.#settle(p, new CoapExchangeError('timeout', 'no response within the response timeout')),
      this.#cfg.responseTimeoutMs,
    );
  }

  /** Resolves a request with its response, unless the response carries an unknown critical option (§5.4.1). */
  #deliver(p: Pending, response: CoapMessage): boolean {
    const bad = unknownCriticalOption(response, this.#cfg.knownCriticalOptions);
    if (bad !== undefined) {
      this.#settle(p, new CoapExchangeError('rejected', `response carries unknown critical option ${bad}`));
      return false;
    }
    this.#settle(p, response);
    return true;
  }

  #settle(p: Pending, result: CoapMessage | Error): void {
    if (p.settled) return;
    p.settled = true;
    if (p.timer) this.#timers.clear(p.timer);
    this.#stopTransmission(p.messageId);
    this.#pending.delete(p.token.toString('hex'));
    this.#nonRequests.delete(p.messageId);
    this.#active--;
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
    this.#pump();
  }

  // --- reliable transmission (§4.2, §4.8) --------------------------------------------------------------------

  #transmit(messageId: number, bytes: Buffer, t: Transmission): void {
    const { ackTimeoutMs, ackRandomFactor, maxRetransmit, random } = this.#cfg;
    let timeoutMs = ackTimeoutMs * (1 + random() * (ackRandomFactor - 1));
    let retransmissions = 0;
    const expire = (): void => {
      if (retransmissions === maxRetransmit) {
        this.#transmissions.delete(messageId);
        t.onTimeout();
        return;
      }
      retransmissions++;
      this.#transmitOnce(bytes);
      timeoutMs *= 2;
      t.timer = this.#timers.set(expire, timeoutMs);
    };
    this.#transmissions.set(messageId, t);
    this.#transmitOnce(bytes);
    t.timer = this.#timers.set(expire, timeoutMs);
  }

  #stopTransmission(messageId: number): void {
    const t = this.#transmissions.get(messageId);
    if (!t) return;
    if (t.timer) this.#timers.clear(t.timer);
    this.#transmissions.delete(messageId);
  }

  #onAck(ack: CoapMessage): void {
    const t = this.#transmissions.get(ack.messageId!);
    if (!t) return; // late or duplicate ACK
    // A piggybacked response must be a response with the request's token (§5.2.1, §5.3.2).
    if (ack.code !== Code.EMPTY && (!isResponseCode(ack.code) || !t.token || !ack.token.equals(t.token))) return;
    this.#stopTransmission(ack.messageId!);
    t.onAck(ack);
  }

  #onReset(rst: CoapMessage): void {
    const t = this.#transmissions.get(rst.messageId!);
    if (t) {
      this.#stopTransmission(rst.messageId!);
      t.onReset();
      return;
    }
    const p = this.#nonRequests.get(rst.messageId!);
    if (p) this.#settle(p, new CoapExchangeError('reset', 'peer answered the request with RST'));
    const token = this.#nonNotifications.get(rst.messageId!);
    if (token) {
      this.#nonNotifications.delete(rst.messageId!);
      this.#notificationReset?.(token);
    }
  }

  // --- incoming CON / NON -----------------------------------------------------------------------------------

  #onConOrNon(msg: CoapMessage): void {
    const mid = msg.messageId!;
    const seen = this.#lookupDuplicate(mid);
    if (seen) {
      // §4.5: a duplicate gets the same answer again, without processing it again.
      if (seen.reply) this.#transmitOnce(seen.reply);
      return;
    }
    const entry = this.#remember(mid, msg.type === 'CON' ? this.#cfg.exchangeLifetimeMs : this.#cfg.nonLifetimeMs);
    if (isRequestCode(msg.code)) this.#onRequest(msg, entry);
    else if (isResponseCode(msg.code)) this.#onSeparateResponse(msg, entry);
    // An Empty CON (a "CoAP ping", §4.3) or a reserved class (1, 6, 7, §4.2) is rejected; NON is ignored.
    else if (msg.type === 'CON') this.#reply(entry, empty('RST', mid));
  }

  #onRequest(req: CoapMessage, entry: DedupEntry): void {
    const bad = unknownCriticalOption(req, this.#cfg.knownCriticalOptions);
    if (bad !== undefined) {
      // §5.4.1: 4.02 for a CON request; a NON message is rejected (RST).
      if (req.type === 'CON')
        this.#sendResponse(
          req,
          entry,
          { code: Code.BAD_OPTION, payload: Buffer.from(`unknown critical option ${bad}`) },
          false,
        );
      else this.#transmitOnce(empty('RST', req.messageId!));
      return;
    }
    if (this.#incoming >= this.#cfg.maxRequestsInProgress) {
      // Too many of this peer's requests still running: 5.03 with Max-Age (§5.9.3.4) tells it when to retry;
      // remembered for deduplication like any answer, so retransmissions get it too (§4.5).
      const busy: CoapResponse = {
        code: Code.SERVICE_UNAVAILABLE,
        options: [{ number: OptionNumber.MAX_AGE, value: Buffer.of(1) }],
      };
      this.#sendResponse(req, entry, busy, false);
      return;
    }
    this.#incoming++;
    let separate = false;
    const window =
      req.type === 'CON'
        ? this.#timers.set(() => {
            separate = true;
            this.#reply(entry, empty('ACK', req.messageId!)); // §5.2.2: empty ACK now, response later
          }, this.#cfg.piggybackWindowMs)
        : undefined;
    const handler = this.#handler;
    const run = async (): Promise<CoapResponse> => (handler ? handler(req) : { code: Code.NOT_IMPLEMENTED });
    void run()
      .catch((err: unknown): CoapResponse => {
        this.#onError?.(err);
        return { code: Code.INTERNAL_SERVER_ERROR };
      })
      .then((res) => {
        this.#incoming--;
        if (window) this.#timers.clear(window);
        if (!this.#closed) this.#sendResponse(req, entry, res, separate);
      });
  }

  #sendResponse(req: CoapMessage, entry: DedupEntry, res: CoapResponse, separate: boolean): void {
    const build = (type: 'ACK' | 'CON' | 'NON', messageId: number): Buffer => {
      try {
        if (!isResponseCode(res.code)) throw new InputError(`handler returned ${res.code}, not a response code`);
        return encodeUdp({
          type,
          code: res.code,
          messageId,
          token: req.token,
          options: sortOptions(res.options ?? []),
          payload: res.payload ?? EMPTY,
        });
      } catch (err) {
        this.#onError?.(err);
        return encodeUdp({
          type,
          code: Code.INTERNAL_SERVER_ERROR,
          messageId,
          token: req.token,
          options: [],
          payload: EMPTY,
        });
      }
    };
    if (req.type === 'CON' && !separate) {
      this.#reply(entry, build('ACK', req.messageId!)); // piggybacked, §5.2.1
    } else if (req.type === 'CON') {
      const mid = this.#allocateMid(); // separate response: new message ID, same token, itself confirmable (§5.2.2)
      this.#transmit(mid, build('CON', mid), { onAck: () => {}, onReset: () => {}, onTimeout: () => {} });
    } else {
      this.#transmitOnce(build('NON', this.#allocateMid())); // §5.2.3
    }
  }

  /** A response in its own CON or NON message (§5.2.2, §5.2.3): match it to our request by token (§5.3.2). */
  #onSeparateResponse(res: CoapMessage, entry: DedupEntry): void {
    const p = this.#pending.get(res.token.toString('hex'));
    if (!p) {
      // A notification of an observation above us is taken (ACK); anything else is unexpected (RST, §5.3.2).
      const taken = this.#unmatched?.(res) ?? false;
      if (res.type === 'CON') this.#reply(entry, empty(taken ? 'ACK' : 'RST', res.messageId!));
      else if (!taken) this.#transmitOnce(empty('RST', res.messageId!));
      return;
    }
    // The response may overtake the empty ACK (§5.2.2); it ends the retransmission of our request either way.
    this.#stopTransmission(p.messageId);
    const accepted = this.#deliver(p, res);
    if (res.type === 'CON') this.#reply(entry, empty(accepted ? 'ACK' : 'RST', res.messageId!));
  }

  /** §4.2: a CON with a format error is rejected with RST; anything else (and any other version, §3) is ignored. */
  #rejectMalformed(d: Buffer): void {
    if (d.length >= 4 && d[0]! >> 6 === 1 && ((d[0]! >> 4) & 0x03) === 0)
      this.#transmitOnce(empty('RST', d.readUInt16BE(2)));
  }

  // --- deduplication (§4.5) ---------------------------------------------------------------------------------

  #lookupDuplicate(mid: number): DedupEntry | undefined {
    const e = this.#dedup.get(mid);
    if (e && e.expiresAtMs > this.#cfg.now()) return e;
    if (e) this.#dedup.delete(mid);
    return undefined;
  }

  #remember(mid: number, lifetimeMs: number): DedupEntry {
    const now = this.#cfg.now();
    for (const [k, e] of this.#dedup) {
      if (e.expiresAtMs > now) break;
      this.#dedup.delete(k);
    }
    while (this.#dedup.size >= this.#cfg.maxDedupEntries) this.#dedup.delete(this.#dedup.keys().next().value!);
    const entry: DedupEntry = { expiresAtMs: now + lifetimeMs };
    this.#dedup.set(mid, entry);
    return entry;
  }

  #reply(entry: DedupEntry, bytes: Buffer): void {
    entry.reply = bytes;
    this.#transmitOnce(bytes);
  }

  // --- plumbing ---------------------------------------------------------------------------------------------

  #transmitOnce(bytes: Buffer): void {
    try {
      this.#send(bytes);
    } catch (err) {
      this.#onError?.(err);
    }
  }

  #allocateMid(): number {
    const mid = this.#nextMid;
    this.#nextMid = (mid + 1) & 0xffff;
    return mid;
  }

  #freshToken(): Buffer {
    for (;;) {
      const token = this.#cfg.randomBytes(this.#cfg.tokenLength);
      if (!this.#pending.has(token.toString('hex'))) return token;
    }
  }
}
