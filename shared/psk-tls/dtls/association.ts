/**
 * One peer's DTLS 1.2 PSK association: the server side of the handshake (RFC 6347 §4.2, RFC 5246 §7.4, RFC 4279 §2)
 * after the cookie exchange, then record protection for application data.
 *
 * Flights (RFC 6347 §4.2.4, docs/standards-notes/lwm2m-coap-dtls.md §4.3):   3 ClientHello+cookie →  4 ServerHello, ServerKeyExchange(hint), ServerHelloDone
 *                                            5 ClientKeyExchange, CCS, Finished  →  6 CCS, Finished
 * Flight 4 is retransmitted on a timer and when ClientHello#2 is retransmitted. Flight 6 (the last) has no timer:
 * it is kept and resent when the client retransmits its Finished.
 */
import { randomBytes } from 'node:crypto';
import { secretEqual } from '../../bytes.js';
import { DecodeError, InputError } from '../../errors.js';
import type { DtlsEvent } from '../events.js';
import { MAX_PSK_IDENTITY_OCTETS } from '../lookup-limits.js';
import { AlertDescription, AlertLevel, FatalAlert, alertName, decodeAlert, encodeAlert } from './alerts.js';
import { createRecordCipher } from './cipher.js';
import { type FlightItem, ReadState, WriteState } from './connection-state.js';
import { ContentType, DTLS_1_0, DTLS_1_2, ExtensionType, HandshakeType, RENEGOTIATION_SCSV } from './constants.js';
import type { Peer } from './cookie.js';
import {
  checkExtendedMasterSecret,
  decodeConnectionId,
  decodeMaxFragmentLength,
  decodeRenegotiationInfo,
  decodeServerName,
  ext,
  findExtension,
  type Extension,
} from './extensions.js';
import {
  type AddResult,
  type HandshakeFragment,
  type HandshakeMessage,
  type ReassemblyLimits,
  Reassembler,
  decodeHandshakeFragments,
  encodeHandshake,
} from './handshake.js';
import {
  type ClientHello,
  decodeClientKeyExchange,
  decodeFinished,
  encodeServerHello,
  encodeServerKeyExchange,
} from './messages.js';
import { extendedMasterSecret, keyBlock, masterSecret, pskPremasterSecret, transcriptHash, verifyData } from './prf.js';
import type { DtlsRecord } from './record.js';
import { FlightTimer, type RetransmitOptions } from './retransmit.js';
import { Session, type SessionBackend } from './session.js';
import { type SuiteInfo, keyBlockLength, splitKeyBlock, suiteInfo } from './suites.js';

/** The highest ClientHello message_seq that leaves room for both flights (server 3 + Finished, client 3) in 16 bits. */
export const MAX_CLIENT_HELLO_SEQ = 0xffff - 8;

/** Settings an association reads; resolved by the endpoint. */
export interface AssociationConfig {
  pskIdentityHint: Buffer;
  cipherSuites: number[];
  connectionId: boolean;
  retransmit: RetransmitOptions;
  /** Datagram budget for our flights (docs/standards-notes/lwm2m-coap-dtls.md §4.12: 1280 − 48 for IPv6/UDP). */
  mtu: number;
  reassembly: ReassemblyLimits;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
}

/** What an association needs from the endpoint that owns it. */
export interface AssociationHost {
  readonly config: AssociationConfig;
  transmit(datagram: Buffer, peer: Peer): void;
  log(event: DtlsEvent): void;
  resolvePsk(identity: Buffer, suite: number, peer: Peer): Promise<Buffer | null>;
  /** Issues a CID unique on this endpoint and indexes it (RFC 9146 §3). */
  allocateCid(a: Association): Buffer;
  established(a: Association): void;
  closed(a: Association, reason: string): void;
  /** RFC 9146 §6: a CID record authenticated from a new address with the newest sequence number. */
  peerMoved(a: Association, to: Peer): void;
  /**
   * A restarted client's new handshake runs next to its old association (RFC 6347 §4.2.8). An epoch-1 record that
   * the new keys reject may belong to the old association: returns true if the old one accepted it.
   */
  offerToPrevious(a: Association, rec: DtlsRecord, from: Peer): boolean;
  /** Runs application callbacks so that their exceptions never break the protocol. */
  guard(what: string, fn: () => void): void;
  now(): number;
}

