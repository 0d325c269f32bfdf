/**
 * Incremental parser of the client's plaintext TLS records, up to the point where encryption starts.
 *
 * The LwM2M TLS listener uses it to learn the PSK identity before OpenSSL asks for the key:
 * - TLS 1.2: the ClientKeyExchange of a PSK suite starts with `opaque psk_identity<0..2^16-1>` (RFC 4279 §2);
 * - TLS 1.3: the ClientHello's pre_shared_key extension lists the identities (RFC 8446 §4.2.11).
 * Handshake structures are read by the shared TLS-wire reader (../wire.ts, also used by dtls/); this file adds
 * the TLS record layer and the reassembly of handshake messages across records. It throws DecodeError on
 * malformed input.
 * It stops at the client's ChangeCipherSpec (RFC 5246 §7.1) or at any application_data record (a TLS 1.3
 * encrypted record, RFC 8446 §5.2): everything after that is ciphertext and none of its business.
 *
 * Offsets are absolute positions in the client's byte stream (0 = first byte the client sent).
 *
 * @see RFC 5246 §6.2.1 (TLSPlaintext), §7.4 (Handshake), §7.4.1.2 (ClientHello); RFC 4279 §2;
 *      RFC 6066 §3 (server_name); RFC 7301 §3.1 (ALPN); RFC 8446 §4.1.2, §4.2.1, §4.2.11.
 */
import { DecodeError } from '../../errors.js';
import {
  decodeAlpn,
  decodeClientHello,
  decodeOfferedPskIdentities,
  decodePskIdentity,
  decodeServerName,
  decodeSupportedVersions,
  HelloExtension,
} from '../wire.js';

const FORMAT = 'TLS handshake';

/** TLS ContentType, RFC 5246 §6.2.1 / RFC 8446 §5.1. */
export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;
/** HandshakeType values the sniffer acts on, RFC 5246 §7.4. */
export const HandshakeType = { clientHello: 1, clientKeyExchange: 16 } as const;

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
/** RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14. */
const MAX_PLAINTEXT = 1 << 14;
/** No client sends a pre-encryption handshake message anywhere near this; it bounds the reassembly buffer. */
const DEFAULT_MAX_HANDSHAKE_MESSAGE = 1 << 16;

export interface ClientHelloInfo {
  /** ClientHello.legacy_version (client_version in TLS 1.2), e.g. 0x0303. */
  legacyVersion: number;
  cipherSuites: number[];
  /** First host_name of server_name (RFC 6066 §3), as sent; clients do send IP literals here. */
  serverName?: string;
  /** ALPN protocol names offered (RFC 7301 §3.1); empty when the extension is absent. */
  alpn: string[];
  /** supported_versions (RFC 8446 §4.2.1); empty when absent (then the client speaks at most TLS 1.2). */
  supportedVersions: number[];
  /**
   * pre_shared_key identities (RFC 8446 §4.2.11) that are UTF-8 text without NUL, in the client's order.
   * Others (binary session tickets) are left out: they can never name an external PSK OpenSSL could pass on.
   */
  pskIdentities: string[];
}

export type SniffEvent =
  /** recordOffset: start of the record that carries the message's last byte (see ClientKeyExchange). */
  | { type: 'client-hello'; recordOffset: number; hello: ClientHelloInfo }
  /**
   * recordOffset: start of the record that carries the ClientKeyExchange's last byte. OpenSSL cannot process
   * the message before that record is complete, so holding back the bytes from here on is enough to delay the
   * PSK callback. For the usual unfragmented message this is the record that carries the whole message.
   */
  | { type: 'client-key-exchange'; recordOffset: number; pskIdentity: string }
  /** Parsing stopped: the record at recordOffset is a ChangeCipherSpec or application_data. */
  | { type: 'end'; recordOffset: number; reason: 'change-cipher-spec' | 'application-data' };

export interface HandshakeSnifferOptions {
  /** Longest handshake message body accepted (octets); default 65536. */
  maxHandshakeMessage?: number;
}

