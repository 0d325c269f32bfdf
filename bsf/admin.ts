/**
 * The BSF admin API (contract C9), on the Zn listener under /admin/v1, Bearer `admin.token` (C5):
 *
 *   GET    /admin/v1/sessions?impi=&limit=   live bootstrapping sessions (of one IMPI, or all), latest expiry first
 *   DELETE /admin/v1/sessions/{btid}         revoke (B-TID percent-encoded): Zn answers 404 for it from then on,
 *                                            and the NAF's and LwM2M server's key caches drop it (shared/store/ops.ts)
 *   GET    /admin/v1/events?impi=&limit=     the device timeline: recent Ub outcomes, newest first
 *   POST   /admin/v1/nafs                    add a NAF for a third-party application: {name?, fqdns: [{fqdn, uaSecProtId?}]
 *                                            | fqdn, group?} → 201 {name, token, fqdns}; its Zn token works at once
 *   GET    /admin/v1/nafs                    the NAFs Zn serves (configured and added), without tokens
 *   DELETE /admin/v1/nafs/{name}             remove an added NAF (its token stops working)
 *
 * Other admin resources join through `AdminRouteRegistration`s (e.g. /admin/v1/scenarios), so they share the
 * prefix and the authorisation. Handlers are plain functions of the request; Express-free and socket-free in tests.
 */
import { secretEqualString } from '../shared/bytes.js';
import { HttpError, problems } from '../shared/http/problem.js';
import {
  bearerAuthorizer,
  type Handler,
  type HttpRequest,
  type HttpResponse,
  type Router,
} from '../shared/http/server.js';
import type { Logger } from '../shared/log.js';
import type { OpsStore, UbEvent } from '../shared/store/ops.js';
import { z } from 'zod';
import { newToken } from '../shared/nf/runtime.js';
import { jsonBody } from '../shared/http/server.js';
import type { NafDirectory } from './naf-directory.js';

export const ADMIN_PREFIX = '/admin/v1';

/** Admin routes under ADMIN_PREFIX; every one requires the admin token before its body is read. */
export interface AdminRoutes {
  get(path: string, h: Handler): void;
  put(path: string, h: Handler, maxBodyBytes?: number): void;
  post(path: string, h: Handler, maxBodyBytes?: number): void;
  delete(path: string, h: Handler): void;
}

export type AdminRouteRegistration = (routes: AdminRoutes) => void;

export interface AdminDeps {
  token: string;
  ops: OpsStore;
  log: Logger;
  /** Zn's NAFs; with it, the /nafs resources are served. */
  nafs?: NafDirectory;
}

const FQDN =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NafId = z.strictObject({
  fqdn: z
    .string()
    .regex(FQDN, 'must be a DNS name')
    .transform((f) => f.toLowerCase()),
  uaSecProtId: z
    .string()
    .regex(/^[0-9a-fA-F]{10}$/, 'must be 5 octets as 10 hex digits')
    .transform((u) => u.toLowerCase())
    .optional(),
});
export const AddNafSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
        'must be 1..64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)',
      )
      .optional(),
    fqdn: z
      .string()
      .regex(FQDN, 'must be a DNS name')
      .transform((f) => f.toLowerCase())
      .optional(),
    fqdns: z.array(NafId).min(1).max(64).optional(),
    group: z.string().min(1).max(64).optional(),
  })
  .refine((b) => (b.fqdn === undefined) !== (b.fqdns === undefined), {
    message: 'give exactly one of fqdn and fqdns',
    path: ['fqdns'],
  });

const MAX_LIMIT = 1000;

function limitOf(req: HttpRequest, dflt: number): number {
  const raw = req.query.get('limit');
  if (raw === null) return dflt;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT)
    throw problems.badRequest(`limit must be 1..${MAX_LIMIT}`, [{ param: 'limit', reason: `1..${MAX_LIMIT}` }]);
  return Number(raw);
}