export type AssociationState =
  'awaitKeyExchange' | 'resolvingPsk' | 'awaitChangeCipherSpec' | 'awaitFinished' | 'established' | 'closed';

/** Records that arrive before they can be processed (next epoch before CCS, anything during the PSK lookup). */
const MAX_HELD_RECORDS = 8;
const MAX_HELD_BYTES = 4096;

export type RecordVerdict = 'accepted' | 'rejected';

export class Association implements SessionBackend {
  state: AssociationState = 'awaitKeyExchange';
  /** The endpoint's map key for `peer`; maintained by the endpoint. */
  key: string;
  readonly createdAt: number;
  lastActivity: number;
  cipherSuite = 0;
  pskIdentity: Buffer = Buffer.alloc(0);
  serverName: string | undefined;
  session: Session | undefined;
  /** Set by the application through the session (e.g. to the registration lifetime); else the endpoint's. */
  idleTimeoutMs: number;

  private suite: SuiteInfo | undefined;
  /** Copies, so that no received datagram stays referenced (a datagram may be 64 KiB). */
  private clientRandom: Buffer = Buffer.alloc(0);
  private clientCookie: Buffer = Buffer.alloc(0);
  private clientHelloSeq = 0;
  private readonly serverRandom = randomBytes(32);
  private ems = false;
  private transcript: Buffer[] = [];
  private reassembler: Reassembler;
  private nextServerSeq = 0;
  private readonly read = new ReadState();
  private readonly write: WriteState;
  private master: Buffer | undefined;
  private establishedAt = 0;
  private lastFlight: FlightItem[] = [];
  private held: { rec: DtlsRecord; from: Peer }[] = [];
  private heldBytes = 0;
  private readonly timer: FlightTimer;

  constructor(
    private readonly host: AssociationHost,
    public peer: Peer,
    key: string,
  ) {
    this.key = key;
    this.createdAt = host.now();
    this.lastActivity = this.createdAt;
    this.idleTimeoutMs = host.config.idleTimeoutMs;
    this.reassembler = new Reassembler(0, host.config.reassembly);
    this.write = new WriteState(host.config.mtu, (d) => this.host.transmit(d, this.peer));
    this.timer = new FlightTimer(
      host.config.retransmit,
      () => this.retransmitFlight('timer'),
      () => this.close('retransmissions_exhausted', false),
    );
  }

  // ---------------------------------------------------------------- handshake start (flight 3 → flight 4)

  /** Starts the handshake with a ClientHello whose cookie the endpoint has verified (RFC 6347 §4.2.1). */
  begin(ch: ClientHello, frag: HandshakeFragment, rec: DtlsRecord): void {
    this.clientRandom = Buffer.from(ch.random);
    this.clientCookie = Buffer.from(ch.cookie);
    this.clientHelloSeq = frag.messageSeq;
    this.reassembler = new Reassembler(frag.messageSeq + 1, this.host.config.reassembly);
    this.read.accept(rec);
    // Digest §4.3: our epoch-0 records continue from ClientHello#2's record seq, so the ServerHello never
    // reuses the sequence number that the stateless HelloVerifyRequest echoed (clients run a replay window).
    this.write.startEpoch0At(Math.min(rec.seq, 2 ** 40));
    this.nextServerSeq = frag.messageSeq; // ServerHello message_seq = ClientHello#2's (docs/standards-notes/lwm2m-coap-dtls.md §4.4)
    this.transcript.push(encodeHandshake(HandshakeType.clientHello, frag.messageSeq, frag.body));
    this.run(() => {
      // RFC 6347 §4.2.2: message_seq is 16 bits, and both sides count up from this ClientHello's (ServerHello takes
      // it, the rest follow); one numbered so high that the handshake would wrap cannot complete: illegal_parameter.
      if (frag.messageSeq > MAX_CLIENT_HELLO_SEQ)
        throw new FatalAlert(
          AlertDescription.illegalParameter,
          `ClientHello message_seq ${frag.messageSeq} leaves no room for the handshake`,
        );
      const extensions = this.negotiate(ch);
      this.sendServerFlight(extensions);
    });
  }

