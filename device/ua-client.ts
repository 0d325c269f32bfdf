/**
 * The UE side of Ua with GBA HTTP Digest (TS 24.109 clause 5): fetch the device configuration from the NAF.
 * The NAF FQDN for NAF_Id comes from the realm "3GPP-bootstrapping@<fqdn>", since labs reach the NAF by IP.
 */
import { randomBytes } from 'node:crypto';
import { computeRspauth, requestDigest } from '../shared/crypto/digest.js';
import { ksNaf } from '../shared/crypto/kdf.js';
import { formatDigest, parseAuthenticationInfo, parseChallenges, type ParamOut } from '../shared/wire/digest-header.js';
import { uaRequest } from './ua-transport.js';
import { UA_TLS_PSK_AES128_GCM } from '../shared/ua-ids.js';
import { pskIdentityForBtid } from '../shared/identifiers.js';
import type { Bootstrap } from './ub-client.js';

export interface DeviceConfig {
  endpoint: string;
  serverUri: string;
  serverUriDtls?: string;
  serverFqdn: string;
  pskIdentity: string;
  uaSecProtId: string;
  expiresAt: string;
}

export class UaError extends Error {
  constructor(readonly reason: 'rebootstrap' | 'rejected' | 'unavailable' | 'protocol', message: string, readonly status?: number) {
    super(message);
    this.name = 'UaError';
  }
}

const REALM_PREFIX = '3GPP-bootstrapping@';

export interface UaClientOptions {
  /** HTTPS (TS 33.222 §5.3): the CA that signed the NAF's certificate, and the name it must carry (the NAF FQDN). */
  ca?: string | Buffer;
  servername?: string;
}

export async function fetchDeviceConfig(nafUaUrl: string, b: Bootstrap, onStep: (s: string, d?: Record<string, unknown>) => void = () => {},
                                        opts: UaClientOptions = {}): Promise<DeviceConfig> {
  const url = new URL('device/v1/config', nafUaUrl.endsWith('/') ? nafUaUrl : `${nafUaUrl}/`);
  const uri = url.pathname + url.search;
  const get = async (authorization?: string) => {
    try {
      const r = await uaRequest(url, { ca: opts.ca, servername: opts.servername, headers: { 'user-agent': 'gba-sim-device; 3gpp-gba', ...(authorization ? { authorization } : {}) } });
      return { status: r.status, headers: { get: (n: string) => r.header(n) ?? null }, body: r.body, uaSecProtId: r.uaSecProtId };
    } catch (err) {
      throw new UaError('unavailable', `NAF ${url.origin} unreachable: ${(err as Error).message}`);
    }
  };
  onStep('ua.request', { url: url.href });
  const first = await get();
  if (first.status !== 401) throw new UaError('protocol', `NAF answered ${first.status} to an unauthenticated request`, first.status);
  const ch = parseChallenges(first.headers.get('www-authenticate') ?? '').find((c) => c.scheme.toLowerCase() === 'digest');
  const realm = ch?.params.get('realm');
  if (!ch || !realm?.startsWith(REALM_PREFIX)) throw new UaError('protocol', 'no GBA Digest challenge (realm "3GPP-bootstrapping@<fqdn>")');
  const nafFqdn = realm.slice(REALM_PREFIX.length);
  const nonce = ch.params.get('nonce') ?? '';
  const qops = (ch.params.get('qop') ?? '').split(',').map((q) => q.trim());
  const qop = qops.includes('auth-int') ? 'auth-int' as const : qops.includes('auth') ? 'auth' as const : undefined;
  // password = base64(Ks_NAF), NAF_Id = FQDN ‖ 01 00 00 00 02 (TS 24.109 §5.2.3.2, TS 33.220 Annex B.3); inside
  // server-certificate TLS the Ua id is 01 00 01 ‖ the negotiated suite (TS 33.222 §5.3).
  const uaId = first.uaSecProtId;
  if (!uaId) throw new UaError('protocol', 'the TLS suite the NAF chose has no Ua security protocol id here (TS 33.220 Annex H)');
  const key = ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn, uaSecProtId: Buffer.from(uaId, 'hex') });
  const password = key.toString('base64');
  const cnonce = randomBytes(8).toString('hex');
  const input = { username: b.btid, realm, nonce, nc: '00000001', cnonce, qop, method: 'GET', uri };
  const d = requestDigest({ ...input, password });
  const p: ParamOut[] = [['username', b.btid, true], ['realm', realm, true], ['nonce', nonce, true], ['uri', uri, true]];
  if (qop) p.push(['qop', qop, false], ['nc', '00000001', false], ['cnonce', cnonce, true]);
  p.push(['response', d.response, true], ['algorithm', 'MD5', false]);
  if (ch.params.has('opaque')) p.push(['opaque', ch.params.get('opaque')!, true]);
  onStep('ua.challenge', { realm, nafId: `${nafFqdn} ‖ ${uaId}` });
  const r = await get(formatDigest(p));
  if (r.status === 401) throw new UaError('rebootstrap', 'the NAF refused the B-TID or key: bootstrap again', 401);
  if (r.status !== 200) throw new UaError(r.status === 503 ? 'unavailable' : 'rejected', `NAF answered ${r.status}: ${r.body.slice(0, 200)}`, r.status);
  const rspauth = parseAuthenticationInfo(r.headers.get('authentication-info') ?? '').get('rspauth');
  if (rspauth !== computeRspauth(d.ha1, input, r.body)) throw new UaError('protocol', 'rspauth does not verify: the NAF is not authenticated');
  const c = JSON.parse(r.body) as DeviceConfig;
  for (const f of ['endpoint', 'serverUri', 'serverFqdn', 'pskIdentity', 'uaSecProtId', 'expiresAt'] as const) {
    if (typeof c[f] !== 'string') throw new UaError('protocol', `device config lacks ${f}`);
  }
  onStep('ua.provisioned', { endpoint: c.endpoint, server: c.serverUri, pskIdentity: c.pskIdentity });
  return c;
}

