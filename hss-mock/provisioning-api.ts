/**
 * Provisioning API (contract C3), behind the admin bearer token:
 *   PUT    {base}/subscribers/{imsi}          create (201) or replace (200)
 *   GET    {base}/subscribers/{imsi}          read; secrets only with ?includeSecrets=true
 *   DELETE {base}/subscribers/{imsi}          204
 *   GET    {base}/subscribers?limit=&after=   paged list in IMSI order
 *   POST   {base}/subscribers:import          bulk, JSON array or CSV; all validated before anything is written
 */
import { checkImsi } from '../shared/identifiers.js';
import { InputError } from '../shared/errors.js';
import {
  jsonBody,
  type HttpRequest,
  type HttpResponse,
  type Router,
  type RouteOptions,
} from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import type { SubscriberStore } from '../shared/store/types.js';
import { issuesOf, SubscriberInputSchema, toRecord, toRepresentation } from './subscriber-input.js';
import { parseSubscriberCsv } from './csv.js';

export const PROVISIONING_BASE = '/provisioning/v1';
const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

export interface ProvisioningDeps {
  subscribers: SubscriberStore;
  mncDigits: 2 | 3;
  now: () => number;
}

function imsiParam(req: HttpRequest): string {
  const imsi = req.params.imsi!;
  try {
    checkImsi(imsi);
  } catch (err) {
    throw problems.badRequest((err as InputError).message, [{ param: 'imsi', reason: 'must be 6 to 15 digits' }]);
  }
  return imsi;
}

export function provisioningRoutes(router: Router, deps: ProvisioningDeps, auth: RouteOptions): void {
  const base = PROVISIONING_BASE;

  router.put(
    `${base}/subscribers/:imsi`,
    async (req): Promise<HttpResponse> => {
      const imsi = imsiParam(req);
      const parsed = SubscriberInputSchema.safeParse(jsonBody(req));
      if (!parsed.success) throw problems.badRequest('invalid subscriber', issuesOf(parsed.error));
      const created = await deps.subscribers.put(toRecord(imsi, parsed.data, deps.now()));
      const rec = (await deps.subscribers.get(imsi))!;
      return {
        status: created ? 201 : 200,
        headers: created ? { Location: `${base}/subscribers/${imsi}` } : {},
        json: toRepresentation(rec, deps.mncDigits, false),
      };
    },
    auth,
  );

  router.get(
    `${base}/subscribers/:imsi`,
    async (req) => {
      const imsi = imsiParam(req);
      const rec = await deps.subscribers.get(imsi);
      if (!rec) throw problems.notFound(`no subscriber ${imsi}`, 'USER_NOT_FOUND');
      const secrets = req.query.get('includeSecrets');
      if (secrets !== null && secrets !== 'true' && secrets !== 'false')
        throw problems.badRequest('includeSecrets must be true or false');
      return { status: 200, json: toRepresentation(rec, deps.mncDigits, secrets === 'true') };
    },
    auth,
  );

  router.delete(
    `${base}/subscribers/:imsi`,
    async (req) => {
      const imsi = imsiParam(req);
      if (!(await deps.subscribers.delete(imsi))) throw problems.notFound(`no subscriber ${imsi}`, 'USER_NOT_FOUND');
      return { status: 204 };
    },
    auth,
  );

  router.get(
    `${base}/subscribers`,
    async (req) => {
      const limitRaw = req.query.get('limit') ?? '100';
      const limit = Number(limitRaw);
      if (!/^\d+$/.test(limitRaw) || limit < 1 || limit > 1000) throw problems.badRequest('limit must be 1..1000');
      const after = req.query.get('after') ?? undefined;
      if (after !== undefined && !/^\d{1,15}$/.test(after)) throw problems.badRequest('after must be an IMSI');
      // One more than asked for tells whether a next page exists: no `next` link on the last page.
      const page = await deps.subscribers.list(after, limit + 1);
      const more = page.items.length > limit;
      const shown = page.items.slice(0, limit);
      const items = shown.map((r) => toRepresentation(r, deps.mncDigits, false));
      const last = shown[shown.length - 1]?.imsi;
      const next = more && last ? `${base}/subscribers?limit=${limit}&after=${last}` : undefined;
      return { status: 200, json: { items, total: page.total, ...(next ? { next } : {}) } };
    },
    auth,
  );

  router.post(
    `${base}/subscribers:import`,
    async (req) => {
      const ct = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      let rows: Array<{ where: string; imsi: unknown; doc: Record<string, unknown> }>;
      if (ct === 'text/csv') {
        try {
          rows = parseSubscriberCsv(req.body.toString('utf8')).map((r) => ({
            where: `line ${r.line}`,
            imsi: r.imsi,
            doc: r.doc,
          }));
        } catch (err) {
          if (err instanceof InputError) throw problems.badRequest(err.message);
          throw err;
        }
      } else {
        const body = jsonBody(req);
        if (!Array.isArray(body))
          throw problems.badRequest('a JSON array of subscribers ({"imsi", "k", …}) is required');
        rows = body.map((d, i) => ({
          where: `[${i}]`,
          imsi: (d as Record<string, unknown>)?.imsi,
          doc: { ...(d as Record<string, unknown>) },
        }));
      }
      const invalid: Array<{ param: string; reason: string }> = [];
      const records = [];
      const seen = new Set<string>();
      for (const row of rows) {
        const { imsi, ...doc } = row.doc;
        void imsi;
        if (typeof row.imsi !== 'string' || !/^\d{6,15}$/.test(row.imsi)) {
          invalid.push({ param: `${row.where}.imsi`, reason: 'must be 6 to 15 digits' });
          continue;
        }
        if (seen.has(row.imsi)) {
          invalid.push({ param: `${row.where}.imsi`, reason: `duplicate IMSI ${row.imsi}` });
          continue;
        }
        seen.add(row.imsi);
        const p = SubscriberInputSchema.safeParse(doc);
        if (!p.success) {
          invalid.push(...issuesOf(p.error, `${row.where}.`));
          continue;
        }
        records.push(toRecord(row.imsi, p.data, deps.now()));
      }
      if (invalid.length)
        throw problems.badRequest(`${invalid.length} problem(s); nothing was imported`, invalid.slice(0, 100));
      let created = 0;
      for (const r of records) if (await deps.subscribers.put(r)) created++;
      return { status: 200, json: { imported: records.length, created, replaced: records.length - created } };
    },
    { ...auth, maxBodyBytes: MAX_IMPORT_BYTES },
  );
}
