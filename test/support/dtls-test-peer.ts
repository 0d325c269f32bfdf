/**
 * A deliberately small DTLS 1.2 PSK *client* for tests of shared/psk-tls/dtls: it drives the server through the cookie
 * exchange and a full handshake, and exposes the raw datagrams so tests can replay, drop, fragment or corrupt them.
 * It reuses the server's codecs (their bytes are pinned by the docs/standards-notes/lwm2m-coap-dtls.md §5 vectors in the unit tests); interop with
 * independent implementations is covered by test/interop/dtls-*.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AlertLevel, decodeAlert, encodeAlert, type Alert } from '../../shared/psk-tls/dtls/alerts.js';
import { createRecordCipher, type RecordCipher } from '../../shared/psk-tls/dtls/cipher.js';
import { ContentType, DTLS_1_0, DTLS_1_2, ExtensionType, HandshakeType } from '../../shared/psk-tls/dtls/constants.js';
import { decodeConnectionId, ext, findExtension, type Extension } from '../../shared/psk-tls/dtls/extensions.js';
import {
  Reassembler,
  decodeHandshakeFragments,
  encodeHandshake,
  encodeHandshakeFragment,
  fragmentHandshake,
  type HandshakeMessage,
} from '../../shared/psk-tls/dtls/handshake.js';
import {
  decodeHelloVerifyRequest,
  decodeServerHello,
  decodeServerKeyExchange,
  encodeClientHello,
  encodeClientKeyExchange,
  type ServerHello,
} from '../../shared/psk-tls/dtls/messages.js';
import {
  extendedMasterSecret,
  keyBlock,
  masterSecret,
  pskPremasterSecret,
  transcriptHash,
  verifyData,
} from '../../shared/psk-tls/dtls/prf.js';
import { ReplayWindow, encodeRecord, parseDatagram, type DtlsRecord } from '../../shared/psk-tls/dtls/record.js';
import { keyBlockLength, splitKeyBlock, suiteInfo } from '../../shared/psk-tls/dtls/suites.js';

export interface TestPeerOptions {
  psk: Buffer;
  identity: string;
  suites?: number[];
  /** Offer extended_master_secret (default true). */
  ems?: boolean;
  /** Offer the renegotiation SCSV (default true). */
  scsv?: boolean;
  /** Offer connection_id with this CID (the one we want to receive); undefined = do not offer. */
  cid?: Buffer;
  extraExtensions?: Extension[];
  /**
   * Split flight-5 messages (ClientKeyExchange, Finished) into fragments of at most this many body octets.
   * ClientHellos are never fragmented: a stateless server cannot reassemble them (as OpenSSL's DTLSv1_listen).
   */
  fragmentSize?: number;
  /** Send ClientKeyExchange, CCS and Finished in three datagrams (like GnuTLS). */
  splitFlight5?: boolean;
  /** Send a wrong verify_data (correctly encrypted) in the client Finished. */
  corruptFinished?: boolean;
  send: (datagram: Buffer) => void;
}

/** Events: 'hvr', 'flight4', 'established', 'alert' (Alert), 'data' (Buffer), 'datagram' (Buffer, every one received). */
export class TestPeer extends EventEmitter {
  readonly random = randomBytes(32);
  readonly sent: Buffer[] = [];
  readonly received: Buffer[] = [];
  readonly alerts: Alert[] = [];
  readonly data: Buffer[] = [];
  serverHello: ServerHello | undefined;
  hint: Buffer | undefined;
  serverCid: Buffer | undefined;
  established = false;
  hvrCount = 0;
  flight4Count = 0;
  flight6Count = 0;
  /** Datagrams of our flight 5, for retransmission tests. */
  flight5: Buffer[] = [];

  private cookie: Buffer = Buffer.alloc(0);
  private transcript: Buffer[] = [];
  private reassembler = new Reassembler(0);
  private writeSeq = [0, 0];
  private readEpoch = 0;
  private readonly windows = [new ReplayWindow(), new ReplayWindow()];
  private readCipher: RecordCipher | undefined;
  private writeCipher: RecordCipher | undefined;
  private pendingRead: RecordCipher | undefined;
  private master: Buffer = Buffer.alloc(0);
  private msgSeq = 0;
  private nextServerSeq = 1;
  private readonly opts: Required<Omit<TestPeerOptions, 'cid' | 'fragmentSize'>> &
    Pick<TestPeerOptions, 'cid' | 'fragmentSize'>;

  constructor(opts: TestPeerOptions) {
    super();
    this.opts = {
      suites: [0xc0a8],
      ems: true,
      scsv: true,
      extraExtensions: [],
      splitFlight5: false,
      corruptFinished: false,
      ...opts,
    };
  }

