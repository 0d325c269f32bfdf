/**
 * The PSK API for LwM2M servers (contract C3), behind the PSK API bearer token:
 *
 *   POST {pskLookup} {"pskIdentity": "<as sent in the handshake>", "uaSecProtId"?: hex10}
 *   → 200 {"psk": hex64, "endpoint", "btid", "impi", "expiresAt", "uaSecProtId"}
 *
 * Needs no earlier Ua call: for any live B-TID the key comes over Zn for NAF_Id = LwM2M FQDN ‖ Ua id (the
 * configured one unless the request names another). 404 when the BSF does not know the B-TID, 400 malformed.
 * The shapes are the contract module shared/wire/sbi/psk-api.ts, which LwM2M servers' client (lwm2m/psk-source.ts)
 * reads too.
 */
import { btidOfPskIdentity } from '../shared/identifiers.js';
import { InputError } from '../shared/errors.js';
import { jsonBody, type HttpRequest, type HttpResponse } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import type { Counter } from '../shared/metrics.js';
import type { Logger } from '../shared/log.js';
import type { NafKeyEntry } from '../shared/store/types.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from '../shared/services/errors.js';
import { invalidParams } from '../shared/wire/sbi/common.js';
import { PskLookupRequestSchema, type PskLookupAnswer } from '../shared/wire/sbi/psk-api.js';

export interface PskApiDeps {
  lwm2mFqdn: string;
  defaultUaSecProtId: string;
  key: (btid: string, fqdn: string, uaSecProtId: string) => Promise<NafKeyEntry>;
  endpointOf: (impi: string) => string;
  log: Logger;
  lookups: Counter; // gba_naf_psk_lookups_total{result}
}

export async function pskLookup(d: PskApiDeps, req: HttpRequest): Promise<HttpResponse> {
  const parsed = PskLookupRequestSchema.safeParse(jsonBody(req));
  if (!parsed.success) {
    d.lookups.inc({ result: 'bad_request' });
    throw problems.badRequest('invalid PSK lookup', invalidParams(parsed.error));
  }
  let btid: string;
  try {
    btid = btidOfPskIdentity(parsed.data.pskIdentity);
  } catch (err) {
    d.lookups.inc({ result: 'bad_request' });
    throw problems.badRequest(
      `pskIdentity: ${(err as InputError).message}; expected "3GPP-bootstrapping.<B-TID>" or a bare B-TID`,
      [{ param: 'pskIdentity', reason: 'not a GBA PSK identity' }],
    );
  }
  const uaSecProtId = (parsed.data.uaSecProtId ?? d.defaultUaSecProtId).toLowerCase();
  let e: NafKeyEntry;
  try {
    e = await d.key(btid, d.lwm2mFqdn, uaSecProtId);
  } catch (err) {
    if (err instanceof BtidUnknown) {
      d.lookups.inc({ result: 'not_found' });
      throw problems.notFound('unknown or expired B-TID', 'BTID_NOT_FOUND');
    }
    if (err instanceof NafNotAuthorized) {
      d.lookups.inc({ result: 'forbidden' });
      throw problems.forbidden(
        `the BSF does not allow this NAF keys for ${d.lwm2mFqdn} ‖ ${uaSecProtId}`,
        'NAF_NOT_AUTHORIZED',
      );
    }
    if (err instanceof PeerUnavailable) {
      d.lookups.inc({ result: 'bsf_unavailable' });
      d.log.warn({ err }, 'Zn failed');
      throw problems.unavailable('the BSF did not answer; retry later');
    }
    throw err;
  }
  d.lookups.inc({ result: 'ok' });
  const json: PskLookupAnswer = {
    psk: e.keyHex,
    endpoint: d.endpointOf(e.impi),
    btid,
    impi: e.impi,
    expiresAt: new Date(e.expiresAtMs).toISOString(),
    uaSecProtId,
  };
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, json };
}
