/**
 * Zn at the BSF (TS 33.220 §4.5.3): one decision, ZnCore (the ZnProvider of shared/services/zn.ts), and its
 * HTTP binding, the N66 Nbsp_GBA bootstrapping-info-retrieval handler (TS 29.309; the shapes are the contract
 * module shared/wire/sbi/zn.ts, which the NAF's client reads too). The Diameter BIR/BIA binding (TS 29.109 §5)
 * calls the same core.
 *
 *   POST /nbsp-gba/v1/bootstrapping-info-retrieval  {btId, nafId: {nafFqdn, uaSecProtId}, gbaUAware?, gsIds?}
 *   → 200 {meKeyMaterial, uiccKeyMaterial?, keyExpiryTime, bootstrappingInfoCreationTime, ussList?, gbaType, impi}
 *
 * Each NAF may ask keys only for its configured NAF_Ids (NafNotAuthorized: N66 403, like
 * DIAMETER_ERROR_NOT_AUTHORIZED 5402); an unknown or expired B-TID is BtidUnknown (N66 404, like 5403).
 */
import { ksIntNaf, ksNaf } from '../shared/crypto/kdf.js';
import { normalizeFqdn, normalizeUaSecProtId, parseBtid } from '../shared/identifiers.js';
import { secretEqualString } from '../shared/bytes.js';
import { jsonBody, type HttpRequest, type HttpResponse } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { Guss, SessionStore } from '../shared/store/types.js';
import { BtidUnknown, NafNotAuthorized } from '../shared/services/errors.js';
import type { ZhService } from '../shared/services/zh.js';
import type { BootstrappingInfo, NafId, NafIdentity, ZnProvider } from '../shared/services/zn.js';
import { invalidParams } from '../shared/wire/sbi/common.js';
import { BootstrappingInfoRequestSchema, type BootstrappingInfoBody } from '../shared/wire/sbi/zn.js';

/** A NAF as config `bsf.nafs` lists it: its identity plus the bearer token it uses on N66. */
export interface NafAccess extends NafIdentity {
  token: string;
}

export interface ZnCoreDeps {
  sessions: SessionStore;
  zh: ZhService;
  log: Logger;
  requests: Counter; // gba_zn_requests_total{result}
  now: () => number;
}

/** The one Zn decision: authorisation against the NAF's NAF_Ids, session lookup, key derivation, USS selection. */
export class ZnCore implements ZnProvider {
  constructor(readonly d: ZnCoreDeps) {}

  async retrieve(
    naf: NafIdentity,
    btid: string,
    nafId: NafId,
    gbaUAware: boolean,
    gsIds?: number[],
  ): Promise<BootstrappingInfo> {
    const { d } = this;
    // One form of NAF_Id for the allow-list and the KDF, whichever binding (N66, Diameter BIR) carried it.
    const fqdn = normalizeFqdn(nafId.fqdn);
    const uaId = normalizeUaSecProtId(nafId.uaSecProtId);
    const allowed = naf.fqdns.some(
      (f) =>
        normalizeFqdn(f.fqdn) === fqdn && (f.uaSecProtId === undefined || normalizeUaSecProtId(f.uaSecProtId) === uaId),
    );
    if (!allowed) {
      d.requests.inc({ result: 'forbidden' });
      d.log.warn(
        { event: 'zn', naf: naf.name, nafFqdn: fqdn, uaSecProtId: uaId, outcome: 'forbidden' },
        'NAF asked for a NAF_Id it is not configured for',
      );
      throw new NafNotAuthorized(`NAF ${naf.name} may not request keys for ${fqdn} ‖ ${uaId}`);
    }
    let rand: Buffer;
    try {
      rand = parseBtid(btid).rand;
    } catch {
      d.requests.inc({ result: 'not_found' });
      throw new BtidUnknown('unknown or expired B-TID');
    }
    const s = await d.sessions.get(btid);
    if (!s || s.expiresAtMs <= d.now()) {
      d.requests.inc({ result: 'not_found' });
      throw new BtidUnknown('unknown or expired B-TID; the UE must bootstrap again');
    }
    // NAF_Id in its normal form (shared/identifiers.ts normalizeFqdn), as the UE derives it (TS 33.220 Annex B.3).
    const input = { ks: s.ks, rand, impi: s.impi, nafFqdn: fqdn, uaSecProtId: Buffer.from(uaId, 'hex') };
    const info: BootstrappingInfo = {
      btid,
      impi: s.impi,
      meKey: ksNaf(input), // Ks_NAF (GBA_ME) or Ks_ext_NAF (GBA_U): the same derivation
      expiresAtMs: s.expiresAtMs,
      createdAtMs: s.createdAtMs,
      gbaType: '3G_GBA',
    };
    if (s.gbaU && gbaUAware) info.uiccKey = ksIntNaf(input);
    const ussList = selectUss(await d.zh.guss(s.impi).catch(() => undefined), naf.group, gsIds);
    if (ussList.length) info.ussList = ussList;
    d.requests.inc({ result: 'ok' });
    d.log.info(
      { event: 'zn', naf: naf.name, btid, nafFqdn: fqdn, uaSecProtId: uaId, outcome: 'ok' },
      'key material delivered',
    );
    return info;
  }
}