/**
 * Ua over TLS-PSK (TS 33.222 §5.4): the handshake with PSK identity `3GPP-bootstrapping.<B-TID>` and key
 * Ks_NAF for NAF_Id = nafFqdn ‖ uaSecProtId authenticates both sides; the configuration comes without Digest.
 * A refused handshake (unknown_psk_identity) means the NAF does not know the B-TID: bootstrap again.
 */
export async function fetchDeviceConfigPsk(nafUaPskUrl: string, b: Bootstrap, o: { nafFqdn: string; uaSecProtId?: string },
                                           onStep: (s: string, d?: Record<string, unknown>) => void = () => {}): Promise<DeviceConfig> {
  const url = new URL('device/v1/config', nafUaPskUrl.endsWith('/') ? nafUaPskUrl : `${nafUaPskUrl}/`);
  const uaSecProtId = o.uaSecProtId ?? UA_TLS_PSK_AES128_GCM;
  const key = ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn: o.nafFqdn, uaSecProtId: Buffer.from(uaSecProtId, 'hex') });
  onStep('ua.psk', { url: url.href, nafId: `${o.nafFqdn} ‖ ${uaSecProtId}`, pskIdentity: pskIdentityForBtid(b.btid) });
  let r;
  try {
    r = await uaRequest(url, { servername: o.nafFqdn, psk: { identity: pskIdentityForBtid(b.btid), key, uaSecProtId }, headers: { 'user-agent': 'gba-sim-device; 3gpp-gba' } });
  } catch (err) {
    const m = (err as Error).message;
    throw new UaError(/alert|handshake|psk/i.test(m) ? 'rebootstrap' : 'unavailable', `TLS-PSK with ${url.origin} failed: ${m}`);
  }
  if (r.status !== 200) throw new UaError(r.status === 503 ? 'unavailable' : 'rejected', `NAF answered ${r.status}: ${r.body.slice(0, 200)}`, r.status);
  const c = JSON.parse(r.body) as DeviceConfig;
  for (const f of ['endpoint', 'serverUri', 'serverFqdn', 'pskIdentity', 'uaSecProtId', 'expiresAt'] as const) {
    if (typeof c[f] !== 'string') throw new UaError('protocol', `device config lacks ${f}`);
  }
  onStep('ua.provisioned', { endpoint: c.endpoint, server: c.serverUri, pskIdentity: c.pskIdentity, over: 'tls-psk' });
  return c;
}
