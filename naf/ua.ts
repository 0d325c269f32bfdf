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
import type { HttpRequest, HttpResponse } from '../shared/http/server.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { NafKeyEntry, NonceStore } from '../shared/store/types.js';
import { UA_HTTP_DIGEST } from '../shared/ua-ids.js';
import type { DeviceConfig } from '../shared/wire/sbi/ua.js';
import { GbaAuthenticator, UA_OUTCOMES as GBA_OUTCOMES, type GbaRefusal, type UaOutcome } from './gba-auth.js';

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
  outcomes: Counter; // gba_naf_ua_total{outcome}
}

export type { UaOutcome };
export const UA_OUTCOMES: readonly UaOutcome[] = GBA_OUTCOMES.filter((o) => o !== 'forbidden');

/**
 * The Digest itself is gba-auth.ts's GbaAuthenticator, the code `gbaAuth()` runs for any application: one
 * Digest flow. Here only what the device endpoint adds: qop auth-int only (C3), the configuration, metrics.
 */
export class UaHandler {
  readonly realm: string;
  readonly #auth: GbaAuthenticator;

  constructor(readonly d: UaDeps) {
    this.#auth = new GbaAuthenticator({
      fqdn: d.fqdn,
      key: d.key,
      nonces: d.nonces,
      nonceTtlMs: d.nonceTtlMs,
      qop: ['auth-int'],
      onZnError: (err) => d.log.warn({ err }, 'Zn failed'),
    });
    this.realm = this.#auth.realm;
  }

  async handle(req: HttpRequest): Promise<HttpResponse> {
    const { d } = this;
    const v = await this.#auth.authenticate(
      { method: req.method, uri: req.url, authorization: req.headers.authorization, body: req.body },
      d.uaSecProtId ?? UA_HTTP_DIGEST,
    );
    if (v.kind === 'refused') return this.#done(v.outcome, refusalResponse(v));
    const { btid } = v.identity;
    const config = d.deviceConfig(btid, v.entry.impi, v.entry.expiresAtMs);
    const body = JSON.stringify(config);
    d.log.info({ event: 'ua', btid, endpoint: config.endpoint, outcome: 'ok' }, 'device provisioned');
    d.onProvisioned?.(config, btid);
    return this.#done('ok', {
      status: 200,
      headers: {
        'Content-Type': 'application/json',
        'Authentication-Info': v.authenticationInfo(body),
        'Cache-Control': 'no-store',
      },
      body,
    });
  }

  #done(outcome: UaOutcome, res: HttpResponse): HttpResponse {
    this.d.outcomes.inc({ outcome });
    if (outcome !== 'ok' && outcome !== 'challenge')
      this.d.log.info({ event: 'ua', outcome, status: res.status }, 'Ua request refused');
    return res;
  }
}

export const refusalResponse = (v: GbaRefusal): HttpResponse => ({
  status: v.status,
  headers: v.headers,
  body: JSON.stringify(v.problem),
});