  /** True when `ch` is the ClientHello that started this handshake (a retransmission of it). */
  sameHello(ch: ClientHello): boolean {
    return this.clientRandom.equals(ch.random) && this.clientCookie.equals(ch.cookie);
  }

  get isEstablished(): boolean {
    return this.state === 'established';
  }

  /** CID we asked the peer to put in records to us (RFC 9146), if negotiated. */
  get ownCid(): Buffer | undefined {
    return this.read.ownCid;
  }

  /** Picks the suite and the extensions to echo (RFC 5246 §7.4.1.3; docs/standards-notes/lwm2m-coap-dtls.md §4.5). */
  private negotiate(ch: ClientHello): Extension[] {
    // Versions are inverted (RFC 6347 §4.1): a larger value is an older DTLS.
    if (ch.clientVersion > DTLS_1_2)
      throw new FatalAlert(AlertDescription.protocolVersion, 'client does not offer DTLS 1.2');
    if (!ch.compressionMethods.includes(0))
      throw new FatalAlert(AlertDescription.handshakeFailure, 'null compression not offered');
    const code = this.host.config.cipherSuites.find((s) => ch.cipherSuites.includes(s));
    const suite = code === undefined ? undefined : suiteInfo(code);
    if (!suite) throw new FatalAlert(AlertDescription.handshakeFailure, 'no common cipher suite');
    this.suite = suite;
    this.cipherSuite = suite.code;

    const exts: Extension[] = [];
    const find = (type: number): Extension | undefined => findExtension(ch.extensions, type);
    const reneg = find(ExtensionType.renegotiationInfo);
    // RFC 5746 §3.6: on an initial handshake renegotiated_connection must be empty; echo it (empty) when offered.
    if (reneg && decodeRenegotiationInfo(reneg.data).length !== 0) {
      throw new FatalAlert(AlertDescription.handshakeFailure, 'non-empty renegotiation_info in an initial handshake');
    }
    if (reneg || ch.cipherSuites.includes(RENEGOTIATION_SCSV)) exts.push(ext.renegotiationInfoEmpty());
    const ems = find(ExtensionType.extendedMasterSecret);
    if (ems) {
      // RFC 7627 §5.2: echo it and use the session hash
      checkExtendedMasterSecret(ems.data);
      this.ems = true;
      exts.push(ext.extendedMasterSecret());
    }
    const mfl = find(ExtensionType.maxFragmentLength);
    if (mfl) {
      // RFC 6066 §4: echo the same value and respect it
      try {
        this.write.maxPlaintext = decodeMaxFragmentLength(mfl.data);
      } catch {
        throw new FatalAlert(AlertDescription.illegalParameter, 'bad max_fragment_length');
      }
      exts.push(ext.maxFragmentLength(this.write.maxPlaintext));
    }
    const sni = find(ExtensionType.serverName);
    if (sni) this.serverName = decodeServerName(sni.data); // kept for the NAF FQDN (TS 24.109); not echoed
    const cid = find(ExtensionType.connectionId);
    if (cid && this.host.config.connectionId) {
      // RFC 9146 §3: answer with the CID we want to receive
      this.write.peerCid = Buffer.from(decodeConnectionId(cid.data));
      this.read.ownCid = this.host.allocateCid(this);
      exts.push(ext.connectionId(this.read.ownCid));
    }
    return exts;
  }

  private sendServerFlight(extensions: Extension[]): void {
    const sh = encodeServerHello({
      serverVersion: DTLS_1_2,
      random: this.serverRandom,
      sessionId: Buffer.alloc(0), // no resumption: empty id
      cipherSuite: this.cipherSuite,
      compressionMethod: 0,
      extensions,
    });
    const items: FlightItem[] = [this.handshakeItem(HandshakeType.serverHello, sh)];
    const hint = this.host.config.pskIdentityHint;
    // RFC 4279 §2: ServerKeyExchange carries the hint; it may be omitted when there is none.
    if (hint.length > 0) items.push(this.handshakeItem(HandshakeType.serverKeyExchange, encodeServerKeyExchange(hint)));
    items.push(this.handshakeItem(HandshakeType.serverHelloDone, Buffer.alloc(0)));
    this.lastFlight = items;
    this.write.sendFlight(items);
    this.timer.start();
    this.host.log({
      event: 'dtls_flight4_sent',
      peer: this.peerText,
      suite: this.cipherSuite,
      ems: this.ems,
      cid: !!this.ownCid,
    });
  }

