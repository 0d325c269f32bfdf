/**
 * Ua: the device provisioning endpoint behind GBA HTTP Digest (TS 24.109 clause 5, TS 33.222 §5.2/§5.3).
 *
 *   GET {ua}device/v1/config            → 401 WWW-Authenticate: Digest realm="3GPP-bootstrapping@<naf fqdn>",
 *                                           nonce, qop="auth-int", algorithm=MD5, opaque
 *   GET … Authorization: Digest username="<B-TID>" …, password = base64(Ks_NAF), NAF_Id = fqdn ‖ 01 00 00 00 02
 *                                        → 200 {endpoint, serverUri, serverFqdn, pskIdentity, uaSecProtId, expiresAt}
 *
 * Every unauthenticated request is challenged whatever its User-Agent says, and the realm and NAF_Id always use
 * the configured FQDN whatever Host says (labs reach the NAF by IP). Nonces are single use. An unknown or
 * expired B-TID gets a fresh challenge, the signal for the UE to bootstrap again (TS 24.109 §5.2.2).
 */
import { createHash, randomBytes } from 'node:crypto';
import { computeRspauth, requestDigest, type Qop } from '../shared/crypto/digest.js';
import { secretEqualString } from '../shared/bytes.js';
import { DecodeError } from '../shared/errors.js';
import { formatDigest, formatParams, parseDigestCredentials } from '../shared/wire/digest-header.js';
import type { HttpRequest, HttpResponse } from '../shared/http/server.js';
import { PROBLEM_CONTENT_TYPE } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { NafKeyEntry, NonceStore } from '../shared/store/types.js';
import { UA_HTTP_DIGEST } from '../shared/ua-ids.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from './zn-client.js';

export interface DeviceConfig {
  endpoint: string;
  serverUri: string;
  serverFqdn: string;
  pskIdentity: string;
  uaSecProtId: string;
  expiresAt: string;
  serverUriDtls?: string;
}

export interface UaDeps {
  fqdn: string;
  /** Ua id of the Digest key: 0100000002 on plain HTTP (default), 01 00 01 yy zz inside TLS (TS 33.222 §5.3). */
  uaSecProtId?: string;
  nonceTtlMs: number;
  nonces: NonceStore;
  /** Ks_NAF for the B-TID and NAF_Id = fqdn ‖ ua id (via Zn, cached). */
  key: (btid: string, fqdn: string, uaSecProtId: string) => Promise<NafKeyEntry>;
  /** The device's configuration, given its B-TID and IMPI and the Ua key's expiry. */
  deviceConfig: (btid: string, impi: string, expiresMs: number) => DeviceConfig;
  /** Called after a successful provisioning (push to LwM2M servers that cannot pull). */
  onProvisioned?: (c: DeviceConfig, btid: string) => void;
  log: Logger;
  outcomes: Counter;   // gba_naf_ua_total{outcome}
}

export type UaOutcome = 'ok' | 'challenge' | 'stale_nonce' | 'wrong_response' | 'btid_unknown' | 'malformed' | 'bsf_unavailable';
export const UA_OUTCOMES: readonly UaOutcome[] = ['ok', 'challenge', 'stale_nonce', 'wrong_response', 'btid_unknown', 'malformed', 'bsf_unavailable'];

const problem = (status: number, title: string, detail: string, headers: Record<string, string> = {}): HttpResponse =>
  ({ status, headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers }, body: JSON.stringify({ title, status, detail }) });

export class UaHandler {
  readonly realm: string;
  readonly #opaque: string;

  constructor(readonly d: UaDeps) {
    this.realm = `3GPP-bootstrapping@${d.fqdn}`;
    // Stable across NAF instances, so any instance accepts what another challenged with.
    this.#opaque = createHash('sha256').update(this.realm).digest('base64url').slice(0, 22);
  }

