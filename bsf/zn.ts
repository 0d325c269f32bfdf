/**
 * Zn over HTTP: Nbsp_GBA bootstrapping-info-retrieval, TS 29.309 (the SBA form of TS 29.109 BIR/BIA).
 *
 *   POST /nbsp-gba/v1/bootstrapping-info-retrieval  {btId, nafId: {nafFqdn, uaSecProtId}, gbaUAware?, gsIds?}
 *   → 200 {meKeyMaterial, uiccKeyMaterial?, keyExpiryTime, bootstrappingInfoCreationTime, ussList?, gbaType, impi}
 *
 * Each NAF has its own token and may ask keys only for its configured NAF_Ids (403 otherwise, like
 * DIAMETER_ERROR_NOT_AUTHORIZED 5402); an unknown or expired B-TID is 404 (like 5403).
 */
import { z } from 'zod';
import { ksIntNaf, ksNaf } from '../shared/crypto/kdf.js';
import { parseBtid } from '../shared/identifiers.js';
import { secretEqualString } from '../shared/bytes.js';
import { jsonBody, type HttpRequest, type HttpResponse } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { Guss, SessionStore } from '../shared/store/types.js';
import type { ZhClient } from './zh-client.js';


export const BootstrappingInfoRequestSchema = z.object({
  btId: z.string().min(1).max(512),
  nafId: z.object({
    nafFqdn: z.string().min(1).max(253),
    uaSecProtId: z.string().regex(/^[A-Fa-f0-9]{10}$/, 'must be 5 octets as 10 hex digits'),
  }),
  gbaUAware: z.boolean().default(false),
  gsIds: z.array(z.number().int().min(0).max(0xffffffff)).min(1).optional(),
  suppFeat: z.string().optional(),
});

export interface NafAccess {
  name: string;
  token: string;
  group?: string;
  fqdns: Array<{ fqdn: string; uaSecProtId?: string }>;
}

export interface ZnDeps {
  nafs: readonly NafAccess[];
  sessions: SessionStore;
  zh: ZhClient;
  log: Logger;
  requests: Counter;   // gba_zn_requests_total{result}
  now: () => number;
}

export class ZnHandler {
  constructor(readonly d: ZnDeps) {}

  /** The NAF a bearer token belongs to (constant-time per token), for the authorizer. */
  nafOf(token: string): NafAccess | undefined {
    return this.d.nafs.find((n) => secretEqualString(n.token, token));
  }

  async handle(req: HttpRequest, naf: NafAccess): Promise<HttpResponse> {
    const { d } = this;
    const parsed = BootstrappingInfoRequestSchema.safeParse(jsonBody(req));
    if (!parsed.success) {
      d.requests.inc({ result: 'bad_request' });
      throw problems.badRequest('invalid BootstrappingInfoRequest', parsed.error.issues.map((i) => ({ param: i.path.join('.') || '(body)', reason: i.message })));
    }
    const { btId, nafId, gbaUAware, gsIds } = parsed.data;
    const fqdn = nafId.nafFqdn.toLowerCase();
    const uaId = nafId.uaSecProtId.toLowerCase();
    const allowed = naf.fqdns.some((f) => f.fqdn.toLowerCase() === fqdn && (f.uaSecProtId === undefined || f.uaSecProtId === uaId));
    if (!allowed) {
      d.requests.inc({ result: 'forbidden' });
      d.log.warn({ event: 'zn', naf: naf.name, nafFqdn: fqdn, uaSecProtId: uaId, outcome: 'forbidden' }, 'NAF asked for a NAF_Id it is not configured for');
      throw problems.forbidden(`NAF ${naf.name} may not request keys for ${fqdn} ‖ ${uaId}`, 'NAF_NOT_AUTHORIZED');
    }
    let rand: Buffer;
    try { rand = parseBtid(btId).rand; } catch { d.requests.inc({ result: 'not_found' }); throw problems.notFound('unknown or expired B-TID', 'BTID_NOT_FOUND'); }
    const s = await d.sessions.get(btId);
    if (!s || s.expiresMs <= d.now()) {
      d.requests.inc({ result: 'not_found' });
      throw problems.notFound('unknown or expired B-TID; the UE must bootstrap again', 'BTID_NOT_FOUND');
    }
    // The key is derived with NAF_Id exactly as the NAF sent it (TS 29.109 NAF-Id; TS 33.220 Annex B.3).
    const input = { ks: s.ks, rand, impi: s.impi, nafFqdn: nafId.nafFqdn, uaSecProtId: Buffer.from(uaId, 'hex') };
    const body: Record<string, unknown> = {
      meKeyMaterial: ksNaf(input).toString('hex'),   // Ks_NAF (GBA_ME) or Ks_ext_NAF (GBA_U): the same derivation
      keyExpiryTime: new Date(s.expiresMs).toISOString(),
      bootstrappingInfoCreationTime: new Date(s.createdMs).toISOString(),
      gbaType: '3G_GBA',
      impi: s.impi,
    };
    if (s.gbaU && gbaUAware) body.uiccKeyMaterial = ksIntNaf(input).toString('hex');
    const ussList = selectUss(await d.zh.guss(s.impi).catch(() => undefined), naf.group, gsIds);
    if (ussList.length) body.ussList = ussList;
    d.requests.inc({ result: 'ok' });
    d.log.info({ event: 'zn', naf: naf.name, btid: btId, nafFqdn: fqdn, uaSecProtId: uaId, outcome: 'ok' }, 'key material delivered');
    return { status: 200, json: body, headers: { 'Cache-Control': 'no-store' } };
  }
}

/** USSs for the NAF's group (a USS without a group applies to every NAF), narrowed to the requested GSIDs. */
export function selectUss(guss: Guss | undefined, group: string | undefined, gsIds: number[] | undefined): NonNullable<Guss['ussList']> {
  return (guss?.ussList ?? []).filter(({ uss }) =>
    (uss.nafGroup === undefined || uss.nafGroup === group) && (!gsIds || gsIds.includes(uss.gsId)));
}
