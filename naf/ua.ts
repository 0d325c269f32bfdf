/**
 * Ua: the device provisioning endpoint behind GBA HTTP Digest (TS 24.109 clause 5, TS 33.222 §5.2/§5.3).
 *
 *   GET {ua}device/v1/config            → 401 WWW-Authenticate: Digest realm="3GPP-bootstrapping@<naf fqdn>",
 *                                           nonce, qop="auth-int", algorithm=MD5, opaque
 *   GET … Authorization: Digest username="<B-TID>" …, password = base64(Ks_NAF), NAF_Id = fqdn ‖ 01 00 00 00 02
 *                                        → 200 {endpoint, serverUri, serverFqdn, pskIdentity, uaSecProtId, expiresAt}
 *                                          (the contract module shared/wire/sbi/ua.ts, which the device reads too)
 *
 * Every unauthenticated request is challenged whatever its User-Agent says, and the realm and NAF_Id always use
 * the configured FQDN whatever Host says (labs reach the NAF by IP). Nonces are single use. An unknown or
 * expired B-TID gets a fresh challenge, the signal for the UE to bootstrap again (TS 24.109 §5.2.2).
 */
import { createHash, randomBytes } from 'node:crypto';
import { formatDigest } from '../shared/wire/digest-header.js';
import type { HttpRequest, HttpResponse } from '../shared/http/server.js';
import { DigestServer } from '../shared/http/digest-server.js';
import { problemResponse, problems, type HttpError } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { NafKeyEntry, NonceStore } from '../shared/store/types.js';
import { UA_HTTP_DIGEST } from '../shared/ua-ids.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from '../shared/services/errors.js';
import type { DeviceConfig } from '../shared/wire/sbi/ua.js';

export interface UaDeps {
  fqdn: string;
  /** Ua id of the Digest key: 0100000002 on plain HTTP (default), 01 00 01 yy zz inside TLS (TS 33.222 §5.3). */
  uaSecProtId?: string;
  nonceTtlMs: number;
  nonces: NonceStore;
  /** Ks_NAF for the B-TID and NAF_Id = fqdn ‖ ua id (via Zn, cached). */
  key: (btid: string, fqdn: string, uaSecProtId: string) => Promise<NafKeyEntry>;
  /** The device's configuration, given its B-TID and IMPI and the Ua key's expiry. */
  deviceConfig: (btid: string, impi: string, expiresAtMs: number) => DeviceConfig;
  /** Called after a successful provisioning (push to LwM2M servers that cannot pull). */
  onProvisioned?: (c: DeviceConfig, btid: string) => void;
  log: Logger;
  outcomes: Counter;   // gba_naf_ua_total{outcome}
}

export type UaOutcome = 'ok' | 'challenge' | 'stale_nonce' | 'wrong_response' | 'btid_unknown' | 'malformed' | 'bsf_unavailable';
export const UA_OUTCOMES: readonly UaOutcome[] = ['ok', 'challenge', 'stale_nonce', 'wrong_response', 'btid_unknown', 'malformed', 'bsf_unavailable'];

const problem = (e: HttpError, headers: Record<string, string> = {}): HttpResponse => problemResponse(e, headers);

export class UaHandler {
  readonly realm: string;
  readonly #opaque: string;
  readonly #digest: DigestServer;

  constructor(readonly d: UaDeps) {
    this.realm = `3GPP-bootstrapping@${d.fqdn}`;
    // Stable across NAF instances, so any instance accepts what another challenged with.
    this.#opaque = createHash('sha256').update(this.realm).digest('base64url').slice(0, 22);
    this.#digest = new DigestServer({ realm: this.realm, maxUsernameLength: 512 });
  }

  async handle(req: HttpRequest): Promise<HttpResponse> {
    const { d } = this;
    let entry: NafKeyEntry | undefined;
    let verdict;
    try {
      verdict = await this.#digest.verify({ method: req.method, uri: req.url, authorization: req.headers.authorization, body: req.body }, {
        consumeNonce: async (nonce) => ((await d.nonces.consume(nonce)) ? true : undefined),
        password: async (_s, c) => {
          // password = base64(Ks_NAF) as ASCII (TS 24.109 §5.2.3.2), NAF_Id = FQDN ‖ Ua id (TS 33.220 Annex H).
          entry = await d.key(c.username, d.fqdn, d.uaSecProtId ?? UA_HTTP_DIGEST);
          return Buffer.from(entry.keyHex, 'hex').toString('base64');
        },
      });
    } catch (err) {
      if (err instanceof BtidUnknown) return this.#challenge('btid_unknown', 'unknown or expired B-TID: bootstrap again');
      if (err instanceof PeerUnavailable || err instanceof NafNotAuthorized) {
        d.log.warn({ err }, 'Zn failed');
        return this.#done('bsf_unavailable', problem(problems.unavailable('the BSF did not answer; retry later')));
      }
      throw err;
    }
    switch (verdict.kind) {
      case 'none': return this.#challenge('challenge', 'GBA authentication required (TS 24.109 §5.2)');
      case 'malformed': return this.#done('malformed', problem(problems.badRequest(verdict.detail)));
      case 'wrong_realm': return this.#challenge('stale_nonce', verdict.detail);
      case 'stale_nonce': return this.#challenge('stale_nonce', 'nonce unknown, used or expired');
      case 'wrong_response':
      case 'empty_password':
        return this.#challenge('wrong_response', 'wrong digest response');
      case 'ok': break;
    }
    const btid = verdict.username;
    const config = d.deviceConfig(btid, entry!.impi, entry!.expiresAtMs);
    const body = JSON.stringify(config);
    const info = this.#digest.authenticationInfo(verdict.credentials, verdict.ha1, body);
    d.log.info({ event: 'ua', btid, endpoint: config.endpoint, outcome: 'ok' }, 'device provisioned');
    d.onProvisioned?.(config, btid);
    return this.#done('ok', { status: 200, headers: { 'Content-Type': 'application/json', 'Authentication-Info': info, 'Cache-Control': 'no-store' }, body });
  }

  async #challenge(outcome: UaOutcome, detail: string): Promise<HttpResponse> {
    const nonce = randomBytes(24).toString('base64');
    await this.d.nonces.create(nonce, this.d.nonceTtlMs);
    const challenge = formatDigest([['realm', this.realm, true], ['nonce', nonce, true], ['qop', 'auth-int', true], ['algorithm', 'MD5', false], ['opaque', this.#opaque, true]]);
    return this.#done(outcome, problem(problems.unauthorized(detail, challenge), { 'Cache-Control': 'no-store' }));
  }

  #done(outcome: UaOutcome, res: HttpResponse): HttpResponse {
    this.d.outcomes.inc({ outcome });
    if (outcome !== 'ok' && outcome !== 'challenge') this.d.log.info({ event: 'ua', outcome, status: res.status }, 'Ua request refused');
    return res;
  }
}
