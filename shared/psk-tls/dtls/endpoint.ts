/**
 * Transport-independent core of the DTLS server: routes records to associations, answers cookie-less ClientHellos
 * statelessly (RFC 6347 §4.2.1), admits new handshakes under caps, runs client-restart replacement (RFC 6347 §4.2.8),
 * CID lookup (RFC 9146 §6) and idle expiry. `DtlsServer` (server.ts) plugs it onto a UDP socket.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { InputError } from '../../errors.js';
import type { DtlsEvent } from '../events.js';
import { SourceRateLimiter } from '../lookup-limits.js';
import { Association, type AssociationConfig, type AssociationHost } from './association.js';
import { ContentType, DTLS_1_0, DTLS_1_2, HandshakeType, HVR_VERSION, SERVER_CID_LENGTH } from './constants.js';
import { CookieJar, type Peer } from './cookie.js';
import {
  DEFAULT_REASSEMBLY_LIMITS,
  type HandshakeFragment,
  decodeHandshakeFragments,
  encodeHandshake,
  isWhole,
} from './handshake.js';
import { type ClientHello, decodeClientHello, encodeHelloVerifyRequest } from './messages.js';
import { type DtlsRecord, encodeRecord, parseDatagram } from './record.js';
import type { DtlsSession } from './session.js';
import { suiteInfo } from './suites.js';

export type PskResolver = (
  identity: Buffer,
  suite: number,
  peer: { address: string; port: number },
) => Promise<Buffer | null>;

export interface DtlsServerOptions {
  /** Sent in ServerKeyExchange (RFC 4279 §2), e.g. '3GPP-bootstrapping'. Empty: no ServerKeyExchange. */
  pskIdentityHint: string;
  /** Server preference order, e.g. [0xC0A8, 0x00AE, 0x00A8]. */
  cipherSuites: number[];
  /**
   * Called after the suite is negotiated and the ClientKeyExchange arrived, never for an identity over
   * MAX_PSK_IDENTITY_OCTETS. null, a rejected promise or an unusable key → fatal unknown_psk_identity (115,
   * RFC 4279 §2): the client learns only that this identity has no key here; the log says why.
   */
  resolvePsk: PskResolver;
  /**
   * Admission (docs/standards-notes/lwm2m-coap-dtls.md §6.3 #13; a cookie only proves the source address is reachable). Half-open handshakes and
   * established associations have separate budgets, and a full budget evicts rather than refuses, so that no
   * address, however busy, can lock out another.
   */
  limits?: {
    /** Concurrent handshakes (after a valid cookie), all addresses. Full: the oldest of the busiest address goes. Default 1000. */
    maxHalfOpen?: number;
    /** Concurrent handshakes per source IP address. Full: that address's oldest goes. Default 32. */
    maxHalfOpenPerAddress?: number;
    /** Established associations, all addresses. Full: the least recently active goes. Default 10000. */
    maxAssociations?: number;
    /** Established associations per source IP address. Full: that address's least recently active goes. Default 256. */
    maxPerAddress?: number;
    /**
     * Established associations with no authenticated record for this long are forgotten, unless the application
     * set another timeout on the session (the LwM2M server ties it to the registration lifetime). Default 5 min.
     */
    idleTimeoutMs?: number;
    /** Handshakes not finished in this time are dropped. Default 10 s. */
    handshakeTimeoutMs?: number;
    /** PSK lookups each source IP address earns per second (token bucket, default 1000); refused → unknown_psk_identity. */
    lookupRatePerSource?: number;
    /** Lookups a source address may make at once (bucket size, default 1000). */
    lookupBurstPerSource?: number;
    /**
     * Octets handed to the UDP socket and not yet sent (DtlsServer). Beyond it datagrams are dropped, as the
     * network would drop them (RFC 6347 §4.2.4 retransmission recovers handshakes). Default 4 MiB.
     */
    maxPendingSendBytes?: number;
  };
  /** RFC 6347 §4.2.4.1 timer: initial 1 s, doubling, at most 60 s. */
  retransmit?: { initialMs?: number; maxMs?: number };
  /** Negotiate RFC 9146 connection IDs when the client offers them. Default false. */
  connectionId?: boolean;
  /** Structured events (events.ts). Never contains keys. */
  log?: (event: DtlsEvent) => void;
}

