/**
 * The UE side of Ua with GBA HTTP Digest (TS 24.109 clause 5): fetch the device configuration from the NAF.
 * The NAF FQDN for NAF_Id comes from the realm "3GPP-bootstrapping@<fqdn>", since labs reach the NAF by IP.
 * The answer's shape is the contract module shared/wire/sbi/ua.ts, which the NAF (naf/ua.ts) produces from.
 */
import { ksNaf } from '../shared/crypto/kdf.js';
import { normalizeFqdn, pskIdentityForBtid } from '../shared/identifiers.js';
import { DecodeError } from '../shared/errors.js';
import { DigestAnswer, findDigestChallenge } from './digest-client.js';
import { UA_TLS_PSK_AES128_GCM } from '../shared/ua-ids.js';
import { uaRequest } from './ua-transport.js';
import { DeviceConfigSchema, UA_DEVICE_CONFIG_PATH, type DeviceConfig } from '../shared/wire/sbi/ua.js';
import type { Bootstrap } from './ub-client.js';

export type { DeviceConfig };

export class UaError extends Error {
  constructor(
    readonly reason: 'rebootstrap' | 'rejected' | 'unavailable' | 'protocol',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'UaError';
  }
}

const REALM_PREFIX = '3GPP-bootstrapping@';

export interface UaClientOptions {
  /** Refuse a 200 OK without rspauth (by default accepted with a warning step; verified whenever present). */
  requireRspauth?: boolean;
  /** HTTPS (TS 33.222 §5.3): the CA that signed the NAF's certificate, and the name it must carry (the NAF FQDN). */
  ca?: string | Buffer;
  servername?: string;
}

export async function fetchDeviceConfig(
  nafUaUrl: string,
  b: Bootstrap,
  onStep: (s: string, d?: Record<string, unknown>) => void = () => {},
  opts: UaClientOptions = {},
): Promise<DeviceConfig> {
  const url = new URL(UA_DEVICE_CONFIG_PATH, nafUaUrl.endsWith('/') ? nafUaUrl : `${nafUaUrl}/`);
  const uri = url.pathname + url.search;
  const get = async (authorization?: string) => {
    try {
      const r = await uaRequest(url, {
        ca: opts.ca,
        servername: opts.servername,
        headers: { 'user-agent': 'gba-sim-device; 3gpp-gba', ...(authorization ? { authorization } : {}) },
      });
      return {
        status: r.status,
        headers: { get: (n: string) => r.header(n) ?? null },
        body: r.body,
        uaSecProtId: r.uaSecProtId,
      };
    } catch (err) {
      throw new UaError('unavailable', `NAF ${url.origin} unreachable: ${(err as Error).message}`);
    }
  };
  onStep('ua.request', { url: url.href });
  const first = await get();
  if (first.status !== 401)
    throw new UaError('protocol', `NAF answered ${first.status} to an unauthenticated request`, first.status);
  let ch;
  try {
    ch = findDigestChallenge(first.headers.get('www-authenticate') ?? undefined);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
  const realm = ch?.get('realm');
  if (!ch || !realm?.startsWith(REALM_PREFIX))
    throw new UaError('protocol', 'no GBA Digest challenge (realm "3GPP-bootstrapping@<fqdn>")');
  const nafFqdn = normalizeFqdn(realm.slice(REALM_PREFIX.length));
  // password = base64(Ks_NAF), NAF_Id = FQDN ‖ 01 00 00 00 02 (TS 24.109 §5.2.3.2, TS 33.220 Annex B.3); inside
  // server-certificate TLS the Ua id is 01 00 01 ‖ the negotiated suite (TS 33.222 §5.3).
  const uaId = first.uaSecProtId;
  if (!uaId)
    throw new UaError(
      'protocol',
      'the TLS suite the NAF chose has no Ua security protocol id here (TS 33.220 Annex H)',
    );
  const key = ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn, uaSecProtId: Buffer.from(uaId, 'hex') });
  const answer = new DigestAnswer(ch, { username: b.btid, method: 'GET', uri, algorithm: 'MD5' });
  const { header: authorization, ha1 } = answer.authorization(key.toString('base64'));
  onStep('ua.challenge', { realm, nafId: `${nafFqdn} ‖ ${uaId}` });
  const r = await get(authorization);
  if (r.status === 401) throw new UaError('rebootstrap', 'the NAF refused the B-TID or key: bootstrap again', 401);
  if (r.status !== 200)
    throw new UaError(
      r.status === 503 ? 'unavailable' : 'rejected',
      `NAF answered ${r.status}: ${r.body.slice(0, 200)}`,
      r.status,
    );
  const checked = answer.checkRspauth(r.headers.get('authentication-info') ?? undefined, ha1, r.body);
  if (checked === 'mismatch') throw new UaError('protocol', 'rspauth does not verify: the NAF is not authenticated');
  if (checked === 'absent') {
    if (opts.requireRspauth)
      throw new UaError('protocol', '200 OK without Authentication-Info rspauth: the NAF is not authenticated');
    onStep('ua.warning', {
      warning: '200 OK without Authentication-Info rspauth: the NAF is not authenticated (RFC 7616 §3.5)',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    throw new UaError('protocol', 'device config is not JSON');
  }
  const parsed = DeviceConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new UaError(
      'protocol',
      `device config lacks ${[...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ')}`,
    );
  }
  const c = parsed.data;
  onStep('ua.provisioned', { endpoint: c.endpoint, server: c.serverUri, pskIdentity: c.pskIdentity });
  return c;
}

/**
 * Ua over TLS-PSK (TS 33.222 §5.4): the handshake with PSK identity `3GPP-bootstrapping.<B-TID>` and key
 * Ks_NAF for NAF_Id = nafFqdn ‖ uaSecProtId authenticates both sides; the configuration comes without Digest.
 * A refused handshake (unknown_psk_identity) means the NAF does not know the B-TID: bootstrap again.
 */
