/**
 * DTLS handshake message header codec, fragmentation and reassembly (RFC 6347 §4.2.2, §4.2.3).
 */
import { Reader, u16, u24, u8 } from '../wire.js';

export interface HandshakeFragment {
  msgType: number;
  /** Length of the whole message body. */
  length: number;
  messageSeq: number;
  fragmentOffset: number;
  /** The fragment's bytes; its length is fragment_length. */
  body: Buffer;
}

/** A reassembled handshake message. `epoch` is the record epoch its fragments arrived in. */
export interface HandshakeMessage {
  msgType: number;
  messageSeq: number;
  body: Buffer;
  epoch: number;
}

/** Decodes every handshake fragment in one record's plaintext (a record may carry several, RFC 6347 §4.2.3). */
export function decodeHandshakeFragments(data: Buffer): HandshakeFragment[] {
  const r = new Reader(data, 'DTLS handshake');
  const out: HandshakeFragment[] = [];
  while (!r.atEnd()) {
    const msgType = r.u8('msg_type');
    const length = r.u24('length');
    const messageSeq = r.u16('message_seq');
    const fragmentOffset = r.u24('fragment_offset');
    const fragmentLength = r.u24('fragment_length');
    if (fragmentOffset + fragmentLength > length) {
      r.fail(`fragment [${fragmentOffset}, +${fragmentLength}) exceeds message length ${length}`);
    }
    out.push({ msgType, length, messageSeq, fragmentOffset, body: r.bytes(fragmentLength, 'fragment') });
  }
  if (out.length === 0) r.fail('empty handshake record');
  return out;
}

export function encodeHandshakeFragment(f: HandshakeFragment): Buffer {
  return Buffer.concat([
    u8(f.msgType),
    u24(f.length),
    u16(f.messageSeq),
    u24(f.fragmentOffset),
    u24(f.body.length),
    f.body,
  ]);
}

/**
 * The message as if sent unfragmented (offset 0, fragment_length = length). This is also exactly the form
 * that enters the handshake hash (RFC 6347 §4.2.6).
 */
export function encodeHandshake(msgType: number, messageSeq: number, body: Buffer): Buffer {
  return encodeHandshakeFragment({ msgType, length: body.length, messageSeq, fragmentOffset: 0, body });
}

/** Splits a message into fragments whose bodies are at most `maxBody` octets (RFC 6347 §4.2.3). */
export function fragmentHandshake(
  msgType: number,
  messageSeq: number,
  body: Buffer,
  maxBody: number,
): HandshakeFragment[] {
  if (maxBody < 1) throw new RangeError('fragment budget too small');
  const out: HandshakeFragment[] = [];
  let offset = 0;
  do {
    const part = body.subarray(offset, offset + maxBody);
    out.push({ msgType, length: body.length, messageSeq, fragmentOffset: offset, body: part });
    offset += part.length;
  } while (offset < body.length);
  return out;
}

export interface ReassemblyLimits {
  /** Largest message body accepted. */
  maxMessageLength: number;
  /** Total octets buffered for incomplete or future messages. */
  maxBufferedBytes: number;
  /** How many message_seq values ahead of the next expected one are buffered. */
  window: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxMessageLength: 8192,
  maxBufferedBytes: 16384,
  window: 4,
};

interface Partial {
  msgType: number;
  epoch: number;
  body: Buffer;
  filled: Uint8Array;
  missing: number;
}

export type AddResult =
  | { kind: 'buffered' }
  /** message_seq below the next expected one: a retransmission by the peer (RFC 6347 §4.2.4). */
  | { kind: 'old'; msgType: number; messageSeq: number; fragmentOffset: number; epoch: number }
  | { kind: 'rejected'; reason: string };

/**
 * Reassembles fragments per message_seq and releases messages strictly in message_seq order (RFC 6347 §4.2.2).
 * Fragments may arrive out of order and overlap. Memory is bounded by `limits`.
 */
export class Reassembler {
  private readonly partials = new Map<number, Partial>();
  private buffered = 0;

  constructor(
    public nextSeq: number,
    private readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS,
  ) {}

  add(f: HandshakeFragment, epoch: number): AddResult {
    if (f.messageSeq < this.nextSeq) {
      return { kind: 'old', msgType: f.msgType, messageSeq: f.messageSeq, fragmentOffset: f.fragmentOffset, epoch };
    }
    if (f.messageSeq >= this.nextSeq + this.limits.window)
      return { kind: 'rejected', reason: 'message_seq too far ahead' };
    if (f.length > this.limits.maxMessageLength)
      return { kind: 'rejected', reason: `message length ${f.length} too large` };
    let p = this.partials.get(f.messageSeq);
    if (!p) {
      if (this.buffered + 2 * f.length > this.limits.maxBufferedBytes)
        return { kind: 'rejected', reason: 'reassembly buffer full' };
      p = {
        msgType: f.msgType,
        epoch,
        body: Buffer.alloc(f.length),
        filled: new Uint8Array(f.length),
        missing: f.length,
      };
      this.partials.set(f.messageSeq, p);
      this.buffered += 2 * f.length;
    } else if (p.msgType !== f.msgType || p.body.length !== f.length || p.epoch !== epoch) {
      return { kind: 'rejected', reason: 'fragment disagrees with earlier fragments of the message' };
    }
    this.fill(p, f);
    return { kind: 'buffered' };
  }

  /** Copies the fragment in; overlapping bytes are simply written again (RFC 6347 §4.2.3 allows overlap). */
  private fill(p: Partial, f: HandshakeFragment): void {
    f.body.copy(p.body, f.fragmentOffset);
    for (let i = f.fragmentOffset; i < f.fragmentOffset + f.body.length; i++) {
      if (p.filled[i] === 0) {
        p.filled[i] = 1;
        p.missing--;
      }
    }
  }

  /** The next message in sequence, if it is complete. */
  take(): HandshakeMessage | undefined {
    const p = this.partials.get(this.nextSeq);
    if (!p || p.missing > 0) return undefined;
    this.partials.delete(this.nextSeq);
    this.buffered -= 2 * p.body.length;
    const msg = { msgType: p.msgType, messageSeq: this.nextSeq, body: p.body, epoch: p.epoch };
    this.nextSeq++;
    return msg;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }
}

/** True for a fragment that carries a whole message. */
export const isWhole = (f: HandshakeFragment): boolean => f.fragmentOffset === 0 && f.body.length === f.length;
