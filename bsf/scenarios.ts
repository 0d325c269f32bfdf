/**
 * BSF fault scenarios for testing devices (contract C8): the admin resource and the small hooks the Ub
 * handler calls. A scenario makes the BSF misbehave for one IMPI's next `count` bootstraps (initial
 * requests; the follow-up challenges after a resynchronisation or a wrong response are not faulted):
 *
 *   bad_mac          the challenge's AUTN has a wrong MAC-A: the device must report a MAC failure
 *                    (empty password, RFC 3310 §3.3), which gets 403; its next bootstrap succeeds
 *   stale_sqn        an authentic challenge whose SQN the USIM has already seen (the device's last vector,
 *                    replayed): the device must resynchronise with AUTS (TS 33.102 §6.3.3, TS 24.109 §4.4.6)
 *   bad_rspauth      200 with an rspauth that does not verify: the device must reject the B-TID (RFC 2617 §3.2.3)
 *   hss_unavailable  503 + Retry-After, as when the HSS does not answer
 *   delay            the bootstrap takes at least delayMs, and succeeds
 *
 * Scenarios live in the store (every BSF process applies them; a restarted one too). A faulted challenge
 * carries its fault in `opaque`, which the challenge record keeps, so the answer is judged without another
 * store read. What the device did is written to its event timeline (C9), naming the scenario.
 *
 *   PUT    {admin}/scenarios/{impi}  {"fault", "count"?, "delayMs"?}  → 201 created | 200 replaced; 400 unknown fault
 *   GET    {admin}/scenarios         → {"items": [{"impi", "fault", "count", "delayMs"?}]}
 *   GET    {admin}/scenarios/{impi}  → the scenario, or 404
 *   DELETE {admin}/scenarios/{impi}  → 204
 */
import { z } from 'zod';
import { randomOctets } from '../shared/crypto/random-pool.js';
import { jsonBody, type HttpRequest, type HttpResponse } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import { FAULTS, type Fault, type FaultScenario, type ScenarioStore } from '../shared/store/scenarios.js';
import type { AdminRouteRegistration } from './admin.js';

export type { Fault, FaultScenario };

const MAX_COUNT = 1000;
const MAX_DELAY_MS = 120_000;

const ScenarioInput = z.strictObject({
  fault: z.string(),
  count: z.number().int().min(1).max(MAX_COUNT).optional(),
  delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
});

/** Validates a PUT body; every problem at once. */
export function parseScenario(impi: string, body: unknown): FaultScenario {
  if (!impi || impi.length > 255)
    throw problems.badRequest('impi must be 1..255 characters (a raw "@" is fine, or percent-encoded)');
  const p = ScenarioInput.safeParse(body);
  if (!p.success)
    throw problems.badRequest(
      'invalid scenario',
      p.error.issues.map((i) => ({ param: i.path.join('.') || '(body)', reason: i.message })),
    );
  const { fault, count, delayMs } = p.data;
  if (!(FAULTS as readonly string[]).includes(fault))
    throw problems.badRequest(`unknown fault ${JSON.stringify(fault)}; known: ${FAULTS.join(', ')}`, [
      { param: 'fault', reason: `one of ${FAULTS.join(', ')}` },
    ]);
  if (fault === 'delay' && delayMs === undefined)
    throw problems.badRequest('fault delay needs delayMs', [{ param: 'delayMs', reason: 'required for delay' }]);
  if (fault !== 'delay' && delayMs !== undefined)
    throw problems.badRequest('delayMs applies to the delay fault only', [
      { param: 'delayMs', reason: 'only with fault delay' },
    ]);
  return { impi, fault: fault as Fault, count: count ?? 1, ...(delayMs !== undefined ? { delayMs } : {}) };
}

const view = (s: FaultScenario) => ({
  impi: s.impi,
  fault: s.fault,
  count: s.count,
  ...(s.delayMs !== undefined ? { delayMs: s.delayMs } : {}),
});

export function scenarioHandlers(store: ScenarioStore, log: Logger) {
  return {
    async put(req: HttpRequest): Promise<HttpResponse> {
      const s = parseScenario(req.params.impi ?? '', jsonBody(req));
      const r = await store.put(s);
      if (r === 'full') throw problems.badRequest('too many scenarios at once; delete some first');
      log.info({ event: 'admin.scenario', impi: s.impi, fault: s.fault, count: s.count }, 'fault scenario set');
      return { status: r === 'created' ? 201 : 200, headers: { 'Cache-Control': 'no-store' }, json: view(s) };
    },
    async list(): Promise<HttpResponse> {
      return { status: 200, headers: { 'Cache-Control': 'no-store' }, json: { items: (await store.list()).map(view) } };
    },
    async get(req: HttpRequest): Promise<HttpResponse> {
      const s = await store.get(req.params.impi ?? '');
      if (!s) throw problems.notFound(`no scenario for ${req.params.impi}`);
      return { status: 200, headers: { 'Cache-Control': 'no-store' }, json: view(s) };
    },
    async remove(req: HttpRequest): Promise<HttpResponse> {
      await store.delete(req.params.impi ?? '');
      return { status: 204 };
    },
  };
}