  /** A server handshake message: next message_seq, added to the transcript (RFC 6347 §4.2.6). */
  private handshakeItem(msgType: number, body: Buffer, epoch = 0): FlightItem {
    const messageSeq = this.nextServerSeq++;
    this.transcript.push(encodeHandshake(msgType, messageSeq, body));
    return { kind: 'handshake', epoch, msgType, messageSeq, body };
  }

  // ---------------------------------------------------------------- record input

  /** Processes one record from this peer; 'rejected' when it was dropped without any effect. */
  handleRecord(rec: DtlsRecord, from: Peer): RecordVerdict {
    if (this.state === 'closed') return 'rejected';
    // RFC 6347 §4.1: epoch-0 ClientHello-era records may carry DTLS 1.0; protected ones must be DTLS 1.2.
    if (rec.version !== DTLS_1_2 && !(rec.epoch === 0 && rec.version === DTLS_1_0)) return 'rejected';
    if (this.state === 'resolvingPsk' || rec.epoch > this.read.epoch) return this.hold(rec, from);
    if (rec.epoch < this.read.epoch) return 'rejected'; // stale plaintext after CCS: unauthenticated, ignore
    if (!this.read.isFresh(rec)) {
      // RFC 6347 §4.1.2.6: duplicates are discarded before decryption
      this.host.log({ event: 'dtls_replay_dropped', peer: this.peerText, epoch: rec.epoch, seq: rec.seq });
      return 'rejected';
    }
    try {
      const content = this.read.open(rec);
      if (!content) {
        // RFC 6347 §4.1.2.7: bad records are dropped silently, except that a client Finished that does not
        // authenticate (typically a wrong PSK) ends the handshake with a fatal alert so the client learns of it.
        if (this.state === 'awaitFinished' && rec.epoch === 1) {
          if (this.host.offerToPrevious(this, rec, from)) return 'rejected';
          throw new FatalAlert(AlertDescription.badRecordMac, 'client Finished record did not authenticate');
        }
        this.host.log({
          event: 'dtls_record_dropped',
          peer: this.peerText,
          reason: 'authentication',
          epoch: rec.epoch,
        });
        return 'rejected';
      }
      const newest = this.read.accept(rec); // only after authentication
      this.lastActivity = this.host.now();
      if (rec.cid && newest && (from.address !== this.peer.address || from.port !== this.peer.port)) {
        this.host.peerMoved(this, from);
      }
      this.dispatch(content.type, content.data, rec.epoch);
    } catch (e) {
      this.fail(e);
    }
    return 'accepted';
  }

  private hold(rec: DtlsRecord, from: Peer): RecordVerdict {
    const canHold = this.state !== 'established' && this.state !== 'awaitFinished' && rec.epoch <= 1;
    const size = rec.fragment.length;
    if (!canHold || this.held.length >= MAX_HELD_RECORDS || this.heldBytes + size > MAX_HELD_BYTES) return 'rejected';
    this.held.push({
      rec: { ...rec, fragment: Buffer.from(rec.fragment), ...(rec.cid ? { cid: Buffer.from(rec.cid) } : {}) },
      from,
    });
    this.heldBytes += size;
    return 'accepted';
  }