/** USSs for the NAF's group (a USS without a group applies to every NAF), narrowed to the requested GSIDs. */
function selectUss(
  guss: Guss | undefined,
  group: string | undefined,
  gsIds: number[] | undefined,
): NonNullable<Guss['ussList']> {
  return (guss?.ussList ?? []).filter(
    ({ uss }) => (uss.nafGroup === undefined || uss.nafGroup === group) && (!gsIds || gsIds.includes(uss.gsId)),
  );
}

/** The N66 JSON form of a BootstrappingInfo (member order as TS 29.309 lists it). */
function toBootstrappingInfoBody(i: BootstrappingInfo): BootstrappingInfoBody {
  const body: BootstrappingInfoBody = {
    meKeyMaterial: i.meKey.toString('hex'),
    keyExpiryTime: new Date(i.expiresAtMs).toISOString(),
    bootstrappingInfoCreationTime: new Date(i.createdAtMs).toISOString(),
    gbaType: i.gbaType,
    impi: i.impi,
  };
  if (i.uiccKey) body.uiccKeyMaterial = i.uiccKey.toString('hex');
  if (i.ussList) body.ussList = i.ussList;
  return body;
}

export interface ZnHandlerDeps {
  nafs: readonly NafAccess[];
  provider: ZnProvider;
  requests: Counter; // gba_zn_requests_total{result}: bad_request counted here, the rest by the provider
}

/** N66 binding: parse, authorise by bearer token, call the provider, map its domain errors to problems. */
export class ZnHandler {
  constructor(readonly d: ZnHandlerDeps) {}

  /** The NAF a bearer token belongs to (constant-time per token), for the authorizer. */
  nafOf(token: string): NafAccess | undefined {
    return this.d.nafs.find((n) => secretEqualString(n.token, token));
  }

  async handle(req: HttpRequest, naf: NafAccess): Promise<HttpResponse> {
    const parsed = BootstrappingInfoRequestSchema.safeParse(jsonBody(req));
    if (!parsed.success) {
      this.d.requests.inc({ result: 'bad_request' });
      throw problems.badRequest('invalid BootstrappingInfoRequest', invalidParams(parsed.error));
    }
    const { btId, nafId, gbaUAware, gsIds } = parsed.data;
    try {
      const info = await this.d.provider.retrieve(
        naf,
        btId,
        { fqdn: nafId.nafFqdn, uaSecProtId: nafId.uaSecProtId },
        gbaUAware,
        gsIds,
      );
      return { status: 200, json: toBootstrappingInfoBody(info), headers: { 'Cache-Control': 'no-store' } };
    } catch (err) {
      if (err instanceof NafNotAuthorized) throw problems.forbidden(err.message, 'NAF_NOT_AUTHORIZED');
      if (err instanceof BtidUnknown) throw problems.notFound(err.message, 'BTID_NOT_FOUND');
      throw err;
    }
  }
}
