/**
 * The UE side of Ua with GBA HTTP Digest (TS 24.109 clause 5): fetch the device configuration from the NAF.
 * The NAF FQDN for NAF_Id comes from the realm "3GPP-bootstrapping@<fqdn>", since labs reach the NAF by IP.
 * The answer's shape is the contract module shared/wire/sbi/ua.ts, which the NAF (naf/ua.ts) produces from.
 */
import { randomBytes } from 'node:crypto';
import { computeRspauth, requestDigest } from '../shared/crypto/digest.js';
import { ksNaf } from '../shared/crypto/kdf.js';
import { formatDigest, parseAuthenticationInfo, parseChallenges, type ParamOut } from '../shared/wire/digest-header.js';
import { UA_HTTP_DIGEST } from '../shared/ua-ids.js';
import { DeviceConfigSchema, UA_DEVICE_CONFIG_PATH, type DeviceConfig } from '../shared/wire/sbi/ua.js';
import type { Bootstrap } from './ub-client.js';

export type { DeviceConfig };

export class UaError extends Error {
  constructor(readonly reason: 'rebootstrap' | 'rejected' | 'unavailable' | 'protocol', message: string, readonly status?: number) {
    super(message);
    this.name = 'UaError';
  }
}

const REALM_PREFIX = '3GPP-bootstrapping@';

export async function fetchDeviceConfig(nafUaUrl: string, b: Bootstrap, onStep: (s: string, d?: Record<string, unknown>) => void = () => {}): Promise<DeviceConfig> {
  const url = new URL(UA_DEVICE_CONFIG_PATH, nafUaUrl.endsWith('/') ? nafUaUrl : `${nafUaUrl}/`);
  const uri = url.pathname + url.search;
  const get = async (authorization?: string) => {
    try {
      const r = await fetch(url, { headers: { 'user-agent': 'gba-sim-device; 3gpp-gba', ...(authorization ? { authorization } : {}) } });
      return { status: r.status, headers: r.headers, body: await r.text() };
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
  // password = base64(Ks_NAF), NAF_Id = FQDN ‖ 01 00 00 00 02 (TS 24.109 §5.2.3.2, TS 33.220 Annex B.3)
  const key = ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn, uaSecProtId: Buffer.from(UA_HTTP_DIGEST, 'hex') });
  const password = key.toString('base64');
  const cnonce = randomBytes(8).toString('hex');
  const input = { username: b.btid, realm, nonce, nc: '00000001', cnonce, qop, method: 'GET', uri };
  const d = requestDigest({ ...input, password });
  const p: ParamOut[] = [['username', b.btid, true], ['realm', realm, true], ['nonce', nonce, true], ['uri', uri, true]];
  if (qop) p.push(['qop', qop, false], ['nc', '00000001', false], ['cnonce', cnonce, true]);
  p.push(['response', d.response, true], ['algorithm', 'MD5', false]);
  if (ch.params.has('opaque')) p.push(['opaque', ch.params.get('opaque')!, true]);
  onStep('ua.challenge', { realm, nafId: `${nafFqdn} ‖ ${UA_HTTP_DIGEST}` });
  const r = await get(formatDigest(p));
  if (r.status === 401) throw new UaError('rebootstrap', 'the NAF refused the B-TID or key: bootstrap again', 401);
  if (r.status !== 200) throw new UaError(r.status === 503 ? 'unavailable' : 'rejected', `NAF answered ${r.status}: ${r.body.slice(0, 200)}`, r.status);
  const rspauth = parseAuthenticationInfo(r.headers.get('authentication-info') ?? '').get('rspauth');
  if (rspauth !== computeRspauth(d.ha1, input, r.body)) throw new UaError('protocol', 'rspauth does not verify: the NAF is not authenticated');
  let json: unknown;
  try { json = JSON.parse(r.body); } catch { throw new UaError('protocol', 'device config is not JSON'); }
  const parsed = DeviceConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new UaError('protocol', `device config lacks ${[...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ')}`);
  }
  const c = parsed.data;
  onStep('ua.provisioned', { endpoint: c.endpoint, server: c.serverUri, pskIdentity: c.pskIdentity });
  return c;
}
