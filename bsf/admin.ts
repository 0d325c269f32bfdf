/**
 * The BSF admin API (contract C9), on the Zn listener under /admin/v1, Bearer `admin.token` (C5):
 *
 *   GET    /admin/v1/sessions?impi=&limit=   live bootstrapping sessions (of one IMPI, or all), latest expiry first
 *   DELETE /admin/v1/sessions/{btid}         revoke (B-TID percent-encoded): Zn answers 404 for it from then on,
 *                                            and the NAF's and LwM2M server's key caches drop it (shared/store/ops.ts)
 *   GET    /admin/v1/events?impi=&limit=     the device timeline: recent Ub outcomes, newest first
 *
 * Other admin resources join through `AdminRouteRegistration`s (e.g. /admin/v1/scenarios), so they share the
 * prefix and the authorisation. Handlers are plain functions of the request; Express-free and socket-free in tests.
 */
import { secretEqualString } from '../shared/bytes.js';
import { problems } from '../shared/http/problem.js';
import { bearerAuthorizer, type Handler, type HttpRequest, type HttpResponse, type Router } from '../shared/http/server.js';
import type { Logger } from '../shared/log.js';
import type { OpsStore, UbEvent } from '../shared/store/ops.js';

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
}

const MAX_LIMIT = 1000;

function limitOf(req: HttpRequest, dflt: number): number {
  const raw = req.query.get('limit');
  if (raw === null) return dflt;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) throw problems.badRequest(`limit must be 1..${MAX_LIMIT}`, [{ param: 'limit', reason: `1..${MAX_LIMIT}` }]);
  return Number(raw);
}

function impiOf(req: HttpRequest): string | undefined {
  const impi = req.query.get('impi');
  if (impi === null) return undefined;
  if (!impi || impi.length > 255) throw problems.badRequest('impi must be 1..255 characters', [{ param: 'impi', reason: '1..255 characters' }]);
  return impi;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const eventView = (e: UbEvent) => ({ at: iso(e.atMs), impi: e.impi, outcome: e.outcome, reason: e.reason, ...(e.btid ? { btid: e.btid } : {}) });

export function adminHandlers(d: AdminDeps) {
  return {
    async sessions(req: HttpRequest): Promise<HttpResponse> {
      const items = await d.ops.sessions(impiOf(req), limitOf(req, 100));
      return { status: 200, headers: { 'Cache-Control': 'no-store' }, json: { items: items.map((s) => ({ btid: s.btid, impi: s.impi, createdAt: iso(s.createdAtMs), expiresAt: iso(s.expiresAtMs) })) } };
    },
    async revoke(req: HttpRequest): Promise<HttpResponse> {
      const btid = req.params.btid ?? '';
      if (!btid || btid.length > 512) throw problems.badRequest('B-TID must be 1..512 characters, percent-encoded in the path');
      if (!(await d.ops.revoke(btid))) throw problems.notFound(`no live session for B-TID ${btid}`, 'USER_NOT_FOUND');
      d.log.info({ event: 'admin.revoke', btid }, 'session revoked');
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
    get: (p, h) => { router.get(at(p), h, { authorize }); },
    put: (p, h, maxBodyBytes = 16 * 1024) => { router.put(at(p), h, { authorize, maxBodyBytes }); },
    post: (p, h, maxBodyBytes = 16 * 1024) => { router.post(at(p), h, { authorize, maxBodyBytes }); },
    delete: (p, h) => { router.delete(at(p), h, { authorize }); },
  };
  const h = adminHandlers(d);
  routes.get('/sessions', h.sessions);
  routes.delete('/sessions/:btid', h.revoke);
  routes.get('/events', h.events);
  for (const register of extra) register(routes);
}