  /** Runs the full handshake; resolves when the server Finished verified, rejects on a fatal alert or timeout. */
  handshake(timeoutMs = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup();
        reject(new Error('test peer: handshake timeout'));
      }, timeoutMs);
      const onEst = (): void => {
        cleanup();
        resolve();
      };
      const onAlert = (a: Alert): void => {
        if (a.level === AlertLevel.fatal) {
          cleanup();
          reject(Object.assign(new Error(`fatal alert ${a.description}`), { alert: a }));
        }
      };
      const cleanup = (): void => {
        clearTimeout(t);
        this.off('established', onEst);
        this.off('alert', onAlert);
      };
      this.on('established', onEst);
      this.on('alert', onAlert);
      this.sendClientHello();
    });
  }

  // ------------------------------------------------------------------ output

  clientHelloBody(): Buffer {
    const exts: Extension[] = [...this.opts.extraExtensions];
    if (this.opts.ems) exts.push(ext.extendedMasterSecret());
    if (this.opts.cid) exts.push(ext.connectionId(this.opts.cid));
    const suites = [...this.opts.suites, ...(this.opts.scsv ? [0x00ff] : [])];
    return encodeClientHello({
      clientVersion: DTLS_1_2,
      random: this.random,
      sessionId: Buffer.alloc(0),
      cookie: this.cookie,
      cipherSuites: suites,
      compressionMethods: Buffer.from([0]),
      ...(exts.length ? { extensions: exts } : {}),
    });
  }

  sendClientHello(): Buffer {
    const body = this.clientHelloBody();
    const seq = this.msgSeq;
    if (this.cookie.length > 0) {
      this.transcript = [encodeHandshake(HandshakeType.clientHello, seq, body)];
      this.reassembler = new Reassembler(seq);
    }
    const d = Buffer.concat(this.handshakeRecords(HandshakeType.clientHello, seq, body, 0, DTLS_1_0));
    this.transmit(d);
    return d;
  }

  private handshakeRecords(
    msgType: number,
    messageSeq: number,
    body: Buffer,
    epoch: number,
    version = DTLS_1_2,
  ): Buffer[] {
    const size = msgType === HandshakeType.clientHello ? 1200 : (this.opts.fragmentSize ?? 1200);
    return fragmentHandshake(msgType, messageSeq, body, size).map((f) =>
      this.record(ContentType.handshake, epoch, encodeHandshakeFragment(f), version),
    );
  }

  /** Builds one record with the next sequence number of `epoch` (protected at epoch 1). */
  record(type: number, epoch: number, plaintext: Buffer, version = DTLS_1_2): Buffer {
    const seq = this.writeSeq[epoch]!++;
    if (epoch === 0) return encodeRecord({ type, version, epoch, seq, fragment: plaintext });
    const cipher = this.writeCipher!;
    if (this.serverCid && this.serverCid.length > 0) {
      const ctx = { type: ContentType.tls12Cid, version, epoch, seq, cid: this.serverCid };
      return encodeRecord({ ...ctx, fragment: cipher.seal(ctx, Buffer.concat([plaintext, Buffer.from([type])])) });
    }
    const ctx = { type, version, epoch, seq };
    return encodeRecord({ ...ctx, fragment: cipher.seal(ctx, plaintext) });
  }

  /** Replaces the transport (e.g. to send from a new address, as after a NAT rebinding). */
  setSend(send: (datagram: Buffer) => void): void {
    this.opts.send = send;
  }

  transmit(d: Buffer): void {
    this.sent.push(d);
    this.opts.send(d);
  }

  /** Sends one application_data record and returns the datagram (for replay tests). */
  sendApp(data: Buffer): Buffer {
    const d = this.record(ContentType.applicationData, 1, data);
    this.transmit(d);
    return d;
  }

  sendAlert(level: number, description: number): void {
    this.transmit(this.record(ContentType.alert, this.writeCipher ? 1 : 0, encodeAlert({ level, description })));
  }

  /** Sends a handshake message at epoch 1 after the handshake (renegotiation attempt). */
  sendEncryptedHandshake(msgType: number, body: Buffer): void {
    this.transmit(Buffer.concat(this.handshakeRecords(msgType, this.msgSeq++, body, 1)));
  }

  /** Re-sends flight 5 with fresh record sequence numbers, as a client whose flight-6 timer expired would. */
  retransmitFlight5(): void {
    this.sendFlight5(true);
  }

  // ------------------------------------------------------------------ input

  receive(datagram: Buffer): void {
    this.received.push(datagram);
    this.emit('datagram', datagram);
    const { records } = parseDatagram(
      datagram,
      this.opts.cid && this.opts.cid.length > 0 ? this.opts.cid.length : undefined,
    );
    for (const rec of records) this.onRecord(rec);
  }

  private onRecord(rec: DtlsRecord): void {
    if (rec.epoch !== this.readEpoch) return;
    if (!this.windows[rec.epoch]!.check(rec.seq)) return;
    let type = rec.type;
    let data = rec.fragment;
    if (rec.epoch > 0) {
      try {
        data = this.readCipher!.open(
          { type: rec.type, version: rec.version, epoch: rec.epoch, seq: rec.seq, cid: rec.cid },
          rec.fragment,
        );
      } catch {
        return;
      }
      if (rec.cid) {
        let i = data.length - 1;
        while (i >= 0 && data[i] === 0) i--;
        type = data[i]!;
        data = data.subarray(0, i);
      }
    }
    this.windows[rec.epoch]!.mark(rec.seq);
    switch (type) {
      case ContentType.handshake:
        this.onHandshake(data, rec.epoch);
        break;
      case ContentType.changeCipherSpec:
        this.readEpoch = 1;
        this.readCipher = this.pendingRead;
        break;
      case ContentType.alert: {
        const a = decodeAlert(data);
        this.alerts.push(a);
        this.emit('alert', a);
        break;
      }
      case ContentType.applicationData:
        this.data.push(data);
        this.emit('data', data);
        break;
    }
  }

  private onHandshake(data: Buffer, epoch: number): void {
    for (const f of decodeHandshakeFragments(data)) {
      if (f.msgType === HandshakeType.helloVerifyRequest && epoch === 0) {
        if (f.fragmentOffset !== 0 || f.body.length !== f.length) throw new Error('fragmented HVR');
        this.onHelloVerifyRequest(f.body);
        continue;
      }
      const res = this.reassembler.add(f, epoch);
      if (res.kind === 'old' && res.msgType === HandshakeType.finished) this.flight6Count++;
      if (res.kind === 'old' && res.msgType === HandshakeType.serverHello) this.flight4Count++;
    }
    for (let m = this.reassembler.take(); m; m = this.reassembler.take()) this.onMessage(m);
  }

  private onHelloVerifyRequest(body: Buffer): void {
    this.hvrCount++;
    this.cookie = decodeHelloVerifyRequest(body).cookie;
    this.emit('hvr', this.cookie);
    if (this.transcript.length > 0) return; // already past the cookie exchange
    this.msgSeq = 1;
    this.sendClientHello();
    this.msgSeq = 2;
  }

  private onMessage(m: HandshakeMessage): void {
    this.transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
    this.nextServerSeq = m.messageSeq + 1;
    switch (m.msgType) {
      case HandshakeType.serverHello: {
        this.serverHello = decodeServerHello(m.body);
        this.flight4Count++;
        const cidExt = findExtension(this.serverHello.extensions, ExtensionType.connectionId);
        if (cidExt) this.serverCid = decodeConnectionId(cidExt.data);
        break;
      }
      case HandshakeType.serverKeyExchange:
        this.hint = decodeServerKeyExchange(m.body);
        break;
      case HandshakeType.serverHelloDone:
        this.emit('flight4');
        this.sendFlight5(false);
        break;
      case HandshakeType.finished:
        this.onServerFinished(m);
        break;
    }
  }

  private sendFlight5(retransmission: boolean): void {
    const sh = this.serverHello!;
    const suite = suiteInfo(sh.cipherSuite)!;
    const identity = Buffer.from(this.opts.identity, 'utf8');
    const ckeBody = encodeClientKeyExchange(identity);
    if (!retransmission) {
      this.transcript.push(encodeHandshake(HandshakeType.clientKeyExchange, 2, ckeBody));
      const pms = pskPremasterSecret(this.opts.psk);
      const emsAgreed = !!findExtension(sh.extensions, ExtensionType.extendedMasterSecret);
      this.master = emsAgreed
        ? extendedMasterSecret(pms, transcriptHash(this.transcript))
        : masterSecret(pms, this.random, sh.random);
      const keys = splitKeyBlock(suite, keyBlock(this.master, sh.random, this.random, keyBlockLength(suite)));
      this.writeCipher = createRecordCipher(suite, keys.client);
      this.pendingRead = createRecordCipher(suite, keys.server);
    }
    let fin = this.finishedBody ?? verifyData(this.master, 'client', transcriptHash(this.transcript));
    if (this.opts.corruptFinished && !retransmission) fin = Buffer.from(fin.map((b, i) => (i === 0 ? b ^ 1 : b)));
    if (!retransmission) {
      this.finishedBody = fin;
      this.transcript.push(encodeHandshake(HandshakeType.finished, 3, fin));
      this.reassembler = new Reassembler(this.nextServerSeq);
    }
    const cke = this.handshakeRecords(HandshakeType.clientKeyExchange, 2, ckeBody, 0);
    const ccs = [this.record(ContentType.changeCipherSpec, 0, Buffer.from([1]))];
    const finished = this.handshakeRecords(HandshakeType.finished, 3, fin, 1);
    const datagrams = this.opts.splitFlight5
      ? [Buffer.concat(cke), Buffer.concat(ccs), Buffer.concat(finished)]
      : [Buffer.concat([...cke, ...ccs, ...finished])];
    this.flight5 = datagrams;
    for (const d of datagrams) this.transmit(d);
    this.msgSeq = 4;
  }

  private finishedBody: Buffer | undefined;

  private onServerFinished(m: HandshakeMessage): void {
    const expected = verifyData(this.master, 'server', transcriptHash(this.transcript.slice(0, -1)));
    if (!expected.equals(m.body)) throw new Error('test peer: server Finished mismatch');
    this.established = true;
    this.flight6Count++;
    this.emit('established');
  }
}

export const peerKey = (p: { address: string; port: number }): string => `${p.address}|${p.port}`;