/** Extra knobs for tests and embedding; not part of the public server options. */
export interface EndpointOptions extends DtlsServerOptions {
  /** Datagram budget for our flights. Default 1232 (1280 − 48, docs/standards-notes/lwm2m-coap-dtls.md §4.12). */
  mtu?: number;
  cookieSecret?: Buffer;
  cookieRotateMs?: number;
  now?: () => number;
}

export type Transmit = (datagram: Buffer, peer: Peer) => void;

const peerKey = (p: Peer): string => `${p.address}|${p.port}`;

/** Associations grouped by source IP address (insertion order = age). */
class ByAddress {
  private readonly map = new Map<string, Set<Association>>();
  add(address: string, a: Association): void {
    let set = this.map.get(address);
    if (!set) this.map.set(address, (set = new Set()));
    set.add(a);
  }
  delete(address: string, a: Association): void {
    const set = this.map.get(address);
    if (set?.delete(a) && set.size === 0) this.map.delete(address);
  }
  of(address: string): ReadonlySet<Association> {
    return this.map.get(address) ?? new Set();
  }
  /** The address with the most associations. */
  busiest(): ReadonlySet<Association> {
    let best: Set<Association> | undefined;
    for (const set of this.map.values()) if (!best || set.size > best.size) best = set;
    return best ?? new Set();
  }
}

/** The association that authenticated a record longest ago. */
function leastRecentlyActive(set: Iterable<Association>, except: Association): Association | undefined {
  let lra: Association | undefined;
  for (const a of set) if (a !== except && (!lra || a.lastActivity < lra.lastActivity)) lra = a;
  return lra;
}

export class DtlsEndpoint extends EventEmitter implements AssociationHost {
  readonly config: AssociationConfig;
  private readonly limits: {
    maxHalfOpen: number;
    maxHalfOpenPerAddress: number;
    maxAssociations: number;
    maxPerAddress: number;
  };
  private readonly cookies: CookieJar;
  private readonly lookupLimiter: SourceRateLimiter;
  private readonly logFn: (event: DtlsEvent) => void;
  private readonly clock: () => number;
  /** Every live association. */
  private readonly all = new Set<Association>();
  private readonly establishedSet = new Set<Association>();
  /** Handshakes in progress, oldest first. */
  private readonly halfOpen = new Set<Association>();
  private readonly halfOpenByAddress = new ByAddress();
  private readonly establishedByAddress = new ByAddress();
  /** The association (established or handshaking) that owns each address:port. */
  private readonly byPeer = new Map<string, Association>();
  /** New handshakes of restarted clients that still have an established association (RFC 6347 §4.2.8). */
  private readonly restarts = new Map<string, Association>();
  private readonly byCid = new Map<string, Association>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;
  private shutDown = false;

  constructor(
    private readonly opts: EndpointOptions,
    private readonly transmitFn: Transmit,
  ) {
    super();
    validate(opts);
    const l = opts.limits ?? {};
    this.limits = {
      maxHalfOpen: l.maxHalfOpen ?? 1000,
      maxHalfOpenPerAddress: l.maxHalfOpenPerAddress ?? 32,
      maxAssociations: l.maxAssociations ?? 10_000,
      maxPerAddress: l.maxPerAddress ?? 256,
    };
    this.config = {
      pskIdentityHint: Buffer.from(opts.pskIdentityHint, 'utf8'),
      cipherSuites: [...opts.cipherSuites],
      connectionId: opts.connectionId ?? false,
      retransmit: { initialMs: opts.retransmit?.initialMs ?? 1000, maxMs: opts.retransmit?.maxMs ?? 60_000 },
      mtu: opts.mtu ?? 1232,
      reassembly: DEFAULT_REASSEMBLY_LIMITS,
      handshakeTimeoutMs: l.handshakeTimeoutMs ?? 10_000,
      idleTimeoutMs: l.idleTimeoutMs ?? 300_000,
    };
    this.clock = opts.now ?? Date.now;
    this.lookupLimiter = new SourceRateLimiter({
      ratePerSecond: l.lookupRatePerSource ?? 1000,
      burst: l.lookupBurstPerSource ?? 1000,
      now: this.clock,
    });
    const cookieOpts: ConstructorParameters<typeof CookieJar>[0] = { now: this.clock };
    if (opts.cookieSecret) cookieOpts.secret = opts.cookieSecret;
    if (opts.cookieRotateMs !== undefined) cookieOpts.rotateMs = opts.cookieRotateMs;
    this.cookies = new CookieJar(cookieOpts);
    this.logFn = opts.log ?? (() => undefined);
    this.sweepMs = Math.max(
      20,
      Math.min(1000, Math.min(this.config.handshakeTimeoutMs, this.config.idleTimeoutMs) / 4),
    );
  }

