/**
 * Per-association read and write connection states (RFC 5246 §6.1) for DTLS: epochs, 48-bit sequence numbers,
 * one anti-replay window per epoch (RFC 6347 §4.1), the RFC 9146 CID record format, and packing of flights into
 * datagrams with handshake fragmentation (RFC 6347 §4.2.3). Only epochs 0 and 1 exist: no renegotiation.
 */
import { DecodeError } from '../../errors.js';
import { FatalAlert, AlertDescription } from './alerts.js';
import type { RecordCipher } from './cipher.js';
import { ContentType, DTLS_1_2, HANDSHAKE_HEADER_LENGTH, MAX_PLAINTEXT, MAX_SEQUENCE } from './constants.js';
import { encodeHandshakeFragment, fragmentHandshake } from './handshake.js';
import { type DtlsRecord, ReplayWindow, encodeRecord, recordOverhead } from './record.js';

export interface RecordContent {
  type: number;
  data: Buffer;
}

/** The receiving side: which epoch is current, its keys, its replay window. */
export class ReadState {
  epoch = 0;
  /** CID we asked the peer to put in records to us (RFC 9146 §3), if negotiated. */
  ownCid: Buffer | undefined;
  private cipher: RecordCipher | undefined;
  private pending: RecordCipher | undefined;
  private readonly windows: ReplayWindow[] = [new ReplayWindow(), new ReplayWindow()];

  /** Keys for epoch 1, used once the peer's ChangeCipherSpec arrives. */
  prepare(cipher: RecordCipher): void {
    this.pending = cipher;
  }
  get prepared(): boolean {
    return this.pending !== undefined;
  }

  /** RFC 6347 §4.1: after the peer's CCS, read epoch 1 with a fresh replay window. */
  changeCipherSpec(): void {
    this.epoch = 1;
    this.cipher = this.pending;
    this.pending = undefined;
    this.windows[1] = new ReplayWindow();
  }

  /** RFC 6347 §4.1.2.6: checked before decryption. */
  isFresh(rec: DtlsRecord): boolean {
    return this.windows[rec.epoch]!.check(rec.seq);
  }

  /** Marks an authenticated record; true when it carries the highest sequence number so far (RFC 9146 §6). */
  accept(rec: DtlsRecord): boolean {
    const w = this.windows[rec.epoch]!;
    const newest = rec.seq > w.highest;
    w.mark(rec.seq);
    return newest;
  }

  /** The record's content, or undefined if it is not ours or does not authenticate. */
  open(rec: DtlsRecord): RecordContent | undefined {
    if (rec.epoch === 0) return rec.type === ContentType.tls12Cid ? undefined : { type: rec.type, data: rec.fragment };
    const cipher = this.cipher;
    if (!cipher) return undefined;
    // RFC 9146 §3: once we asked for a CID, protected records to us must be tls12_cid records carrying it.
    const cidOk = this.ownCid
      ? rec.type === ContentType.tls12Cid && rec.cid?.equals(this.ownCid) === true
      : rec.type !== ContentType.tls12Cid;
    if (!cidOk) return undefined;
    let plaintext: Buffer;
    try {
      plaintext = cipher.open(
        { type: rec.type, version: rec.version, epoch: rec.epoch, seq: rec.seq, cid: rec.cid },
        rec.fragment,
      );
    } catch (e) {
      if (e instanceof DecodeError) return undefined;
      throw e;
    }
    return rec.cid ? innerPlaintext(plaintext) : { type: rec.type, data: plaintext };
  }
}

/** RFC 9146 §4: strip the zero padding; the last non-zero octet is the real content type. */
function innerPlaintext(p: Buffer): RecordContent | undefined {
  let i = p.length - 1;
  while (i >= 0 && p[i] === 0) i--;
  if (i < 0) return undefined;
  return { type: p[i]!, data: p.subarray(0, i) };
}

/** A message of one of our flights, kept so the flight can be retransmitted (RFC 6347 §4.2.4). */
export type FlightItem =
  { kind: 'handshake'; epoch: number; msgType: number; messageSeq: number; body: Buffer } | { kind: 'ccs' };