/** A FIFO of chunks that copies bytes only once, when a whole record is available (no O(n²) on 1-byte chunks). */
class ChunkQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Copies the first n bytes without removing them; the caller checked n <= length. */
  peek(n: number): Buffer {
    const head = this.chunks[0]!;
    if (head.length >= n) return head.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(out, filled, 0, Math.min(c.length, n - filled));
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first n bytes; the caller checked n <= length. */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0]!;
      const want = n - filled;
      if (head.length <= want) {
        head.copy(out, filled);
        filled += head.length;
        this.chunks.shift();
      } else {
        head.copy(out, filled, 0, want);
        this.chunks[0] = head.subarray(want);
        filled += want;
      }
    }
    this.length -= n;
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 4279 §5.1: a PSK identity is UTF-8 text. OpenSSL hands it on as a C string, so a NUL would truncate it. */
function pskIdentityText(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * ClientHello, RFC 5246 §7.4.1.2 and RFC 8446 §4.1.2, read by the shared TLS-wire reader; only the extensions the
 * listener uses are looked into.
 */
export function parseClientHello(body: Buffer, offset = 0): ClientHelloInfo {
  const ch = decodeClientHello(body, 'tls', offset);
  const legacyVersion = ch.clientVersion;
  if (legacyVersion >> 8 !== 3)
    throw new DecodeError(FORMAT, `legacy_version 0x${legacyVersion.toString(16)} is not 3.x`, offset);
  const hello: ClientHelloInfo = {
    legacyVersion,
    cipherSuites: ch.cipherSuites,
    alpn: [],
    supportedVersions: [],
    pskIdentities: [],
  };
  const exts = ch.extensions ?? [];
  exts.forEach((e, i) => {
    switch (e.type) {
      case HelloExtension.serverName: {
        const name = decodeServerName(e.data, 'latin1');
        if (name !== undefined) hello.serverName = name;
        break;
      }
      case HelloExtension.alpn:
        hello.alpn = decodeAlpn(e.data);
        break;
      case HelloExtension.supportedVersions:
        hello.supportedVersions = decodeSupportedVersions(e.data);
        break;
      case HelloExtension.preSharedKey:
        // RFC 8446 §4.2.11: pre_shared_key MUST be the last extension in the ClientHello.
        if (i !== exts.length - 1) throw new DecodeError(FORMAT, 'pre_shared_key is not the last extension', offset);
        // Binary identities (session tickets) can never name an external PSK OpenSSL could pass on: left out.
        hello.pskIdentities = decodeOfferedPskIdentities(e.data)
          .map(pskIdentityText)
          .filter((t) => t !== undefined);
        break;
      default:
        break;
    }
  });
  return hello;
}

/**
 * ClientKeyExchange of a PSK key exchange (RFC 4279 §2, and §3/§4 for DHE_PSK/RSA_PSK, where more follows):
 * the body starts with `opaque psk_identity<0..2^16-1>`, UTF-8 text (RFC 4279 §5.1).
 */
export function parseClientKeyExchangePskIdentity(body: Buffer, offset = 0): string {
  const text = pskIdentityText(decodePskIdentity(body, { minLength: 0, exact: false, base: offset }));
  if (text === undefined)
    throw new DecodeError(FORMAT, 'psk_identity is not UTF-8 text without NUL (RFC 4279 §5.1)', offset);
  return text;
}

export class HandshakeSniffer {
  private readonly queue = new ChunkQueue();
  private readonly maxHandshakeMessage: number;
  /** Absolute offset of the first byte in `queue`. */
  private offset = 0;
  /** Reassembly of handshake-record payloads not yet forming a whole message (linear, like `queue`). */
  private readonly handshake = new ChunkQueue();
  private handshakeOffset = 0;
  private messages = 0;
  private stopped = false;
  /** Header of the record being received, validated once when its 5 bytes are there. */
  private header: { type: number; length: number } | undefined;

  constructor(opts: HandshakeSnifferOptions = {}) {
    this.maxHandshakeMessage = opts.maxHandshakeMessage ?? DEFAULT_MAX_HANDSHAKE_MESSAGE;
  }

  /** True once a ChangeCipherSpec or application_data record was seen (or stop() was called). */
  get done(): boolean {
    return this.stopped;
  }

  /** End of the last whole record parsed: bytes before it have been looked at; later bytes not yet. */
  get parsedOffset(): number {
    return this.offset;
  }

  /** Bytes received but not yet parsed (an incomplete record), 0 once done. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /** Stops parsing and frees the buffers (the handshake finished, or the connection is going away). */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
    this.handshake.clear();
  }

  /**
   * Feeds the next bytes the client sent. Returns the events of every record that became complete.
   * After `done`, further input is ignored. Throws DecodeError on malformed input; the sniffer is then unusable.
   */
  push(chunk: Uint8Array): SniffEvent[] {
    const events: SniffEvent[] = [];
    if (this.stopped) return events;
    this.queue.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    while (!this.stopped && this.queue.length >= RECORD_HEADER) {
      const header = (this.header ??= this.readHeader());
      if (header.type === ContentType.applicationData) {
        // ciphertext from here on (RFC 8446 §5.2), or a protocol error that OpenSSL reports; not parsed
        this.finish(events, this.offset, 'application-data');
        break;
      }
      if (this.queue.length < RECORD_HEADER + header.length) break;
      const recordOffset = this.offset;
      this.queue.take(RECORD_HEADER);
      const fragment = this.queue.take(header.length);
      this.offset += RECORD_HEADER + header.length;
      this.header = undefined;
      this.onRecord(header.type, fragment, recordOffset, events);
    }
    return events;
  }

  /** RFC 5246 §6.2.1: type(1) ProtocolVersion(2) length(2); checked as soon as 5 bytes are there. */
  private readHeader(): { type: number; length: number } {
    const h = this.queue.peek(RECORD_HEADER);
    const type = h[0]!;
    const major = h[1]!;
    const minor = h[2]!;
    const length = h.readUInt16BE(3);
    if (this.offset === 0 && (type & 0x80) !== 0) {
      throw new DecodeError(FORMAT, 'SSL 2.0-compatible ClientHello is not supported', 0);
    }
    if (type < ContentType.changeCipherSpec || type > ContentType.applicationData) {
      throw new DecodeError(FORMAT, `unknown record content type ${type}`, this.offset);
    }
    // RFC 5246 Appendix E.1: the record version of a ClientHello may be any 3.x; TLS 1.3 freezes it at 3.1/3.3.
    if (major !== 3 || minor > 4) {
      throw new DecodeError(FORMAT, `record version ${major}.${minor} is not TLS`, this.offset + 1);
    }
    if (type === ContentType.applicationData) return { type, length };
    if (length > MAX_PLAINTEXT) throw new DecodeError(FORMAT, `record length ${length} exceeds 2^14`, this.offset + 3);
    // RFC 5246 §6.2.1: no zero-length fragments of handshake, alert or ChangeCipherSpec.
    if (length === 0) throw new DecodeError(FORMAT, `empty record of content type ${type}`, this.offset + 3);
    return { type, length };
  }

  private onRecord(type: number, fragment: Buffer, recordOffset: number, events: SniffEvent[]): void {
    const pendingHandshake = this.handshake.length > 0;
    switch (type) {
      case ContentType.handshake:
        this.onHandshakeFragment(fragment, recordOffset, events);
        return;
      case ContentType.alert:
        // RFC 5246 §7.2: the peer is giving up or warning; OpenSSL deals with it. Alerts are 2 octets each.
        if (pendingHandshake)
          throw new DecodeError(FORMAT, 'alert inside a fragmented handshake message', recordOffset);
        if (fragment.length % 2 !== 0) throw new DecodeError(FORMAT, 'alert record of odd length', recordOffset + 5);
        return;
      case ContentType.changeCipherSpec:
        if (pendingHandshake)
          throw new DecodeError(FORMAT, 'ChangeCipherSpec inside a fragmented handshake message', recordOffset);
        // RFC 5246 §7.1: the message is the single octet 1.
        if (fragment.length !== 1 || fragment[0] !== 1)
          throw new DecodeError(FORMAT, 'ChangeCipherSpec is not the single octet 1', recordOffset + 5);
        this.finish(events, recordOffset, 'change-cipher-spec');
        return;
      default:
        throw new DecodeError(FORMAT, `unexpected record content type ${type}`, recordOffset);
    }
  }

  private finish(events: SniffEvent[], recordOffset: number, reason: 'change-cipher-spec' | 'application-data'): void {
    events.push({ type: 'end', recordOffset, reason });
    this.stop();
  }

  /** RFC 5246 §7.4: Handshake { type(1) length(3) body }; messages may span records and share records. */
  private onHandshakeFragment(fragment: Buffer, recordOffset: number, events: SniffEvent[]): void {
    if (this.handshake.length === 0) this.handshakeOffset = recordOffset + RECORD_HEADER;
    this.handshake.push(fragment);
    while (this.handshake.length >= HANDSHAKE_HEADER) {
      const header = this.handshake.peek(HANDSHAKE_HEADER);
      const msgType = header[0]!;
      const length = header.readUIntBE(1, 3);
      if (length > this.maxHandshakeMessage) {
        throw new DecodeError(
          FORMAT,
          `handshake message of ${length} octets exceeds ${this.maxHandshakeMessage}`,
          this.handshakeOffset + 1,
        );
      }
      if (this.handshake.length < HANDSHAKE_HEADER + length) return;
      const body = this.handshake.take(HANDSHAKE_HEADER + length).subarray(HANDSHAKE_HEADER);
      // Body offsets are exact only when the message sits in one record; across records they point at its start.
      this.onHandshakeMessage(msgType, body, recordOffset, this.handshakeOffset + HANDSHAKE_HEADER, events);
      this.handshakeOffset = recordOffset + RECORD_HEADER + (fragment.length - this.handshake.length);
    }
  }

  private onHandshakeMessage(
    msgType: number,
    body: Buffer,
    recordOffset: number,
    bodyOffset: number,
    events: SniffEvent[],
  ): void {
    // RFC 5246 §7.4.1.2 / RFC 8446 §4.1.2: a client's first handshake message is its ClientHello.
    if (this.messages++ === 0 && msgType !== HandshakeType.clientHello) {
      throw new DecodeError(
        FORMAT,
        `first handshake message has type ${msgType}, not ClientHello`,
        bodyOffset - HANDSHAKE_HEADER,
      );
    }
    if (msgType === HandshakeType.clientHello) {
      events.push({ type: 'client-hello', recordOffset, hello: parseClientHello(body, bodyOffset) });
    } else if (msgType === HandshakeType.clientKeyExchange) {
      events.push({
        type: 'client-key-exchange',
        recordOffset,
        pskIdentity: parseClientKeyExchangePskIdentity(body, bodyOffset),
      });
    }
  }
}