export async function fetchDeviceConfigPsk(
  nafUaPskUrl: string,
  b: Bootstrap,
  o: { nafFqdn: string; uaSecProtId?: string },
  onStep: (s: string, d?: Record<string, unknown>) => void = () => {},
): Promise<DeviceConfig> {
  const url = new URL(UA_DEVICE_CONFIG_PATH, nafUaPskUrl.endsWith('/') ? nafUaPskUrl : `${nafUaPskUrl}/`);
  const uaSecProtId = o.uaSecProtId ?? UA_TLS_PSK_AES128_GCM;
  const key = ksNaf({
    ks: b.ks,
    rand: b.rand,
    impi: b.impi,
    nafFqdn: o.nafFqdn,
    uaSecProtId: Buffer.from(uaSecProtId, 'hex'),
  });
  onStep('ua.psk', { url: url.href, nafId: `${o.nafFqdn} ‖ ${uaSecProtId}`, pskIdentity: pskIdentityForBtid(b.btid) });
  let r;
  try {
    r = await uaRequest(url, {
      servername: o.nafFqdn,
      psk: { identity: pskIdentityForBtid(b.btid), key, uaSecProtId },
      headers: { 'user-agent': 'gba-sim-device; 3gpp-gba' },
    });
  } catch (err) {
    const m = (err as Error).message;
    throw new UaError(
      /alert|handshake|psk/i.test(m) ? 'rebootstrap' : 'unavailable',
      `TLS-PSK with ${url.origin} failed: ${m}`,
    );
  }
  if (r.status !== 200)
    throw new UaError(
      r.status === 503 ? 'unavailable' : 'rejected',
      `NAF answered ${r.status}: ${r.body.slice(0, 200)}`,
      r.status,
    );
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    throw new UaError('protocol', 'device config is not JSON');
  }
  const parsed = DeviceConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new UaError(
      'protocol',
      `device config lacks ${[...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ')}`,
    );
  const c = parsed.data;
  onStep('ua.provisioned', { endpoint: c.endpoint, server: c.serverUri, pskIdentity: c.pskIdentity, over: 'tls-psk' });
  return c;
}

export interface GbaFetchResult {
  status: number;
  body: string;
  contentType?: string;
  rspauth: 'verified' | 'absent' | 'mismatch';
}

/**
 * Any resource behind GBA HTTP Digest (an application protected with `gbaAuth()`, C11): GET (or another
 * method) with the B-TID as username and base64(Ks_NAF) for NAF_Id = realm's FQDN ‖ Ua id as password, the
 * Ua id following the connection (TS 33.222 §5.3). A 401 after answering the challenge means bootstrap again.
 */
export async function gbaFetch(
  target: string,
  b: Bootstrap,
  o: UaClientOptions & { method?: string; body?: string; contentType?: string } = {},
  onStep: (s: string, d?: Record<string, unknown>) => void = () => {},
): Promise<GbaFetchResult> {
  const url = new URL(target);
  const uri = url.pathname + url.search;
  const method = o.method ?? 'GET';
  const send = async (authorization?: string) => {
    try {
      return await uaRequest(url, {
        method,
        ca: o.ca,
        servername: o.servername,
        body: o.body,
        headers: {
          'user-agent': 'gba-sim-device; 3gpp-gba',
          ...(o.body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
          ...(authorization ? { authorization } : {}),
        },
      });
    } catch (err) {
      throw new UaError('unavailable', `${url.origin} unreachable: ${(err as Error).message}`);
    }
  };
  onStep('ua.request', { url: url.href });
  const first = await send();
  if (first.status !== 401)
    return { status: first.status, body: first.body, contentType: first.header('content-type'), rspauth: 'absent' };
  let ch;
  try {
    ch = findDigestChallenge(first.header('www-authenticate'));
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
  const realm = ch?.get('realm');
  if (!ch || !realm?.startsWith(REALM_PREFIX))
    throw new UaError('protocol', 'no GBA Digest challenge (realm "3GPP-bootstrapping@<fqdn>")');
  const nafFqdn = normalizeFqdn(realm.slice(REALM_PREFIX.length));
  const uaId = first.uaSecProtId;
  if (!uaId)
    throw new UaError(
      'protocol',
      'the TLS suite the server chose has no Ua security protocol id here (TS 33.220 Annex H)',
    );
  const key = ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn, uaSecProtId: Buffer.from(uaId, 'hex') });
  const answer = new DigestAnswer(ch, { username: b.btid, method, uri, algorithm: 'MD5' });
  // qop=auth-int covers the request body (RFC 7616 §3.4.3): the answer's digest input carries it.
  Object.assign(answer.input, { body: o.body ?? '' });
  const { header: authorization, ha1 } = answer.authorization(key.toString('base64'));
  onStep('ua.challenge', { realm, nafId: `${nafFqdn} ‖ ${uaId}` });
  const r = await send(authorization);
  if (r.status === 401)
    throw new UaError('rebootstrap', `${url.origin} refused the B-TID or key: bootstrap again`, 401);
  const rspauth =
    r.status >= 200 && r.status < 300 ? answer.checkRspauth(r.header('authentication-info'), ha1, r.body) : 'absent';
  if (rspauth === 'mismatch') throw new UaError('protocol', 'rspauth does not verify: the server is not authenticated');
  if (rspauth === 'absent' && o.requireRspauth && r.status < 300)
    throw new UaError('protocol', 'no Authentication-Info rspauth: the server is not authenticated');
  onStep('ua.answered', { status: r.status, rspauth });
  return { status: r.status, body: r.body, contentType: r.header('content-type'), rspauth };
}