/** The sending side: current epoch, sequence numbers per epoch, epoch-1 keys, the peer's CID, size limits. */
export class WriteState {
  epoch = 0;
  /** CID the peer asked us to send (RFC 9146 §3); empty or undefined means plain records. */
  peerCid: Buffer | undefined;
  /** RFC 6066 §4 max_fragment_length, if negotiated. */
  maxPlaintext = MAX_PLAINTEXT;
  private readonly seq = [0, 0];
  private cipher: RecordCipher | undefined;

  constructor(
    private readonly mtu: number,
    private readonly transmit: (datagram: Buffer) => void,
  ) {}

  /** Digest §4.3: our epoch-0 records continue from ClientHello#2's record seq. */
  startEpoch0At(seq: number): void {
    this.seq[0] = seq;
  }

  /** Keys for epoch 1, used for every record we protect (our own CCS is sent right before). */
  prepare(cipher: RecordCipher): void {
    this.cipher = cipher;
  }

  /** Builds one record at `epoch` with the next sequence number, protected when epoch ≥ 1. */
  record(type: number, epoch: number, plaintext: Buffer): Buffer {
    const seq = this.seq[epoch]!;
    // RFC 6347 §4.1: sequence numbers must not wrap; without renegotiation the association must end.
    if (seq > MAX_SEQUENCE) throw new FatalAlert(AlertDescription.internalError, 'sequence numbers exhausted');
    this.seq[epoch] = seq + 1;
    if (epoch === 0) return encodeRecord({ type, version: DTLS_1_2, epoch, seq, fragment: plaintext });
    const cipher = this.cipher!;
    if (this.sendsCid) {
      // RFC 9146 §4: DTLSInnerPlaintext = content ‖ real type (no padding), sent as tls12_cid.
      const ctx = { type: ContentType.tls12Cid, version: DTLS_1_2, epoch, seq, cid: this.peerCid! };
      return encodeRecord({ ...ctx, fragment: cipher.seal(ctx, Buffer.concat([plaintext, Buffer.from([type])])) });
    }
    const ctx = { type, version: DTLS_1_2, epoch, seq };
    return encodeRecord({ ...ctx, fragment: cipher.seal(ctx, plaintext) });
  }

  private get sendsCid(): boolean {
    return !!this.peerCid && this.peerCid.length > 0;
  }

  /** Largest application plaintext per record: 2^14 or the negotiated MFL, less the inner type octet with CIDs
   *  (RFC 9146 §4: DTLSInnerPlaintext must not exceed 2^14). */
  get plaintextLimit(): number {
    return this.sendsCid ? Math.min(this.maxPlaintext, MAX_PLAINTEXT - 1) : this.maxPlaintext;
  }

  /** Encodes a flight (fragmenting handshake messages to fit) and sends it in as few datagrams as fit. */
  sendFlight(items: FlightItem[]): void {
    const records: Buffer[] = [];
    for (const item of items) {
      if (item.kind === 'ccs') {
        // RFC 6347 §4.2.5: CCS goes at the old epoch
        records.push(this.record(ContentType.changeCipherSpec, 0, Buffer.from([1])));
        continue;
      }
      for (const f of fragmentHandshake(item.msgType, item.messageSeq, item.body, this.fragmentBudget(item.epoch))) {
        records.push(this.record(ContentType.handshake, item.epoch, encodeHandshakeFragment(f)));
      }
    }
    this.sendRecords(records);
  }

  /** Packs records into datagrams within the MTU budget; a record never spans datagrams (RFC 6347 §4.1.1). */
  sendRecords(records: Buffer[]): void {
    let batch: Buffer[] = [];
    let size = 0;
    for (const r of records) {
      if (batch.length > 0 && size + r.length > this.mtu) {
        this.transmit(Buffer.concat(batch));
        batch = [];
        size = 0;
      }
      batch.push(r);
      size += r.length;
    }
    if (batch.length > 0) this.transmit(Buffer.concat(batch));
  }

  /** Largest handshake fragment body that keeps a record within the datagram budget and the record size limit. */
  private fragmentBudget(epoch: number): number {
    const cid = epoch > 0 && this.sendsCid ? this.peerCid : undefined;
    const protection = epoch > 0 ? this.cipher!.maxOverhead + (cid ? 1 : 0) : 0;
    const byMtu = this.mtu - recordOverhead(cid) - protection - HANDSHAKE_HEADER_LENGTH;
    return Math.max(1, Math.min(byMtu, this.maxPlaintext - HANDSHAKE_HEADER_LENGTH));
  }
}