  private replayHeld(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of held) this.handleRecord(h.rec, h.from);
  }

  private dispatch(type: number, data: Buffer, epoch: number): void {
    switch (type) {
      case ContentType.changeCipherSpec:
        return this.onChangeCipherSpec(data);
      case ContentType.alert:
        return this.onAlert(data);
      case ContentType.handshake:
        return this.onHandshakeRecord(data, epoch);
      case ContentType.applicationData:
        return this.onApplicationData(data, epoch);
      default:
        this.host.log({ event: 'dtls_record_dropped', peer: this.peerText, reason: `content type ${type}` });
    }
  }

  // ---------------------------------------------------------------- handshake input

  private onHandshakeRecord(data: Buffer, epoch: number): void {
    let frags: HandshakeFragment[];
    try {
      frags = decodeHandshakeFragments(data);
    } catch (e) {
      if (this.state === 'established') return; // a malformed message after the handshake is just dropped
      throw e;
    }
    for (const f of frags) this.onFragment(this.reassembler.add(f, epoch));
    this.drainHandshake();
  }

  private onFragment(res: AddResult): void {
    if (res.kind === 'rejected')
      this.host.log({ event: 'dtls_fragment_dropped', peer: this.peerText, reason: res.reason });
    if (res.kind !== 'old' || res.fragmentOffset !== 0) return;
    // RFC 6347 §4.2.4: a retransmitted previous flight means ours was lost; send it again.
    if (
      this.state === 'awaitKeyExchange' &&
      res.msgType === HandshakeType.clientHello &&
      res.messageSeq === this.clientHelloSeq
    ) {
      this.retransmitFlight('client_hello_retransmitted');
    } else if (
      this.state === 'established' &&
      res.msgType === HandshakeType.finished &&
      res.epoch === 1 &&
      this.lastFlight.length > 0
    ) {
      this.retransmitFlight('finished_retransmitted');
    }
  }

  private drainHandshake(): void {
    while (this.state !== 'resolvingPsk' && this.state !== 'closed') {
      const msg = this.reassembler.take();
      if (!msg) return;
      this.onHandshakeMessage(msg);
    }
  }

  private onHandshakeMessage(m: HandshakeMessage): void {
    switch (this.state) {
      case 'awaitKeyExchange':
        if (m.msgType !== HandshakeType.clientKeyExchange || m.epoch !== 0)
          throw this.unexpected(m, 'ClientKeyExchange');
        return this.onClientKeyExchange(m);
      case 'awaitFinished':
        if (m.msgType !== HandshakeType.finished || m.epoch !== 1) throw this.unexpected(m, 'Finished');
        return this.onFinished(m);
      case 'established':
        // RFC 7925 §17 / docs/standards-notes/lwm2m-coap-dtls.md §4.12: no renegotiation; answer with a warning and keep the association.
        if (m.msgType === HandshakeType.clientHello)
          this.sendAlert(AlertLevel.warning, AlertDescription.noRenegotiation);
        return;
      default:
        throw this.unexpected(m, 'ChangeCipherSpec');
    }
  }

  private unexpected(m: HandshakeMessage, wanted: string): FatalAlert {
    return new FatalAlert(
      AlertDescription.unexpectedMessage,
      `got handshake type ${m.msgType} at epoch ${m.epoch}, wanted ${wanted}`,
    );
  }

  private onClientKeyExchange(m: HandshakeMessage): void {
    const identity = decodeClientKeyExchange(m.body);
    this.transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
    this.timer.stop(); // RFC 6347 §4.2.4: the client's next flight acknowledges flight 4
    this.pskIdentity = Buffer.from(identity);
    if (identity.length > MAX_PSK_IDENTITY_OCTETS) {
      throw new FatalAlert(
        AlertDescription.unknownPskIdentity,
        `PSK identity of ${identity.length} octets (at most ${MAX_PSK_IDENTITY_OCTETS})`,
      );
    }
    this.state = 'resolvingPsk';
    this.host.log({
      event: 'dtls_psk_lookup',
      peer: this.peerText,
      identity: identity.toString('utf8'),
      suite: this.cipherSuite,
    });
    let lookup: Promise<Buffer | null>;
    try {
      // Called after the suite is fixed: a GBA Ks_NAF depends on it (TS 33.222 Ua security protocol id).
      lookup = this.host.resolvePsk(Buffer.from(identity), this.cipherSuite, { ...this.peer });
    } catch (e) {
      lookup = Promise.reject(e);
    }
    lookup.then(
      (psk) => this.onPsk(psk),
      (err: unknown) => this.onPskError(err),
    );
  }

  private onPsk(psk: Buffer | null): void {
    if (this.state !== 'resolvingPsk') return; // closed or replaced meanwhile
    this.run(() => {
      // RFC 4279 §2: unknown identity → unknown_psk_identity.
      if (psk === null) throw new FatalAlert(AlertDescription.unknownPskIdentity, 'no key for the PSK identity');
      if (!Buffer.isBuffer(psk) || psk.length === 0 || psk.length > 0xffff) {
        throw new FatalAlert(AlertDescription.unknownPskIdentity, 'resolver returned an unusable key');
      }
      this.deriveKeys(psk);
      this.state = 'awaitChangeCipherSpec';
      this.drainHandshake();
      this.replayHeld();
    });
  }

  private onPskError(err: unknown): void {
    if (this.state !== 'resolvingPsk') return;
    this.host.log({
      event: 'dtls_psk_lookup_failed',
      peer: this.peerText,
      error: err instanceof Error ? err.message : String(err),
    });
    // RFC 4279 §2: whatever kept the key from us, the client is told only that this identity has none.
    this.fail(new FatalAlert(AlertDescription.unknownPskIdentity, 'PSK lookup failed'));
  }

  /** RFC 4279 §2 premaster → RFC 7627 §4 or RFC 5246 §8.1 master → RFC 5246 §6.3 key block. */
  private deriveKeys(psk: Buffer): void {
    const suite = this.suite!;
    const pms = pskPremasterSecret(psk);
    this.master = this.ems
      ? extendedMasterSecret(pms, transcriptHash(this.transcript))
      : masterSecret(pms, this.clientRandom, this.serverRandom);
    pms.fill(0);
    const block = keyBlock(this.master, this.serverRandom, this.clientRandom, keyBlockLength(suite));
    const keys = splitKeyBlock(suite, block);
    block.fill(0);
    this.read.prepare(createRecordCipher(suite, keys.client));
    this.write.prepare(createRecordCipher(suite, keys.server));
  }

  /** RFC 6347 §4.1: CCS switches the read side to epoch 1 with a fresh replay window. */
  private onChangeCipherSpec(data: Buffer): void {
    if (this.state !== 'awaitChangeCipherSpec') return; // early (reordered) or duplicate: the client retransmits
    if (data.length !== 1 || data[0] !== 1) throw new FatalAlert(AlertDescription.decodeError, 'bad ChangeCipherSpec');
    this.read.changeCipherSpec();
    this.state = 'awaitFinished';
    this.replayHeld();
  }

  /** RFC 5246 §7.4.9: check the client's verify_data, then send CCS + our Finished (flight 6). */
  private onFinished(m: HandshakeMessage): void {
    const got = decodeFinished(m.body);
    const expected = verifyData(this.master!, 'client', transcriptHash(this.transcript));
    if (!secretEqual(got, expected))
      throw new FatalAlert(AlertDescription.decryptError, 'client Finished verify_data mismatch');
    this.transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
    const ours = verifyData(this.master!, 'server', transcriptHash(this.transcript));
    this.lastFlight = [{ kind: 'ccs' }, this.handshakeItem(HandshakeType.finished, ours, 1)];
    this.write.sendFlight(this.lastFlight); // last flight: no timer (RFC 6347 §4.2.4)
    this.write.epoch = 1;
    this.state = 'established';
    this.establishedAt = this.host.now();
    this.master?.fill(0); // no resumption, so the master secret is no longer needed
    this.master = undefined;
    this.transcript = [];
    this.session = new Session(this);
    this.host.log({
      event: 'dtls_established',
      peer: this.peerText,
      suite: this.cipherSuite,
      ems: this.ems,
      cid: !!this.ownCid,
    });
    this.host.established(this);
  }

  // ---------------------------------------------------------------- alerts and application data

  private onAlert(data: Buffer): void {
    let alert;
    try {
      alert = decodeAlert(data);
    } catch {
      return;
    }
    this.host.log({
      event: 'dtls_alert_received',
      peer: this.peerText,
      level: alert.level,
      alert: alertName(alert.description),
    });
    if (alert.description === AlertDescription.closeNotify) {
      // RFC 5246 §7.2.1: answer close_notify with our own and close.
      this.close('peer_close_notify', this.state === 'established');
    } else if (alert.level === AlertLevel.fatal) {
      this.close('peer_fatal_alert', false);
    }
  }

  private onApplicationData(data: Buffer, epoch: number): void {
    if (this.state !== 'established' || epoch === 0) return;
    this.lastFlight = []; // the client has our Finished, so flight 6 will not be asked for again
    const session = this.session!;
    this.host.guard('data listener', () => session.deliver(data));
  }

  sendApplicationData(plaintext: Buffer): void {
    if (this.state !== 'established') {
      this.host.log({ event: 'dtls_send_after_close', peer: this.peerText });
      return;
    }
    const limit = this.write.plaintextLimit;
    if (plaintext.length > limit) {
      throw new InputError(`application data of ${plaintext.length} octets exceeds the record limit ${limit}`);
    }
    this.write.sendRecords([this.write.record(ContentType.applicationData, 1, plaintext)]);
  }

  closeByApplication(): void {
    this.close('local_close', true);
  }

  setIdleTimeout(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0) throw new InputError('idle timeout must be a positive number of ms');
    this.idleTimeoutMs = ms;
  }

  // ---------------------------------------------------------------- output

  private retransmitFlight(reason: string): void {
    if (this.state === 'closed' || this.lastFlight.length === 0) return;
    this.host.log({ event: 'dtls_flight_retransmitted', peer: this.peerText, reason });
    // Retransmissions keep message_seq but take fresh record sequence numbers (RFC 6347 §4.2.4).
    this.write.sendFlight(this.lastFlight);
  }

  private sendAlert(level: number, description: number): void {
    try {
      this.write.sendRecords([
        this.write.record(ContentType.alert, this.write.epoch, encodeAlert({ level, description })),
      ]);
      this.host.log({ event: 'dtls_alert_sent', peer: this.peerText, level, alert: alertName(description) });
    } catch {
      /* sequence numbers exhausted: nothing more can be sent */
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Runs handshake logic, turning any failure into a fatal alert. */
  private run(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.state === 'closed') return;
    if (e instanceof FatalAlert) {
      this.host.log({
        event: 'dtls_handshake_failed',
        peer: this.peerText,
        alert: alertName(e.description),
        reason: e.reason,
      });
      this.sendAlert(AlertLevel.fatal, e.description);
      this.close(`alert_${alertName(e.description)}`, false);
    } else if (e instanceof DecodeError) {
      this.host.log({ event: 'dtls_decode_error', peer: this.peerText, reason: e.message });
      if (this.state === 'established') return; // authenticated garbage after the handshake: drop it
      this.sendAlert(AlertLevel.fatal, AlertDescription.decodeError);
      this.close('alert_decodeError', false);
    } else {
      this.host.log({
        event: 'dtls_internal_error',
        peer: this.peerText,
        error: e instanceof Error ? e.message : String(e),
      });
      this.sendAlert(AlertLevel.fatal, AlertDescription.internalError);
      this.close('internal_error', false);
    }
  }

  /** Ends the association once; optionally sends close_notify first. */
  close(reason: string, notify: boolean): void {
    if (this.state === 'closed') return;
    if (notify) this.sendAlert(AlertLevel.warning, AlertDescription.closeNotify);
    this.state = 'closed';
    this.timer.stop();
    this.held = [];
    this.heldBytes = 0;
    this.transcript = [];
    this.lastFlight = [];
    this.master?.fill(0);
    this.master = undefined;
    this.host.log({ event: 'dtls_closed', peer: this.peerText, reason });
    this.host.closed(this, reason);
    const session = this.session;
    if (session) this.host.guard('close listener', () => session.ended());
  }

  /** Periodic housekeeping from the endpoint: handshake timeout, idle expiry, release of the kept last flight. */
  tick(now: number): void {
    const cfg = this.host.config;
    if (this.state !== 'established') {
      if (now - this.createdAt > cfg.handshakeTimeoutMs) this.close('handshake_timeout', false);
      return;
    }
    if (now - this.lastActivity > this.idleTimeoutMs) {
      this.close('idle_timeout', false);
      return;
    }
    if (this.lastFlight.length > 0 && now - this.establishedAt > cfg.handshakeTimeoutMs) this.lastFlight = [];
  }

  get peerText(): string {
    return `${this.peer.address}:${this.peer.port}`;
  }
}
