/**
 * Zh over HTTP in the TS 29.562 shapes (N65), for the BSF; the shapes are the contract module
 * shared/wire/sbi/zh.ts, which the BSF's client reads too:
 *   POST /nhss-gba-ueau/v1/{ueId}/security-information/generate-auth-data  → {impi, 3gAkaAv}
 *   GET  /nhss-gba-sdm/v1/{ueId}/subscriber-data                          → {guss?}
 * ueId: an IMPI, or imsi-<IMSI>. The AuC's domain errors map here: UserUnknown → 404 USER_NOT_FOUND,
 * HssRefused → 403 AUTHENTICATION_REJECTED.
 */
import { impiFromImsi } from '../shared/identifiers.js';
import { jsonBody, type Router, type RouteOptions } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import { HssRefused, UserUnknown } from '../shared/services/errors.js';
import type { Counter } from '../shared/metrics.js';
import {
  AuthenticationInfoRequestSchema,
  ZH_SDM_PREFIX,
  ZH_UEAU_PREFIX,
  type AuthenticationInfoResult,
  type GbaSubscriberData,
} from '../shared/wire/sbi/zh.js';
import type { Auc } from './auc.js';
import { issuesOf } from './subscriber-input.js';
import type { SubscriberStore } from '../shared/store/types.js';

export interface ZhDeps {
  auc: Auc;
  subscribers: SubscriberStore;
  mncDigits: 2 | 3;
  vectors: Counter;
}

/** The N65 form of the AuC's domain errors; anything else is left to the server's 500. */
export function zhProblem(err: unknown): unknown {
  if (err instanceof UserUnknown) return problems.notFound(err.message, 'USER_NOT_FOUND');
  if (err instanceof HssRefused)
    return problems.forbidden(`resynchronisation refused: ${err.message}`, 'AUTHENTICATION_REJECTED');
  return err;
}

export function zhRoutes(router: Router, deps: ZhDeps, auth: RouteOptions): void {
  router.post(
    `${ZH_UEAU_PREFIX}/:ueId/security-information/generate-auth-data`,
    async (req) => {
      const body = req.body.length ? jsonBody(req) : {};
      const p = AuthenticationInfoRequestSchema.safeParse(body);
      if (!p.success) throw problems.badRequest('invalid AuthenticationInfoRequest', issuesOf(p.error));
      if (p.data.authenticationScheme === 'DIGEST_HTTP')
        throw problems.forbidden('only DIGEST_AKAV1_MD5 is provisioned', 'AUTH_SCHEME_NOT_SUPPORTED');
      const rs = p.data.resynchronizationInfo;
      let generated;
      try {
        generated = await deps.auc.generate(
          req.params.ueId!,
          rs && { rand: Buffer.from(rs.rand, 'hex'), auts: Buffer.from(rs.auts, 'hex') },
        );
      } catch (err) {
        throw zhProblem(err);
      }
      const { subscriber, av } = generated;
      deps.vectors.inc({ kind: rs ? 'resync' : 'normal' });
      const json: AuthenticationInfoResult = {
        impi: subscriber.impi ?? impiFromImsi(subscriber.imsi, deps.mncDigits),
        '3gAkaAv': {
          rand: av.rand.toString('hex'),
          xres: av.xres.toString('hex'),
          autn: av.autn.toString('hex'),
          ck: av.ck.toString('hex'),
          ik: av.ik.toString('hex'),
        },
      };
      return { status: 200, json };
    },
    auth,
  );

  router.get(
    `${ZH_SDM_PREFIX}/:ueId/subscriber-data`,
    async (req) => {
      const imsi = await deps.auc.resolveUeId(req.params.ueId!);
      const s = imsi && (await deps.subscribers.get(imsi));
      if (!s) throw problems.notFound(`no subscriber for ${req.params.ueId}`, 'USER_NOT_FOUND');
      const json: GbaSubscriberData = s.guss ? { guss: s.guss } : {};
      return { status: 200, json };
    },
    auth,
  );
}
