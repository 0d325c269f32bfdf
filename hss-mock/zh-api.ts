/**
 * Zh over HTTP in the TS 29.562 shapes (N65), for the BSF:
 *   POST /nhss-gba-ueau/v1/{ueId}/security-information/generate-auth-data  → {impi, 3gAkaAv}
 *   GET  /nhss-gba-sdm/v1/{ueId}/subscriber-data                          → {guss?}
 * ueId: an IMPI, or imsi-<IMSI>. Unknown user → 404 ProblemDetails (cause USER_NOT_FOUND).
 */
import { z } from 'zod';
import { impiFromImsi } from '../shared/identifiers.js';
import { jsonBody, type Router, type RouteOptions } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import type { Counter } from '../shared/metrics.js';
import type { Auc } from './auc.js';
import { issuesOf } from './subscriber-input.js';
import type { SubscriberStore } from '../shared/store/types.js';

const AuthRequestSchema = z.object({
  authenticationScheme: z.enum(['DIGEST_AKAV1_MD5', 'DIGEST_HTTP']).optional(),
  resynchronizationInfo: z.object({
    rand: z.string().regex(/^[A-Fa-f0-9]{32}$/, 'must be 16 octets as 32 hex digits'),
    auts: z.string().regex(/^[A-Fa-f0-9]{28}$/, 'must be 14 octets as 28 hex digits'),
  }).optional(),
  supportedFeatures: z.string().optional(),
});

export interface ZhDeps {
  auc: Auc;
  subscribers: SubscriberStore;
  mncDigits: 2 | 3;
  vectors: Counter;
}

export function zhRoutes(router: Router, deps: ZhDeps, auth: RouteOptions): void {
  router.post('/nhss-gba-ueau/v1/:ueId/security-information/generate-auth-data', async (req) => {
    const body = req.body.length ? jsonBody(req) : {};
    const p = AuthRequestSchema.safeParse(body);
    if (!p.success) throw problems.badRequest('invalid AuthenticationInfoRequest', issuesOf(p.error));
    if (p.data.authenticationScheme === 'DIGEST_HTTP') throw problems.forbidden('only DIGEST_AKAV1_MD5 is provisioned', 'AUTH_SCHEME_NOT_SUPPORTED');
    const rs = p.data.resynchronizationInfo;
    const { subscriber, av } = await deps.auc.generate(req.params.ueId!, rs && { rand: Buffer.from(rs.rand, 'hex'), auts: Buffer.from(rs.auts, 'hex') });
    deps.vectors.inc({ kind: rs ? 'resync' : 'normal' });
    return {
      status: 200,
      json: {
        impi: subscriber.impi ?? impiFromImsi(subscriber.imsi, deps.mncDigits),
        '3gAkaAv': { rand: av.rand.toString('hex'), xres: av.xres.toString('hex'), autn: av.autn.toString('hex'), ck: av.ck.toString('hex'), ik: av.ik.toString('hex') },
      },
    };
  }, auth);

  router.get('/nhss-gba-sdm/v1/:ueId/subscriber-data', async (req) => {
    const imsi = await deps.auc.resolveUeId(req.params.ueId!);
    const s = imsi && (await deps.subscribers.get(imsi));
    if (!s) throw problems.notFound(`no subscriber for ${req.params.ueId}`, 'USER_NOT_FOUND');
    return { status: 200, json: s.guss ? { guss: s.guss } : {} };
  }, auth);
}
