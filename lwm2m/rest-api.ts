/**
 * The LwM2M server's REST API (project's own, Leshan-like paths; lwm2m/openapi.yaml):
 *
 *   GET /api/clients                                   registered clients
 *   GET /api/clients/{endpoint}                        one client (404 if not registered)
 *   GET /api/clients/{endpoint}/{o}/{i}[/{r}]?accept=  Read from the device → {"status", "contentFormat", "content"}
 *   GET /api/openapi.yaml
 *
 * Device management (docs/contracts.md C10; operations.ts), each answering {"status": "<CoAP code>", …}:
 *   PUT    /api/clients/{endpoint}/{o}/{i}/{r}              {"value": v}  Write (typed by the object model)
 *   PUT    /api/clients/{endpoint}/{o}/{i}                  {"value": {"<r>": v, …}}  Write of an instance
 *   POST   /api/clients/{endpoint}/{o}/{i}/{r}/execute      optional text body = arguments
 *   GET    /api/clients/{endpoint}/{path}/discover          link format → [{"url","attributes"}]
 *   PUT    /api/clients/{endpoint}/{path}/attributes?pmin=&pmax=&gt=&lt=&st=
 *   POST   /api/clients/{endpoint}/{path}/observe           first value; later ones as `notification` events
 *   DELETE /api/clients/{endpoint}/{path}/observe           cancel (404 when nothing is observed)
 *   POST   /api/clients/{endpoint}/{o}                      {"instanceId"?, "resources": {…}}  Create
 *   DELETE /api/clients/{endpoint}/{o}/{i}                  Delete
 *   GET    /api/events[?ep=]                                Server-Sent Events (events.ts)
 *
 * Device answers map to HTTP as an HTTP-CoAP proxy would (RFC 8075 §7): 2.xx → 200; 4.xx → the matching 4xx
 * (4.01 → 403, 4.02 → 400, 4.05 → 405 as issue 14 settles it …); 5.xx → 502, since the device failed, not this server. No answer in time → 504;
 * connection gone or a payload that does not parse → 502. Error bodies are Problem Details with the CoAP code
 * in `coapCode`. Every route needs `Authorization: Bearer <admin.token>` (RFC 6750; C5: one admin token opens every
 * admin API): missing or wrong → 401 problem+json with `WWW-Authenticate: Bearer`. /healthz and /metrics stay open.
 * It shows identities and endpoints, never keys.
 */
import { CoapExchangeError, codeClass } from '../shared/coap/message.js';
import { DecodeError, InputError } from '../shared/errors.js';
import {
  bearerAuthorizer,
  jsonBody,
  Router,
  type HttpRequest,
  type HttpResponse,
  type RouteOptions,
} from '../shared/http/server.js';
import { secretEqualString } from '../shared/bytes.js';
import { PROBLEM_CONTENT_TYPE, problems } from '../shared/http/problem.js';
import { expiresAtMs, type ClientRegistry, type Registration } from './registry.js';
import { UnknownEndpoint, type ReadResult } from './reads.js';
import type { DeviceManager } from './operations.js';
import { SSE_HEADERS, type EventHub } from './events.js';

/** One registration as the API shows it. */
export interface ClientView {
  endpoint: string;
  registrationId: string;
  lwm2mVersion: string;
  /** Seconds. */
  lifetime: number;
  binding: string;
  queueMode: boolean;
  sms?: string;
  objectLinks: Array<{ url: string; attributes: Record<string, string | true> }>;
  objects: Array<{ objectId: number; version?: string; instances: number[] }>;
  /** Content-Formats the client's root link lists (`ct`). */
  supportedContentFormats: number[];
  registeredAt: string;
  lastUpdate: string;
  /** lastUpdate + lifetime. */
  expiresAt: string;
  pskIdentity: string;
  btid: string;
  /** When the bootstrapping key expires; the registration ends then at the latest. */
  pskExpiresAt: string;
  transport: 'tcp' | 'udp';
  address: string;
}