function impiOf(req: HttpRequest): string | undefined {
  const impi = req.query.get('impi');
  if (impi === null) return undefined;
  if (!impi || impi.length > 255)
    throw problems.badRequest('impi must be 1..255 characters', [{ param: 'impi', reason: '1..255 characters' }]);
  return impi;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const eventView = (e: UbEvent) => ({
  at: iso(e.atMs),
  impi: e.impi,
  outcome: e.outcome,
  reason: e.reason,
  ...(e.btid ? { btid: e.btid } : {}),
});

export function adminHandlers(d: AdminDeps) {
  return {
    async sessions(req: HttpRequest): Promise<HttpResponse> {
      const items = await d.ops.sessions(impiOf(req), limitOf(req, 100));
      return {
        status: 200,
        headers: { 'Cache-Control': 'no-store' },
        json: {
          items: items.map((s) => ({
            btid: s.btid,
            impi: s.impi,
            createdAt: iso(s.createdAtMs),
            expiresAt: iso(s.expiresAtMs),
          })),
        },
      };
    },
    async revoke(req: HttpRequest): Promise<HttpResponse> {
      const btid = req.params.btid ?? '';
      if (!btid || btid.length > 512)
        throw problems.badRequest('B-TID must be 1..512 characters, percent-encoded in the path');
      if (!(await d.ops.revoke(btid))) throw problems.notFound(`no live session for B-TID ${btid}`, 'USER_NOT_FOUND');
      d.log.info({ event: 'admin.revoke', btid }, 'session revoked');
      return { status: 204 };
    },
    async addNaf(req: HttpRequest): Promise<HttpResponse> {
      const dir = d.nafs!;
      const p = AddNafSchema.safeParse(jsonBody(req));
      if (!p.success)
        throw problems.badRequest(
          'invalid NAF',
          p.error.issues.map((i) => ({ param: i.path.join('.') || '(body)', reason: i.message })),
        );
      const fqdns = p.data.fqdns ?? [{ fqdn: p.data.fqdn! }];
      const name = p.data.name ?? `app-${fqdns[0]!.fqdn}`.slice(0, 64);
      // A Zn token: 43 characters of the RFC 6750 alphabet (32 random octets, base64url).
      const rec = {
        name,
        token: newToken(),
        fqdns,
        ...(p.data.group ? { group: p.data.group } : {}),
        createdMs: Date.now(),
      };
      if (!(await dir.add(rec))) throw new HttpError(409, 'Conflict', `a NAF named ${name} exists already`);
      d.log.info({ event: 'admin.naf-added', naf: name, fqdns: fqdns.map((f) => f.fqdn) }, 'NAF added');
      return {
        status: 201,
        headers: { 'Cache-Control': 'no-store' },
        json: { name, token: rec.token, fqdns, ...(rec.group ? { group: rec.group } : {}) },
      };
    },
    async listNafs(): Promise<HttpResponse> {
      const dir = d.nafs!;
      const view = (source: string) => (n: { name: string; group?: string; fqdns: unknown }) => ({
        name: n.name,
        fqdns: n.fqdns,
        ...(n.group ? { group: n.group } : {}),
        source,
      });
      return {
        status: 200,
        headers: { 'Cache-Control': 'no-store' },
        json: { items: [...dir.configured.map(view('config')), ...dir.added.map(view('admin'))] },
      };
    },
    async removeNaf(req: HttpRequest): Promise<HttpResponse> {
      const dir = d.nafs!;
      const name = req.params.name ?? '';
      if (dir.configured.some((n) => n.name === name))
        throw problems.forbidden(`NAF ${name} is configured (bsf.nafs), not added; change the configuration`);
      if (!(await dir.remove(name))) throw problems.notFound(`no added NAF named ${name}`);
      d.log.info({ event: 'admin.naf-removed', naf: name }, 'NAF removed');
      return { status: 204 };
    },
    async events(req: HttpRequest): Promise<HttpResponse> {
      const items = await d.ops.events(impiOf(req), limitOf(req, 20));
      return { status: 200, headers: { 'Cache-Control': 'no-store' }, json: { items: items.map(eventView) } };
    },
  };
}

/** Mounts the admin API on `router`, plus any further registrations (same prefix, same token). */
export function mountAdminApi(router: Router, d: AdminDeps, extra: readonly AdminRouteRegistration[] = []): void {
  const authorize = bearerAuthorizer((t) => secretEqualString(t, d.token));
  const at = (p: string) => `${ADMIN_PREFIX}${p.startsWith('/') ? p : `/${p}`}`;
  const routes: AdminRoutes = {
    get: (p, h) => {
      router.get(at(p), h, { authorize });
    },
    put: (p, h, maxBodyBytes = 16 * 1024) => {
      router.put(at(p), h, { authorize, maxBodyBytes });
    },
    post: (p, h, maxBodyBytes = 16 * 1024) => {
      router.post(at(p), h, { authorize, maxBodyBytes });
    },
    delete: (p, h) => {
      router.delete(at(p), h, { authorize });
    },
  };
  const h = adminHandlers(d);
  routes.get('/sessions', h.sessions);
  routes.delete('/sessions/:btid', h.revoke);
  routes.get('/events', h.events);
  if (d.nafs) {
    routes.post('/nafs', h.addNaf, 4096);
    routes.get('/nafs', h.listNafs);
    routes.delete('/nafs/:name', h.removeNaf);
  }
  for (const register of extra) register(routes);
}