  async handle(req: HttpRequest): Promise<HttpResponse> {
    const { d } = this;
    const auth = req.headers.authorization;
    if (!auth) return this.#challenge('challenge', 'GBA authentication required (TS 24.109 §5.2)');
    let p;
    try { p = parseDigestCredentials(auth); } catch (err) {
      if (err instanceof DecodeError) return this.#done('malformed', problem(400, 'Bad Request', err.message));
      throw err;
    }
    const btid = p.get('username');
    const missing = ['username', 'realm', 'nonce', 'uri', 'response'].filter((n) => !p.get(n));
    const qop = p.get('qop');
    if (qop !== undefined) missing.push(...['nc', 'cnonce'].filter((n) => !p.get(n)));
    if (missing.length) return this.#done('malformed', problem(400, 'Bad Request', `Authorization lacks ${missing.join(', ')}`));
    if (qop !== undefined && qop !== 'auth' && qop !== 'auth-int') return this.#done('malformed', problem(400, 'Bad Request', `qop ${qop} is not offered`));
    if (p.get('uri') !== req.url) return this.#done('malformed', problem(400, 'Bad Request', `digest uri does not match the request URI ${JSON.stringify(req.url)}`));
    if (p.get('realm') !== this.realm) return this.#challenge('stale_nonce', `realm must be ${this.realm}`);
    if (!(await d.nonces.consume(p.get('nonce')!))) return this.#challenge('stale_nonce', 'nonce unknown, used or expired');

    let entry: NafKeyEntry;
    try {
      entry = await d.key(btid!, d.fqdn, d.uaSecProtId ?? UA_HTTP_DIGEST);
    } catch (err) {
      if (err instanceof BtidUnknown) return this.#challenge('btid_unknown', 'unknown or expired B-TID: bootstrap again');
      if (err instanceof PeerUnavailable || err instanceof NafNotAuthorized) {
        d.log.warn({ err }, 'Zn failed');
        return this.#done('bsf_unavailable', problem(503, 'Service Unavailable', 'the BSF did not answer; retry later', { 'Retry-After': '5' }));
      }
      throw err;
    }
    // password = base64(Ks_NAF) as ASCII (TS 24.109 §5.2.3.2).
    const password = Buffer.from(entry.keyHex, 'hex').toString('base64');
    const input = { username: btid!, realm: this.realm, nonce: p.get('nonce')!, nc: p.get('nc'), cnonce: p.get('cnonce'), qop: qop as Qop | undefined, method: req.method, uri: req.url, body: req.body };
    const expected = requestDigest({ ...input, password });
    if (!secretEqualString(p.get('response')!.toLowerCase(), expected.response)) return this.#challenge('wrong_response', 'wrong digest response');

    const config = d.deviceConfig(btid!, entry.impi, entry.expiresMs);
    const body = JSON.stringify(config);
    const info: Array<readonly [string, string, boolean]> = [];
    if (qop) info.push(['qop', qop, false]);
    info.push(['rspauth', computeRspauth(expected.ha1, input, body), true]);
    if (qop) info.push(['cnonce', p.get('cnonce')!, true], ['nc', p.get('nc')!, false]);
    d.log.info({ event: 'ua', btid, endpoint: config.endpoint, outcome: 'ok' }, 'device provisioned');
    d.onProvisioned?.(config, btid!);
    return this.#done('ok', { status: 200, headers: { 'Content-Type': 'application/json', 'Authentication-Info': formatParams(info), 'Cache-Control': 'no-store' }, body });
  }

  async #challenge(outcome: UaOutcome, detail: string): Promise<HttpResponse> {
    const nonce = randomBytes(24).toString('base64');
    await this.d.nonces.create(nonce, this.d.nonceTtlMs);
    return this.#done(outcome, problem(401, 'Unauthorized', detail, {
      'WWW-Authenticate': formatDigest([['realm', this.realm, true], ['nonce', nonce, true], ['qop', 'auth-int', true], ['algorithm', 'MD5', false], ['opaque', this.#opaque, true]]),
      'Cache-Control': 'no-store',
    }));
  }

  #done(outcome: UaOutcome, res: HttpResponse): HttpResponse {
    this.d.outcomes.inc({ outcome });
    if (outcome !== 'ok' && outcome !== 'challenge') this.d.log.info({ event: 'ua', outcome, status: res.status }, 'Ua request refused');
    return res;
  }
}