export function clientView(r: Registration): ClientView {
  return {
    endpoint: r.endpoint,
    registrationId: r.registrationId,
    lwm2mVersion: r.lwm2mVersion,
    lifetime: r.lifetimeSec,
    binding: r.binding,
    queueMode: r.queueMode,
    ...(r.sms !== undefined ? { sms: r.sms } : {}),
    objectLinks: r.links.map((l) => ({ url: l.path, attributes: { ...l.params } })),
    objects: r.objects.map((o) => ({
      objectId: o.objectId,
      ...(o.version !== undefined ? { version: o.version } : {}),
      instances: [...o.instances],
    })),
    supportedContentFormats: [...r.contentFormats],
    registeredAt: iso(r.registeredAtMs),
    lastUpdate: iso(r.lastUpdateMs),
    expiresAt: iso(expiresAtMs(r)),
    pskIdentity: r.peer.security.pskIdentity,
    btid: r.peer.security.btid,
    pskExpiresAt: iso(r.peer.security.expiresAtMs),
    transport: r.peer.transport,
    address: r.peer.address,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

export interface RestApiDeps {
  /** C5 admin.token: the Bearer token every route requires (compared in constant time). */
  adminToken: string;
  registry: ClientRegistry;
  read: (endpoint: string, path: readonly number[], accept?: number) => Promise<ReadResult>;
  /** lwm2m/openapi.yaml, or a function giving it with the real `servers` (shared/http/openapi.ts) */
  openapi: string | (() => string);
  /** Write, Execute, Discover, Write-Attributes, Observe, Create, Delete (operations.ts); routes absent without it. */
  dm?: DeviceManager;
  events?: EventHub;
}

export function listClients(d: RestApiDeps): HttpResponse {
  const views = d.registry
    .list()
    .map(clientView)
    .sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, json: views };
}

export function getClient(d: RestApiDeps, endpoint: string): HttpResponse {
  const r = d.registry.byEndpoint(endpoint);
  if (!r) throw problems.notFound(`no client registered as ${endpoint}`, 'CLIENT_NOT_REGISTERED');
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, json: clientView(r) };
}

const ID = /^(0|[1-9]\d{0,4})$/;

/** GET /api/clients/{endpoint}/{objectId}/{instanceId}[/{resourceId}] */
export async function readClient(
  d: RestApiDeps,
  params: Record<string, string>,
  query: URLSearchParams,
  instance: string,
): Promise<HttpResponse> {
  const names = ['objectId', 'instanceId', 'resourceId'].filter((n) => params[n] !== undefined);
  const invalid = names.filter((n) => !ID.test(params[n]!) || Number(params[n]) > 65534);
  if (invalid.length)
    throw problems.badRequest(
      'LwM2M ids are integers 0..65534',
      invalid.map((param) => ({ param, reason: 'not an LwM2M id' })),
    );
  const path = names.map((n) => Number(params[n]));
  let accept: number | undefined;
  const a = query.get('accept');
  if (a !== null) {
    if (!/^\d{1,5}$/.test(a) || Number(a) > 0xffff)
      throw problems.badRequest('accept must be a CoAP Content-Format number', [
        { param: 'accept', reason: 'not 0..65535' },
      ]);
    accept = Number(a);
  }
  return deviceCall(() => d.read(params.endpoint!, path, accept), params.endpoint!, instance);
}

/**
 * Runs one operation on a device and maps the outcome: 2.xx → 200 {"status", "contentFormat", "content"}; a device
 * error code → problem+json with the mapped status and `coapCode`; no answer → 504; connection gone or content
 * that does not parse → 502; unknown endpoint → 404; bad input → 400.
 */
export async function deviceCall(
  op: () => Promise<ReadResult>,
  endpoint: string,
  instance: string,
  body?: (r: ReadResult) => Record<string, unknown>,
): Promise<HttpResponse> {
  let result: ReadResult;
  try {
    result = await op();
  } catch (err) {
    if (err instanceof UnknownEndpoint)
      throw problems.notFound(`no client registered as ${endpoint}`, 'CLIENT_NOT_REGISTERED');
    if (err instanceof CoapExchangeError) {
      if (err.reason === 'timeout')
        return problem(504, 'Gateway Timeout', 'the device did not answer in time', instance);
      return problem(502, 'Bad Gateway', `the connection to the device is gone (${err.reason})`, instance);
    }
    if (err instanceof DecodeError)
      return problem(502, 'Bad Gateway', `the device answered content that does not parse: ${err.message}`, instance);
    if (err instanceof InputError) throw problems.badRequest(err.message);
    throw err;
  }
  if (codeClass(result.code) === 2) {
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      json: body
        ? body(result)
        : { status: result.status, contentFormat: result.contentFormat, content: result.content },
    };
  }
  const diagnostic =
    typeof result.content === 'string' && result.content !== '' ? `: ${result.content.slice(0, 200)}` : '';
  const [status, title] = httpStatusOf(result.code);
  return problem(status, title, `the device answered ${result.status}${diagnostic}`, instance, result.status);
}

