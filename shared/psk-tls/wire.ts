/**
 * The one reader of the TLS wire for both listeners: the presentation language (RFC 5246 §4: uintN, opaque
 * vectors), the ClientHello (RFC 5246 §7.4.1.2; with the cookie of RFC 6347 §4.2.1 for DTLS), hello extensions
 * (RFC 5246 §7.4.1.4) and those both listeners read (server_name RFC 6066 §3, ALPN RFC 7301 §3.1,
 * supported_versions RFC 8446 §4.2.1, pre_shared_key RFC 8446 §4.2.11), and the PSK identity of a
 * ClientKeyExchange (RFC 4279 §2, §5.1).
 *
 * dtls/ decodes its handshake with it; tls/handshake-sniffer.ts reads the client's plaintext flight with it.
 * Every read checks bounds first and throws DecodeError (never RangeError) with an absolute offset.
 */
import { DecodeError } from '../errors.js';

/** A cursor over a buffer. `base` is the absolute offset of buf[0], so errors point into the whole input. */
export class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly format: string,
    private readonly base = 0,
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  fail(reason: string): never {
    throw new DecodeError(this.format, reason, this.base + this.pos);
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`${what}: needs ${n} octets, ${this.remaining} left`);
  }

  u8(what = 'uint8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what = 'uint16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(what = 'uint24'): number {
    this.need(3, what);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u48(what = 'uint48'): number {
    this.need(6, what);
    const v = this.buf.readUIntBE(this.pos, 6);
    this.pos += 6;
    return v;
  }

  bytes(n: number, what = 'opaque'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** opaque x<min..max> with a 1-octet length. */
  vector8(what: string, min = 0, max = 255): Buffer {
    return this.checked(this.u8(`${what} length`), min, max, what);
  }
  /** opaque x<min..max> with a 2-octet length. */
  vector16(what: string, min = 0, max = 65535): Buffer {
    return this.checked(this.u16(`${what} length`), min, max, what);
  }

  /** The same vectors as a Reader of their content, for structures inside (offsets stay absolute). */
  sub8(what: string, min = 0, max = 255): Reader {
    return this.nested(this.vector8(what, min, max));
  }
  sub16(what: string, min = 0, max = 65535): Reader {
    return this.nested(this.vector16(what, min, max));
  }

  /** A reader over `content`, which was just read from here. */
  private nested(content: Buffer): Reader {
    return new Reader(content, this.format, this.base + this.pos - content.length);
  }

  private checked(len: number, min: number, max: number, what: string): Buffer {
    if (len < min || len > max) this.fail(`${what}: length ${len} outside <${min}..${max}>`);
    return this.bytes(len, what);
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  expectEnd(what: string): void {
    if (!this.atEnd()) this.fail(`${what}: ${this.remaining} trailing octets`);
  }
}

export const u8 = (v: number): Buffer => Buffer.from([v & 0xff]);
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
export function u24(v: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(v, 0, 3);
  return b;
}
export function u48(v: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(v, 0, 6);
  return b;
}

export function vector8(data: Uint8Array): Buffer {
  if (data.length > 255) throw new RangeError(`vector8 of ${data.length} octets`);
  return Buffer.concat([u8(data.length), data]);
}
export function vector16(data: Uint8Array): Buffer {
  if (data.length > 65535) throw new RangeError(`vector16 of ${data.length} octets`);
  return Buffer.concat([u16(data.length), data]);
}

// ------------------------------------------------------------------ hello extensions

/** ExtensionType values either listener reads (IANA TLS ExtensionType registry). */
export const HelloExtension = {
  serverName: 0, // RFC 6066 §3
  alpn: 16, // RFC 7301 §3.1
  preSharedKey: 41, // RFC 8446 §4.2.11
  supportedVersions: 43, // RFC 8446 §4.2.1
} as const;

export interface Extension {
  type: number;
  data: Buffer;
}

/** Decodes the body of `Extension extensions<0..2^16-1>` (without its length prefix). */
export function decodeExtensionList(block: Buffer, base = 0): Extension[] {
  const r = new Reader(block, 'TLS extensions', base);
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (!r.atEnd()) {
    const type = r.u16('extension_type');
    // RFC 5246 §7.4.1.4, RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type."
    if (seen.has(type)) r.fail(`duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, data: r.vector16('extension_data') });
  }
  return out;
}

/** Encodes an extensions block with its 2-octet length. */
export function encodeExtensionList(exts: Extension[]): Buffer {
  return vector16(Buffer.concat(exts.map((e) => Buffer.concat([u16(e.type), vector16(e.data)]))));
}

export const findExtension = (exts: Extension[] | undefined, type: number): Extension | undefined =>
  exts?.find((e) => e.type === type);

/**
 * RFC 6066 §3: the first host_name entry of a ServerNameList, if any. `encoding` only matters for octets over
 * 127, which a DNS name never has: DTLS keeps 'ascii', the TLS sniffer 'latin1' (clients send IP literals too).
 */
export function decodeServerName(data: Buffer, encoding: 'ascii' | 'latin1' = 'ascii'): string | undefined {
  const r = new Reader(data, 'server_name');
  const list = r.sub16('server_name_list', 1);
  r.expectEnd('server_name');
  let host: string | undefined;
  while (!list.atEnd()) {
    const nameType = list.u8('name_type');
    const name = list.vector16('HostName', 1);
    if (nameType === 0 && host === undefined) host = name.toString(encoding);
  }
  return host;
}

/** RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1>, ProtocolName<1..2^8-1>. */
export function decodeAlpn(data: Buffer): string[] {
  const r = new Reader(data, 'application_layer_protocol_negotiation');
  const list = r.sub16('protocol_name_list', 2);
  r.expectEnd('application_layer_protocol_negotiation');
  const names: string[] = [];
  while (!list.atEnd()) names.push(list.vector8('ProtocolName', 1).toString('latin1'));
  return names;
}

/** RFC 8446 §4.2.1: ProtocolVersion versions<2..254> in a ClientHello. */
export function decodeSupportedVersions(data: Buffer): number[] {
  const r = new Reader(data, 'supported_versions');
  const list = r.sub8('versions', 2, 254);
  r.expectEnd('supported_versions');
  if (list.remaining % 2 !== 0) list.fail('versions: odd length');
  const versions: number[] = [];
  while (!list.atEnd()) versions.push(list.u16('version'));
  return versions;
}

/**
 * RFC 8446 §4.2.11: OfferedPsks { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; }.
 * Returns the identities' octets in the client's order; checks there is one binder per identity.
 */
export function decodeOfferedPskIdentities(data: Buffer): Buffer[] {
  const r = new Reader(data, 'pre_shared_key');
  const identities = r.sub16('identities', 7);
  const binders = r.sub16('binders', 33);
  r.expectEnd('pre_shared_key');
  const out: Buffer[] = [];
  while (!identities.atEnd()) {
    out.push(identities.vector16('identity', 1));
    identities.bytes(4, 'obfuscated_ticket_age');
  }
  let binderCount = 0;
  while (!binders.atEnd()) {
    binders.vector8('PskBinderEntry', 32, 255);
    binderCount++;
  }
  if (binderCount !== out.length) binders.fail(`${out.length} identities but ${binderCount} binders`);
  return out;
}

// ------------------------------------------------------------------ ClientHello and ClientKeyExchange

export interface ClientHello {
  /** client_version (TLS 1.3: legacy_version), e.g. 0x0303 for TLS, 0xfefd for DTLS 1.2. */
  clientVersion: number;
  random: Buffer;
  sessionId: Buffer;
  /** DTLS only (RFC 6347 §4.2.1); empty for TLS. */
  cookie: Buffer;
  cipherSuites: number[];
  /** The raw `cipher_suites` vector content (hashed into the DTLS cookie). */
  cipherSuitesRaw: Buffer;
  compressionMethods: Buffer;
  /** Undefined when the extensions block is absent, which RFC 5246 §7.4.1.2 allows (node-dtls-client does it). */
  extensions?: Extension[];
}

/**
 * ClientHello body, RFC 5246 §7.4.1.2 (TLS 1.3: RFC 8446 §4.1.2); `flavour` 'dtls' adds the cookie after the
 * session id (RFC 6347 §4.2.1). `base` is the body's absolute offset, for error positions.
 */
export function decodeClientHello(body: Buffer, flavour: 'tls' | 'dtls', base = 0): ClientHello {
  const r = new Reader(body, 'ClientHello', base);
  const clientVersion = r.u16('client_version');
  const random = r.bytes(32, 'random');
  const sessionId = r.vector8('session_id', 0, 32);
  const cookie = flavour === 'dtls' ? r.vector8('cookie', 0, 255) : Buffer.alloc(0);
  const cipherSuitesRaw = r.vector16('cipher_suites', 2, 65534);
  if (cipherSuitesRaw.length % 2 !== 0) r.fail('cipher_suites has odd length');
  const compressionMethods = r.vector8('compression_methods', 1, 255);
  let extensions: Extension[] | undefined;
  if (!r.atEnd()) {
    const block = r.vector16('extensions');
    extensions = decodeExtensionList(block, base + r.offset - block.length);
    r.expectEnd('ClientHello');
  }
  const cipherSuites: number[] = [];
  for (let i = 0; i < cipherSuitesRaw.length; i += 2) cipherSuites.push(cipherSuitesRaw.readUInt16BE(i));
  const ch: ClientHello = {
    clientVersion,
    random,
    sessionId,
    cookie,
    cipherSuites,
    cipherSuitesRaw,
    compressionMethods,
  };
  if (extensions) ch.extensions = extensions;
  return ch;
}

/**
 * The `opaque psk_identity<0..2^16-1>` that starts a PSK ClientKeyExchange (RFC 4279 §2; DHE_PSK and RSA_PSK,
 * §3/§4, put more after it). `exact`: the body is nothing but the identity (plain PSK).
 */
export function decodePskIdentity(body: Buffer, o: { minLength: number; exact: boolean; base?: number }): Buffer {
  const r = new Reader(body, 'ClientKeyExchange', o.base ?? 0);
  const identity = r.vector16('psk_identity', o.minLength);
  if (o.exact) r.expectEnd('ClientKeyExchange');
  return identity;
}