  // ---------------------------------------------------------------- input

  /** Handles one datagram. Never throws: whatever is malformed is dropped (RFC 6347 §4.1.2.7). */
  receive(datagram: Buffer, peer: Peer): void {
    if (this.shutDown) return;
    try {
      const { records, error } = parseDatagram(datagram, this.config.connectionId ? SERVER_CID_LENGTH : undefined);
      if (error)
        this.log({ event: 'dtls_datagram_tail_dropped', peer: `${peer.address}:${peer.port}`, reason: error.message });
      for (const rec of records) this.route(rec, peer);
    } catch (e) {
      this.log({
        event: 'dtls_internal_error',
        peer: `${peer.address}:${peer.port}`,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  private route(rec: DtlsRecord, peer: Peer): void {
    if (rec.type === ContentType.tls12Cid) {
      // RFC 9146 §6: the CID, not the address, names the association
      const a = this.byCid.get(rec.cid!.toString('hex'));
      if (a) a.handleRecord(rec, peer);
      return;
    }
    const key = peerKey(peer);
    if (rec.epoch === 0 && rec.type === ContentType.handshake && rec.fragment[0] === HandshakeType.clientHello) {
      this.onClientHelloRecord(rec, peer, key);
      return;
    }
    // While a restarted client's new handshake runs, its records go to the new handshake first.
    const a = this.restarts.get(key) ?? this.byPeer.get(key);
    a?.handleRecord(rec, peer);
  }

  /** RFC 6347 §4.2.1 (cookie exchange) and §4.2.8 (ClientHello on an existing association). */
  private onClientHelloRecord(rec: DtlsRecord, peer: Peer, key: string): void {
    if (rec.version !== DTLS_1_0 && rec.version !== DTLS_1_2) return;
    let frag: HandshakeFragment;
    try {
      frag = decodeHandshakeFragments(rec.fragment)[0]!;
    } catch (e) {
      this.log({
        event: 'dtls_client_hello_dropped',
        peer: `${peer.address}:${peer.port}`,
        reason: (e as Error).message,
      });
      return;
    }
    const current = this.byPeer.get(key);
    const inProgress = this.restarts.get(key) ?? (current && !current.isEstablished ? current : undefined);
    if (!isWhole(frag)) {
      // No state before a verified cookie, so a fragmented cookie-less ClientHello cannot be reassembled: drop it.
      if (inProgress) inProgress.handleRecord(rec, peer);
      else this.log({ event: 'dtls_client_hello_dropped', peer: `${peer.address}:${peer.port}`, reason: 'fragmented' });
      return;
    }
    let ch: ClientHello;
    try {
      ch = decodeClientHello(frag.body);
    } catch (e) {
      this.log({
        event: 'dtls_client_hello_dropped',
        peer: `${peer.address}:${peer.port}`,
        reason: (e as Error).message,
      });
      return;
    }
    if (inProgress?.sameHello(ch)) {
      inProgress.handleRecord(rec, peer);
      return;
    } // ClientHello#2 again: flight 4 again
    if (current?.isEstablished && current.sameHello(ch)) return; // late duplicate of a finished handshake's hello
    if (!this.cookies.verify(peer, ch)) {
      this.sendHelloVerifyRequest(rec, frag, ch, peer);
      return;
    }
    this.startHandshake(rec, frag, ch, peer, key, inProgress);
  }

  /** Stateless: nothing is stored, and the answer is never larger than the request (no amplification). */
  private sendHelloVerifyRequest(rec: DtlsRecord, frag: HandshakeFragment, ch: ClientHello, peer: Peer): void {
    const body = encodeHelloVerifyRequest({ serverVersion: HVR_VERSION, cookie: this.cookies.make(peer, ch) });
    // RFC 6347 §4.2.1: the HelloVerifyRequest reuses the ClientHello's record sequence number (and its message_seq).
    const out = encodeRecord({
      type: ContentType.handshake,
      version: HVR_VERSION,
      epoch: 0,
      seq: rec.seq,
      fragment: encodeHandshake(HandshakeType.helloVerifyRequest, frag.messageSeq, body),
    });
    if (out.length > 13 + rec.fragment.length) return; // cannot happen with a valid ClientHello; kept as the rule
    this.transmit(out, peer);
    this.log({ event: 'dtls_hello_verify_sent', peer: `${peer.address}:${peer.port}` });
  }

  private startHandshake(
    rec: DtlsRecord,
    frag: HandshakeFragment,
    ch: ClientHello,
    peer: Peer,
    key: string,
    inProgress?: Association,
  ): void {
    // A different ClientHello with a valid cookie supersedes a handshake still running for this address:port.
    inProgress?.close('superseded_by_new_client_hello', false);
    const restart = this.byPeer.get(key)?.isEstablished === true;
    this.makeRoomForHandshake(peer);
    const a = new Association(this, { address: peer.address, port: peer.port }, key);
    this.register(a, restart);
    this.log({ event: 'dtls_handshake_started', peer: a.peerText, restart });
    a.begin(ch, frag, rec);
  }

  /**
   * Half-open budgets (the cookie only proves the address is reachable; docs/standards-notes/lwm2m-coap-dtls.md §6.3 #13). A new handshake is
   * always admitted: a full per-address budget costs that address its own oldest handshake, a full global budget
   * costs the address holding the most. A flood from a few addresses thus churns only its own entries.
   */
  private makeRoomForHandshake(peer: Peer): void {
    const own = this.halfOpenByAddress.of(peer.address);
    if (own.size >= this.limits.maxHalfOpenPerAddress) own.values().next().value?.close('evicted_half_open', false);
    if (this.halfOpen.size >= this.limits.maxHalfOpen) {
      this.halfOpenByAddress.busiest().values().next().value?.close('evicted_half_open', false);
    }
  }

  /** Established budgets: evict the least recently active association, of this address first, then of all. */
  private makeRoomForEstablished(a: Association): void {
    const own = this.establishedByAddress.of(a.peer.address);
    if (own.size > this.limits.maxPerAddress) leastRecentlyActive(own, a)?.close('evicted_idle_association', true);
    if (this.establishedSet.size > this.limits.maxAssociations) {
      leastRecentlyActive(this.establishedSet, a)?.close('evicted_idle_association', true);
    }
  }

  // ---------------------------------------------------------------- bookkeeping

  private register(a: Association, restart: boolean): void {
    this.all.add(a);
    (restart ? this.restarts : this.byPeer).set(a.key, a);
    this.halfOpen.add(a);
    this.halfOpenByAddress.add(a.peer.address, a);
    if (!this.sweepTimer) {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs);
    }
  }

  private sweep(): void {
    const now = this.clock();
    for (const a of [...this.all]) a.tick(now);
  }

  // ---------------------------------------------------------------- AssociationHost

  transmit(datagram: Buffer, peer: Peer): void {
    try {
      this.transmitFn(datagram, peer);
    } catch (e) {
      this.log({ event: 'dtls_send_failed', peer: `${peer.address}:${peer.port}`, error: (e as Error).message });
    }
  }

  log(event: DtlsEvent): void {
    try {
      this.logFn(event);
    } catch {
      /* a failing logger must not break the protocol */
    }
  }

  resolvePsk(identity: Buffer, suite: number, peer: Peer): Promise<Buffer | null> {
    if (!this.lookupLimiter.take(peer.address)) {
      this.log({ event: 'dtls_psk_lookup_limited', peer: `${peer.address}:${peer.port}` });
      return Promise.resolve(null);
    }
    return this.opts.resolvePsk(identity, suite, peer);
  }

  /** PSK lookups refused by the per-source rate limit so far. */
  get lookupsLimited(): number {
    return this.lookupLimiter.refused;
  }

  allocateCid(a: Association): Buffer {
    let cid: Buffer;
    do cid = randomBytes(SERVER_CID_LENGTH);
    while (this.byCid.has(cid.toString('hex')));
    this.byCid.set(cid.toString('hex'), a);
    return cid;
  }

  established(a: Association): void {
    this.halfOpen.delete(a);
    this.halfOpenByAddress.delete(a.peer.address, a);
    this.establishedSet.add(a);
    this.establishedByAddress.add(a.peer.address, a);
    if (this.restarts.get(a.key) === a) {
      // RFC 6347 §4.2.8: after a verified Finished the previous association is abandoned.
      this.restarts.delete(a.key);
      const old = this.byPeer.get(a.key);
      this.byPeer.set(a.key, a);
      old?.close('replaced_by_new_handshake', false);
    }
    this.makeRoomForEstablished(a);
    const session: DtlsSession = a.session!;
    this.guard('session listener', () => this.emit('session', session));
  }

  closed(a: Association, _reason: string): void {
    if (!this.all.delete(a)) return;
    this.establishedSet.delete(a);
    this.halfOpen.delete(a);
    this.halfOpenByAddress.delete(a.peer.address, a);
    this.establishedByAddress.delete(a.peer.address, a);
    if (this.byPeer.get(a.key) === a) this.byPeer.delete(a.key);
    if (this.restarts.get(a.key) === a) this.restarts.delete(a.key);
    if (a.ownCid && this.byCid.get(a.ownCid.toString('hex')) === a) this.byCid.delete(a.ownCid.toString('hex'));
    if (this.all.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  peerMoved(a: Association, to: Peer): void {
    const map = this.restarts.get(a.key) === a ? this.restarts : this.byPeer;
    const newKey = peerKey(to);
    if (map.get(a.key) === a) map.delete(a.key);
    // Whatever held the new address is stale now: the address was reassigned (NAT rebinding).
    for (const m of [this.byPeer, this.restarts]) {
      const other = m.get(newKey);
      if (other && other !== a) other.close('address_taken_over', false);
    }
    this.log({ event: 'dtls_peer_moved', from: a.peerText, to: `${to.address}:${to.port}` });
    const byAddress = a.isEstablished ? this.establishedByAddress : this.halfOpenByAddress;
    byAddress.delete(a.peer.address, a);
    byAddress.add(to.address, a);
    a.peer = { address: to.address, port: to.port };
    a.key = newKey;
    map.set(newKey, a);
  }

  offerToPrevious(a: Association, rec: DtlsRecord, from: Peer): boolean {
    if (this.restarts.get(a.key) !== a) return false;
    const old = this.byPeer.get(a.key);
    return !!old && old !== a && old.handleRecord(rec, from) === 'accepted';
  }

  guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log({ event: 'dtls_listener_error', where: what, error: e instanceof Error ? e.message : String(e) });
      if (this.listenerCount('error') > 0) this.emit('error', e);
    }
  }

  now(): number {
    return this.clock();
  }

  // ---------------------------------------------------------------- control

  stats(): { halfOpen: number; associations: number } {
    return { halfOpen: this.halfOpen.size, associations: this.establishedSet.size };
  }

  /** Sends close_notify on established associations, drops the rest, stops all timers. */
  close(): void {
    if (this.shutDown) return;
    for (const a of [...this.all]) a.close('server_close', a.isEstablished);
    this.shutDown = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

function validate(opts: DtlsServerOptions): void {
  if (typeof opts.resolvePsk !== 'function') throw new InputError('resolvePsk must be a function');
  if (!Array.isArray(opts.cipherSuites) || opts.cipherSuites.length === 0)
    throw new InputError('cipherSuites must not be empty');
  for (const s of opts.cipherSuites) {
    if (!suiteInfo(s)) throw new InputError(`unsupported cipher suite 0x${Number(s).toString(16).padStart(4, '0')}`);
  }
  if (Buffer.byteLength(opts.pskIdentityHint ?? '', 'utf8') > 0xffff) throw new InputError('pskIdentityHint too long');
}
