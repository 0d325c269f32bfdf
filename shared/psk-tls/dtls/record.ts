/**
 * DTLS 1.2 record layer codec (RFC 6347 §4.1) with the RFC 9146 §4 tls12_cid header, and the anti-replay
 * window of RFC 6347 §4.1.2.6.
 */
import { DecodeError } from '../../errors.js';
import { ContentType, MAX_CIPHERTEXT, MAX_SEQUENCE, RECORD_HEADER_LENGTH } from './constants.js';
import { Reader, u16, u48, u8 } from '../wire.js';

export interface DtlsRecord {
  /** Outer content type; 25 (tls12_cid) when `cid` is set. */
  type: number;
  version: number;
  epoch: number;
  /** 48-bit sequence number (fits a JS number exactly). */
  seq: number;
  /** Connection ID of a tls12_cid record (RFC 9146 §4). */
  cid?: Buffer;
  fragment: Buffer;
}

/**
 * Reads one record. `cidLength` is the length of the CIDs we issued: tls12_cid headers carry no CID length,
 * so the receiver must know it (RFC 9146 §4). Undefined means CID is not in use and tls12_cid records are malformed.
 */
export function decodeRecord(r: Reader, cidLength?: number): DtlsRecord {
  const type = r.u8('content type');
  const version = r.u16('version');
  // RFC 6347 §4.1: every DTLS version has major byte 0xFE; anything else is not DTLS at all.
  if (version >> 8 !== 0xfe) r.fail(`version ${version.toString(16)} is not DTLS`);
  const epoch = r.u16('epoch');
  const seq = r.u48('sequence_number');
  let cid: Buffer | undefined;
  if (type === ContentType.tls12Cid) {
    if (cidLength === undefined) r.fail('tls12_cid record but connection IDs are not in use');
    cid = r.bytes(cidLength, 'cid');
  }
  const length = r.u16('length');
  if (length > MAX_CIPHERTEXT) r.fail(`record length ${length} exceeds 2^14+2048`);
  const fragment = r.bytes(length, 'fragment');
  return cid ? { type, version, epoch, seq, cid, fragment } : { type, version, epoch, seq, fragment };
}

export interface ParsedDatagram {
  records: DtlsRecord[];
  /** Why parsing stopped early; the records before it are kept (RFC 6347 §4.1: drop only the bad part). */
  error?: DecodeError;
}

/** Splits a datagram into records. Never throws: a malformed tail ends parsing and is reported in `error`. */
export function parseDatagram(datagram: Buffer, cidLength?: number): ParsedDatagram {
  const records: DtlsRecord[] = [];
  const r = new Reader(datagram, 'DTLS record');
  try {
    while (!r.atEnd()) records.push(decodeRecord(r, cidLength));
    return { records };
  } catch (e) {
    if (e instanceof DecodeError) return { records, error: e };
    throw e;
  }
}

/** The 13-byte header (or the tls12_cid header), RFC 6347 §4.1 / RFC 9146 §4. */
export function encodeRecordHeader(rec: Omit<DtlsRecord, 'fragment'>, length: number): Buffer {
  if (rec.seq < 0 || rec.seq > MAX_SEQUENCE) throw new RangeError('sequence number outside 48 bits');
  const parts = [u8(rec.type), u16(rec.version), u16(rec.epoch), u48(rec.seq)];
  if (rec.cid) parts.push(rec.cid);
  parts.push(u16(length));
  return Buffer.concat(parts);
}

export function encodeRecord(rec: DtlsRecord): Buffer {
  return Buffer.concat([encodeRecordHeader(rec, rec.fragment.length), rec.fragment]);
}

export const recordOverhead = (cid?: Buffer): number => RECORD_HEADER_LENGTH + (cid?.length ?? 0);

/**
 * Anti-replay sliding window, RFC 6347 §4.1.2.6: 64 entries, one window per epoch. `check` before decrypting,
 * `mark` only after the record authenticated, so forged records cannot move the window.
 */
export class ReplayWindow {
  static readonly SIZE = 64;
  private top = -1; // highest authenticated sequence number
  private bits = 0n; // bit i set ⇔ (top − i) was received

  /** True when `seq` is new: right of the window, or inside it and not yet seen. */
  check(seq: number): boolean {
    if (seq > this.top) return true;
    const offset = this.top - seq;
    if (offset >= ReplayWindow.SIZE) return false;
    return ((this.bits >> BigInt(offset)) & 1n) === 0n;
  }

  mark(seq: number): void {
    if (seq > this.top) {
      const shift = seq - this.top;
      this.bits = shift >= ReplayWindow.SIZE ? 0n : (this.bits << BigInt(shift)) & ((1n << 64n) - 1n);
      this.bits |= 1n;
      this.top = seq;
      return;
    }
    const offset = this.top - seq;
    if (offset < ReplayWindow.SIZE) this.bits |= 1n << BigInt(offset);
  }

  /** Highest authenticated sequence number, −1 if none (RFC 9146 §6 uses it for address updates). */
  get highest(): number {
    return this.top;
  }
}