/** The admin resource, for mountAdminApi's `extra`. */
export function scenarioRoutes(store: ScenarioStore, log: Logger): AdminRouteRegistration {
  const h = scenarioHandlers(store, log);
  return (routes) => {
    routes.get('/scenarios', h.list);
    routes.put('/scenarios/:impi', h.put);
    routes.get('/scenarios/:impi', h.get);
    routes.delete('/scenarios/:impi', h.remove);
  };
}

// --- Hooks for the Ub handler -------------------------------------------------------------------------

/** A vector as the challenge record keeps it. */
export interface ScenarioVector {
  rand: Buffer;
  autn: Buffer;
  xres: Buffer;
  ck: Buffer;
  ik: Buffer;
}

const OPAQUE_PREFIX = 'sc.';

/** opaque of a faulted challenge: the fault, then randomness as for any challenge. */
export const faultedOpaque = (fault: Fault): string =>
  `${OPAQUE_PREFIX}${fault}.${randomOctets(12).toString('base64url')}`;

/** The fault a challenge was issued under, from its opaque (undefined for an ordinary challenge). */
export function faultOfOpaque(opaque: string | undefined): Fault | undefined {
  if (!opaque?.startsWith(OPAQUE_PREFIX)) return undefined;
  const f = opaque.slice(OPAQUE_PREFIX.length, opaque.indexOf('.', OPAQUE_PREFIX.length));
  return (FAULTS as readonly string[]).includes(f) ? (f as Fault) : undefined;
}

/** AUTN with MAC-A's last bit flipped (TS 33.102 §6.3.3: the USIM must refuse it). */
export function withBadMac(autn: Buffer): Buffer {
  const a = Buffer.from(autn);
  a[15] = a[15]! ^ 0x01;
  return a;
}

/** An Authentication-Info value whose rspauth no longer verifies (one hex digit changed). */
export function withBadRspauth(info: string): string {
  return info.replace(
    /rspauth="([0-9a-fA-F]*)([0-9a-fA-F])"/,
    (_, head: string, last: string) => `rspauth="${head}${last === '0' ? '1' : '0'}"`,
  );
}

/** How long the device's last vector is kept for stale_sqn. */
export const LAST_VECTOR_TTL_MS = 3_600_000;

/** The timeline reasons: what the BSF did and what the device did about it. */
export const SCENARIO_REASONS = {
  badMacReported:
    'scenario bad_mac: the BSF sent an AUTN with a wrong MAC-A; the device reported a MAC failure (empty password, RFC 3310 §3.3), as it must',
  badMacAnswered:
    'scenario bad_mac: the BSF sent an AUTN with a wrong MAC-A and the device answered it with RES: it must report a MAC failure instead',
  staleResynced:
    'scenario stale_sqn: the BSF replayed a vector the USIM had already seen; the device resynchronised with AUTS, as it must',
  staleAnswered:
    'scenario stale_sqn: the BSF replayed a vector the USIM had already seen and the device answered it with RES: it must resynchronise (AUTS) instead',
  staleNoVector:
    'scenario stale_sqn: no vector of this device from the last hour to replay (bootstrap it once first); a fresh challenge was sent',
  badRspauth: 'scenario bad_rspauth: 200 sent with an rspauth that does not verify; the device must reject this B-TID',
  hssUnavailable: 'scenario hss_unavailable: 503 with Retry-After sent',
  delay: 'scenario delay: the initial challenge was held back delayMs; the device waited and bootstrapped',
} as const;

export interface ScenarioHooks {
  /** On an initial request: one use of the IMPI's scenario (taken atomically), or undefined. Never throws. */
  take(impi: string): Promise<FaultScenario | undefined>;
  /** After a successful bootstrap: the vector, for a later stale_sqn. Runs beside the answer; never throws. */
  remember(impi: string, v: ScenarioVector): void;
  lastVector(impi: string): Promise<ScenarioVector | undefined>;
}

/** Hooks over a ScenarioStore; a store error only skips the fault (Ub keeps answering) and is logged. */
export function scenarioHooks(store: ScenarioStore, log: Logger): ScenarioHooks {
  return {
    take: (impi) =>
      store.take(impi).catch((err: unknown) => {
        log.warn({ err }, 'scenarios: store read failed');
        return undefined;
      }),
    remember: (impi, v) => {
      void store
        .rememberVector(impi, Buffer.concat([v.rand, v.autn, v.ck, v.ik, v.xres]), LAST_VECTOR_TTL_MS)
        .catch((err: unknown) => log.warn({ err }, 'scenarios: store write failed'));
    },
    lastVector: async (impi) => {
      const b = await store.lastVector(impi).catch(() => undefined);
      if (!b || b.length < 64 + 4) return undefined;
      return {
        rand: b.subarray(0, 16),
        autn: b.subarray(16, 32),
        ck: b.subarray(32, 48),
        ik: b.subarray(48, 64),
        xres: b.subarray(64),
      };
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