const ids = (params: Record<string, string>): number[] => {
  const names = ['objectId', 'instanceId', 'resourceId'].filter((n) => params[n] !== undefined);
  const invalid = names.filter((n) => !ID.test(params[n]!) || Number(params[n]) > 65534);
  if (invalid.length)
    throw problems.badRequest(
      'LwM2M ids are integers 0..65534',
      invalid.map((param) => ({ param, reason: 'not an LwM2M id' })),
    );
  return names.map((n) => Number(params[n]));
};

/** {"value": v} of a Write. */
function valueOf(req: HttpRequest): unknown {
  const body = jsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('value' in body))
    throw problems.badRequest('the body is {"value": v}');
  return (body as { value: unknown }).value;
}

const TEXT = /^text\/plain(;|$)/i;

/** The device-management handlers (operations.ts) the route table in createRestRouter names. */
export function dmHandlers(d: RestApiDeps) {
  const dm = (): DeviceManager => {
    if (!d.dm) throw problems.notFound('device management is not enabled on this server');
    return d.dm;
  };
  const ok = (r: ReadResult) => ({ status: r.status });
  return {
    write: (req: HttpRequest) => {
      const path = ids(req.params);
      return deviceCall(() => dm().write(req.params.endpoint!, path, valueOf(req)), req.params.endpoint!, req.path, ok);
    },
    execute: (req: HttpRequest) => {
      const path = ids(req.params);
      if (req.body.length && !TEXT.test(String(req.headers['content-type'] ?? 'text/plain')))
        throw problems.unsupportedMediaType('Execute arguments are text/plain');
      const args = req.body.length ? req.body.toString('utf8') : undefined;
      return deviceCall(() => dm().execute(req.params.endpoint!, path, args), req.params.endpoint!, req.path, ok);
    },
    discover: (req: HttpRequest) => {
      const path = ids(req.params);
      return deviceCall(
        () => dm().discover(req.params.endpoint!, path),
        req.params.endpoint!,
        req.path,
        (r) => ({ status: r.status, content: r.content }),
      );
    },
    attributes: (req: HttpRequest) => {
      const path = ids(req.params);
      const attrs: Record<string, string> = {};
      for (const [k, v] of req.query) {
        if (k in attrs) throw problems.badRequest(`attribute ${k} given twice`);
        attrs[k] = v;
      }
      return deviceCall(
        () => dm().writeAttributes(req.params.endpoint!, path, attrs),
        req.params.endpoint!,
        req.path,
        ok,
      );
    },
    observe: (req: HttpRequest) => {
      const path = ids(req.params);
      return deviceCall(() => dm().observe(req.params.endpoint!, path), req.params.endpoint!, req.path);
    },
    cancel: async (req: HttpRequest) => {
      const path = ids(req.params);
      let none = false;
      const res = await deviceCall(
        async () => {
          const r = await dm().cancelObservation(req.params.endpoint!, path);
          if (!r) {
            none = true;
            return { code: 0x45, status: '2.05', contentFormat: null, content: null };
          }
          return r;
        },
        req.params.endpoint!,
        req.path,
        ok,
      );
      if (none)
        throw problems.notFound(`nothing is observed at /${path.join('/')} of ${req.params.endpoint}`, 'NOT_OBSERVED');
      return res;
    },
    create: (req: HttpRequest) => {
      const [objectId] = ids(req.params);
      return deviceCall(
        () => dm().create(req.params.endpoint!, objectId!, jsonBody(req)),
        req.params.endpoint!,
        req.path,
        (r) => ({
          status: r.status,
          ...(r.content && typeof r.content === 'object' ? (r.content as Record<string, unknown>) : {}),
        }),
      );
    },
    delete: (req: HttpRequest) => {
      const path = ids(req.params);
      return deviceCall(() => dm().delete(req.params.endpoint!, path), req.params.endpoint!, req.path, ok);
    },
  };
}

/** GET /api/events[?ep=]: Server-Sent Events (events.ts). */
export function eventsRoute(d: RestApiDeps, req: HttpRequest): HttpResponse {
  const hub = d.events;
  if (!hub) throw problems.notFound('no event stream');
  const ep = req.query.get('ep') ?? undefined;
  if (ep !== undefined && (ep === '' || ep.length > 256))
    throw problems.badRequest('ep must be an endpoint client name (1..256 characters)', [
      { param: 'ep', reason: 'empty or too long' },
    ]);
  if (hub.full) return problem(503, 'Service Unavailable', 'too many event subscribers', req.path);
  return { status: 200, headers: { ...SSE_HEADERS }, stream: (res) => hub.attach(res, ep) };
}

