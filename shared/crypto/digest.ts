/**
 * HTTP Digest computations (RFC 2617 §3.2.2, RFC 7616 §3.4) with the AKA passwords of
 * RFC 3310 (AKAv1-MD5: password = RES as raw octets) and RFC 4169 §3 (AKAv2-MD5:
 * password = base64(HMAC-MD5(RES ‖ IK ‖ CK, "http-digest-akav2-password"))).
 *
 *   HA1      = MD5(username ":" realm ":" password)
 *   HA2      = MD5(method ":" uri)                       qop=auth
 *            = MD5(method ":" uri ":" MD5(body))         qop=auth-int
 *   response = MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *   rspauth  = the same with an empty method in A2 (RFC 2617 §3.2.3), over the response body.
 */
import { createHash, createHmac } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'AKAv1-MD5' | 'AKAv2-MD5';
export type Qop = 'auth' | 'auth-int';

const md5Hex = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export const md5OfBody = (body: Uint8Array | string): string => md5Hex(body);
/** MD5 of the empty entity body: the H(entity-body) of every GET. */
export const MD5_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';

/** The Digest password for an AKA run; RES absent (resynchronisation, RFC 3310 §3.4) gives the empty password. */
export function akaPassword(
  algorithm: 'AKAv1-MD5' | 'AKAv2-MD5',
  res: Uint8Array | undefined,
  ck?: Uint8Array,
  ik?: Uint8Array,
): Buffer {
  if (!res) return Buffer.alloc(0);
  if (algorithm === 'AKAv1-MD5') return Buffer.from(res);
  if (!ck || !ik) throw new RangeError('AKAv2-MD5 needs CK and IK');
  const mac = createHmac('md5', Buffer.concat([res, ik, ck]))
    .update('http-digest-akav2-password')
    .digest();
  return Buffer.from(mac.toString('base64'), 'ascii');
}

export function ha1(username: string, realm: string, password: Uint8Array | string): string {
  return md5Hex(username, ':', realm, ':', password);
}

/** HA2; for auth-int, `bodyMd5` is MD5 of the entity body as hex (MD5_EMPTY for an empty body). */
export function ha2(method: string, uri: string, qop: Qop | undefined, bodyMd5 = MD5_EMPTY): string {
  return qop === 'auth-int' ? md5Hex(method, ':', uri, ':', bodyMd5) : md5Hex(method, ':', uri);
}

export interface ResponseInput {
  ha1: string;
  nonce: string;
  nc?: string;
  cnonce?: string;
  qop?: Qop;
  ha2: string;
}

/** request-digest (RFC 2617 §3.2.2.1); without qop, the RFC 2069 form MD5(HA1:nonce:HA2). */
export function digestResponse(i: ResponseInput): string {
  if (!i.qop) return md5Hex(i.ha1, ':', i.nonce, ':', i.ha2);
  return md5Hex(i.ha1, ':', i.nonce, ':', i.nc ?? '', ':', i.cnonce ?? '', ':', i.qop, ':', i.ha2);
}

export interface DigestInput {
  username: string;
  realm: string;
  password: Uint8Array | string;
  nonce: string;
  nc?: string;
  cnonce?: string;
  qop?: Qop;
  method: string;
  uri: string;
  /** Request body (auth-int); empty when absent. */
  body?: Uint8Array | string;
}

/** The request side of one Digest exchange: HA1, HA2 and the response (what servers check and clients send). */
export function requestDigest(i: DigestInput): { ha1: string; ha2: string; response: string } {
  const h1 = ha1(i.username, i.realm, i.password);
  const h2 = ha2(i.method, i.uri, i.qop, i.body === undefined ? MD5_EMPTY : md5OfBody(i.body));
  return {
    ha1: h1,
    ha2: h2,
    response: digestResponse({ ha1: h1, nonce: i.nonce, nc: i.nc, cnonce: i.cnonce, qop: i.qop, ha2: h2 }),
  };
}

/** Everything one Digest exchange computes: HA1, HA2, the response and rspauth over the response body. */
export function computeDigest(
  i: DigestInput,
  responseBody: Uint8Array | string = '',
): { ha1: string; ha2: string; response: string; rspauth: string } {
  const d = requestDigest(i);
  return { ...d, rspauth: computeRspauth(d.ha1, i, responseBody) };
}

/** rspauth of Authentication-Info (RFC 2617 §3.2.3): A2 = ":" uri [":" MD5(response body)]. */
export function computeRspauth(
  ha1Hex: string,
  i: Pick<DigestInput, 'nonce' | 'nc' | 'cnonce' | 'qop' | 'uri'>,
  responseBody: Uint8Array | string,
): string {
  const h2 = ha2('', i.uri, i.qop, md5OfBody(responseBody));
  return digestResponse({ ha1: ha1Hex, nonce: i.nonce, nc: i.nc, cnonce: i.cnonce, qop: i.qop, ha2: h2 });
}
