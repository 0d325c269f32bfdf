/**
 * Handshake message bodies for a DTLS 1.2 PSK handshake: RFC 6347 §4.2.1 (ClientHello with cookie,
 * HelloVerifyRequest), RFC 5246 §7.4 (ServerHello, ServerHelloDone, Finished), RFC 4279 §2 (PSK key exchange).
 * Bodies only: the 12-byte handshake header is in handshake.ts.
 */
import {
  type ClientHello,
  decodeClientHello as decodeTlsClientHello,
  decodeExtensionList,
  decodePskIdentity,
  encodeExtensionList,
  type Extension,
  Reader,
  u16,
  u8,
  vector16,
  vector8,
} from '../wire.js';

export type { ClientHello } from '../wire.js';

/** A DTLS ClientHello carries the cookie (RFC 6347 §4.2.1); the shared TLS-wire reader decodes it. */
export function decodeClientHello(body: Buffer): ClientHello {
  return decodeTlsClientHello(body, 'dtls');
}

export function encodeClientHello(ch: Omit<ClientHello, 'cipherSuitesRaw'>): Buffer {
  const suites = Buffer.concat(ch.cipherSuites.map((s) => u16(s)));
  const parts = [
    u16(ch.clientVersion),
    ch.random,
    vector8(ch.sessionId),
    vector8(ch.cookie),
    vector16(suites),
    vector8(ch.compressionMethods),
  ];
  if (ch.extensions) parts.push(encodeExtensionList(ch.extensions));
  return Buffer.concat(parts);
}

/** RFC 6347 §4.2.1: `ProtocolVersion server_version; opaque cookie<0..2^8-1>`. */
export interface HelloVerifyRequest {
  serverVersion: number;
  cookie: Buffer;
}

export const encodeHelloVerifyRequest = (hvr: HelloVerifyRequest): Buffer =>
  Buffer.concat([u16(hvr.serverVersion), vector8(hvr.cookie)]);

export function decodeHelloVerifyRequest(body: Buffer): HelloVerifyRequest {
  const r = new Reader(body, 'HelloVerifyRequest');
  const hvr = { serverVersion: r.u16('server_version'), cookie: r.vector8('cookie') };
  r.expectEnd('HelloVerifyRequest');
  return hvr;
}

export interface ServerHello {
  serverVersion: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  compressionMethod: number;
  /** Omitted from the wire when empty (RFC 5246 §7.4.1.3 allows either). */
  extensions: Extension[];
}

export function encodeServerHello(sh: ServerHello): Buffer {
  const parts = [
    u16(sh.serverVersion),
    sh.random,
    vector8(sh.sessionId),
    u16(sh.cipherSuite),
    u8(sh.compressionMethod),
  ];
  if (sh.extensions.length > 0) parts.push(encodeExtensionList(sh.extensions));
  return Buffer.concat(parts);
}

export function decodeServerHello(body: Buffer): ServerHello {
  const r = new Reader(body, 'ServerHello');
  const serverVersion = r.u16('server_version');
  const random = r.bytes(32, 'random');
  const sessionId = r.vector8('session_id', 0, 32);
  const cipherSuite = r.u16('cipher_suite');
  const compressionMethod = r.u8('compression_method');
  const extensions = r.atEnd() ? [] : decodeExtensionList(r.vector16('extensions'));
  r.expectEnd('ServerHello');
  return { serverVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
}

/** RFC 4279 §2: ServerKeyExchange for plain PSK is `opaque psk_identity_hint<0..2^16-1>`. */
export const encodeServerKeyExchange = (hint: Buffer): Buffer => vector16(hint);

export function decodeServerKeyExchange(body: Buffer): Buffer {
  const r = new Reader(body, 'ServerKeyExchange');
  const hint = r.vector16('psk_identity_hint');
  r.expectEnd('ServerKeyExchange');
  return hint;
}

/** RFC 4279 §2: ClientKeyExchange is `opaque psk_identity<0..2^16-1>`; we require a non-empty identity. */
export function decodeClientKeyExchange(body: Buffer): Buffer {
  return decodePskIdentity(body, { minLength: 1, exact: true });
}

export const encodeClientKeyExchange = (identity: Buffer): Buffer => vector16(identity);

/** RFC 5246 §7.4.9: verify_data is 12 octets for every suite here. */
export function decodeFinished(body: Buffer): Buffer {
  const r = new Reader(body, 'Finished');
  const v = r.bytes(12, 'verify_data');
  r.expectEnd('Finished');
  return v;
}