/** RFC 8075 §7 (CoAP to HTTP response codes) for 4.xx; every 5.xx and anything unexpected is 502 (the device failed, not us). */
function httpStatusOf(code: number): [number, string] {
  switch (code) {
    case 0x80:
    case 0x82:
      return [400, 'Bad Request'];
    case 0x81:
    case 0x83:
      return [403, 'Forbidden'];
    case 0x85:
      return [405, 'Method Not Allowed'];
    case 0x84:
      return [404, 'Not Found'];
    case 0x86:
      return [406, 'Not Acceptable'];
    case 0x8c:
      return [412, 'Precondition Failed'];
    case 0x8d:
      return [413, 'Payload Too Large'];
    case 0x8f:
      return [415, 'Unsupported Media Type'];
    default:
      return codeClass(code) === 4 ? [400, 'Bad Request'] : [502, 'Bad Gateway'];
  }
}

function problem(status: number, title: string, detail: string, instance: string, coapCode?: string): HttpResponse {
  const body = { title, status, detail, instance, ...(coapCode ? { coapCode } : {}) };
  return {
    status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Cache-Control': 'no-store' },
    body: JSON.stringify(body),
  };
}

export function createRestRouter(d: RestApiDeps): Router {
  const read = (req: HttpRequest) => readClient(d, req.params, req.query, req.path);
  const dm = dmHandlers(d);
  // C5: every route needs the admin token; the check runs on the headers, before any body is read.
  const auth: RouteOptions = { authorize: bearerAuthorizer((t) => secretEqualString(t, d.adminToken)) };
  return (
    new Router()
      // Literal last segments first (discover, attributes, observe): the Router takes the first match.
      .get('/api/clients/:endpoint/:objectId/discover', dm.discover, auth)
      .get('/api/clients/:endpoint/:objectId/:instanceId/discover', dm.discover, auth)
      .get('/api/clients/:endpoint/:objectId/:instanceId/:resourceId/discover', dm.discover, auth)
      .put('/api/clients/:endpoint/:objectId/attributes', dm.attributes, auth)
      .put('/api/clients/:endpoint/:objectId/:instanceId/attributes', dm.attributes, auth)
      .put('/api/clients/:endpoint/:objectId/:instanceId/:resourceId/attributes', dm.attributes, auth)
      .post('/api/clients/:endpoint/:objectId/observe', dm.observe, auth)
      .post('/api/clients/:endpoint/:objectId/:instanceId/observe', dm.observe, auth)
      .post('/api/clients/:endpoint/:objectId/:instanceId/:resourceId/observe', dm.observe, auth)
      .delete('/api/clients/:endpoint/:objectId/observe', dm.cancel, auth)
      .delete('/api/clients/:endpoint/:objectId/:instanceId/observe', dm.cancel, auth)
      .delete('/api/clients/:endpoint/:objectId/:instanceId/:resourceId/observe', dm.cancel, auth)
      .post('/api/clients/:endpoint/:objectId/:instanceId/:resourceId/execute', dm.execute, {
        ...auth,
        maxBodyBytes: 4096,
      })
      .put('/api/clients/:endpoint/:objectId/:instanceId/:resourceId', dm.write, auth)
      .put('/api/clients/:endpoint/:objectId/:instanceId', dm.write, auth)
      .post('/api/clients/:endpoint/:objectId', dm.create, auth)
      .delete('/api/clients/:endpoint/:objectId/:instanceId', dm.delete, auth)
      .get('/api/events', (req) => eventsRoute(d, req), auth)
      .get('/api/clients', () => listClients(d), auth)
      .get('/api/clients/:endpoint', (req) => getClient(d, req.params.endpoint!), auth)
      .get('/api/clients/:endpoint/:objectId/:instanceId', read, auth)
      .get('/api/clients/:endpoint/:objectId/:instanceId/:resourceId', read, auth)
      .get(
        '/api/openapi.yaml',
        () => ({
          status: 200,
          headers: { 'Content-Type': 'application/yaml' },
          body: typeof d.openapi === 'string' ? d.openapi : d.openapi(),
        }),
        auth,
      )
  );
}
