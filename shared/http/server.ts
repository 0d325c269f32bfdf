/**
 * A small HTTP layer on node:http. Protocol logic lives in plain handlers that take a parsed request and
 * return status, headers and body; this module only routes, limits and serialises. Every listener serves
 * GET /healthz and GET /metrics.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError, PROBLEM_CONTENT_TYPE, problems } from './problem.js';
import type { Logger } from '../log.js';
import { Counter, PROMETHEUS_CONTENT_TYPE, type Registry } from '../metrics.js';

export interface HttpRequest {
  method: string;
  /** The request-target exactly as received (path and query). */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  params: Record<string, string>;
  remoteAddress: string;
}

export interface HttpResponse {
  status: number;
  headers?: OutgoingHttpHeaders;
  /** Raw body; `json` is serialised with Content-Type application/json instead. */
  body?: string | Buffer;
  json?: unknown;
  /** A streamed answer (Server-Sent Events): called after the head is written, owns the response from then on. */
  stream?: (res: ServerResponse) => void;
}

export type Handler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export interface RouteOptions {
  /** Runs on the headers alone, before the body is read; throws an HttpError (401/403) to refuse. */
  authorize?: (headers: IncomingHttpHeaders) => void;
  maxBodyBytes?: number;
}

interface Route { method: string; segments: string[]; handler: Handler; opts: RouteOptions }

export const DEFAULT_MAX_BODY = 64 * 1024;

export class Router {
  readonly #routes: Route[] = [];
  #fallback: Route | undefined;

  /** Handles every request no route matches (any method, any path), instead of 404/405. */
  fallback(handler: Handler, opts: RouteOptions = {}): this {
    this.#fallback = { method: '*', segments: [], handler, opts };
    return this;
  }

  /** `pattern` segments starting with ':' capture one path segment (percent-decoded). */
  route(method: string, pattern: string, handler: Handler, opts: RouteOptions = {}): this {
    this.#routes.push({ method, segments: pattern.split('/').filter(Boolean), handler, opts });
    return this;
  }
  get(p: string, h: Handler, o?: RouteOptions): this { return this.route('GET', p, h, o); }
  post(p: string, h: Handler, o?: RouteOptions): this { return this.route('POST', p, h, o); }
  put(p: string, h: Handler, o?: RouteOptions): this { return this.route('PUT', p, h, o); }
  delete(p: string, h: Handler, o?: RouteOptions): this { return this.route('DELETE', p, h, o); }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | { allow: string } | undefined {
    const parts = path.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const r of this.#routes) {
      const params = matchSegments(r.segments, parts);
      if (!params) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params };
      allowed.push(r.method);
    }
    if (this.#fallback) return { route: this.#fallback, params: {} };
    return allowed.length ? { allow: [...new Set(allowed)].join(', ') } : undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      try { params[p.slice(1)] = decodeURIComponent(parts[i]!); } catch { throw problems.badRequest(`path segment ${i + 1} is not valid percent-encoding`); }
    } else if (p !== parts[i]) return undefined;
  }
  return params;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(problems.payloadTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { reject(problems.payloadTooLarge(limit)); req.removeAllListeners('data'); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const EMPTY_BODY = Buffer.alloc(0);

const hasNoBody = (req: IncomingMessage): boolean =>
  req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;

/** The parsed request; the query is parsed only when a handler asks for it (most never do). */
class Request implements HttpRequest {
  #query: URLSearchParams | undefined;
  constructor(
    readonly method: string, readonly url: string, readonly path: string, readonly queryAt: number,
    readonly params: Record<string, string>, readonly body: Buffer, readonly headers: IncomingHttpHeaders, readonly remoteAddress: string,
  ) {}
  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.queryAt < 0 ? '' : this.url.slice(this.queryAt + 1)));
  }
}

function send(res: ServerResponse, r: HttpResponse, head: boolean): void {
  if (r.stream && !head) {
    res.writeHead(r.status, r.headers ?? {});
    r.stream(res);
    return;
  }
  let body: string | Buffer | undefined = r.body;
  const headers: OutgoingHttpHeaders = { ...r.headers };
  if (r.json !== undefined) {
    body = JSON.stringify(r.json);
    headers['Content-Type'] ??= 'application/json';
  }
  if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
  res.writeHead(r.status, headers);
  res.end(head ? undefined : body);
}

export interface HttpServerOptions {
  name: string;                    // listener name for logs and metrics, e.g. 'ub'
  router: Router;
  log: Logger;
  registry?: Registry;
  /** Extra readiness check for /healthz (e.g. the store answers). */
  health?: () => Promise<boolean> | boolean;
}

export interface RunningServer { server: Server; port: number; url: string; close(): Promise<void> }

const counters = new WeakMap<Registry, Counter>();
/** One http_requests_total per registry, shared by all listeners of a process (told apart by `listener`). */
function requestCounter(r: Registry): Counter {
  let c = counters.get(r);
  if (!c) { c = r.register(new Counter('http_requests_total', 'HTTP requests answered, by listener and status class.', ['listener', 'code'])); counters.set(r, c); }
  return c;
}

export function createHttpHandler(o: HttpServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const requests = o.registry ? requestCounter(o.registry) : undefined;
  const count = (status: number) => requests?.inc({ listener: o.name, code: `${Math.floor(status / 100)}xx` });
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const fail = (err: unknown): void => {
      const e = err instanceof HttpError ? err : undefined;
      if (!e) o.log.error({ err, method, path }, 'internal error');
      const problem = (e ?? new HttpError(500, 'Internal Server Error', 'internal error; see the server log')).toProblem(path);
      count(problem.status);
      if (res.headersSent) { res.destroy(); return; }
      send(res, { status: problem.status, headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...(e?.headers ?? {}) }, body: JSON.stringify(problem) }, head);
    };
    try {
      if (path === '/healthz' && (method === 'GET' || head)) {
        Promise.resolve(o.health ? o.health() : true).then(
          (ok) => { count(ok ? 200 : 503); send(res, { status: ok ? 200 : 503, json: { status: ok ? 'ok' : 'unavailable' } }, head); },
          fail);
        return;
      }
      if (path === '/metrics' && (method === 'GET' || head) && o.registry) {
        count(200);
        send(res, { status: 200, headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE }, body: o.registry.render() }, head);
        return;
      }
      const m = o.router.match(method, path);
      if (!m) throw problems.notFound(`no resource at ${path}`);
      if ('allow' in m) throw problems.methodNotAllowed(m.allow);
      const { route, params } = m;
      route.opts.authorize?.(req.headers);
      const handle = (body: Buffer) => route.handler(new Request(method, url, path, q, params, body, req.headers, req.socket.remoteAddress ?? ''));
      const done = (r: HttpResponse) => { count(r.status); send(res, r, head); };
      if (hasNoBody(req)) {
        // RFC 9112 §6.3: without Content-Length or Transfer-Encoding a request has no body; skip reading one.
        Promise.resolve(handle(EMPTY_BODY)).then(done, fail);
        return;
      }
      readBody(req, route.opts.maxBodyBytes ?? DEFAULT_MAX_BODY).then(handle).then(done, fail);
    } catch (err) {
      fail(err);
    }
  };
}

export function startHttpServer(o: HttpServerOptions & { host: string; port: number }): Promise<RunningServer> {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 30_000 }, createHttpHandler(o));
  server.on('clientError', (_err, socket) => {
    // Malformed HTTP from a client: answer 400 and close, never crash (node would otherwise just drop it).
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const port = (server.address() as AddressInfo).port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      resolve({
        server, port, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
        // Graceful: stop accepting, let requests in flight finish (at most 2 s), then cut what is left.
        close: () => new Promise<void>((r) => { server.close(() => r()); server.closeIdleConnections(); setTimeout(() => server.closeAllConnections(), 2000).unref(); }),
      });
    });
  });
}

/** Parses a JSON request body; 415 for another media type, 400 for bad JSON. */
export function jsonBody(req: HttpRequest): unknown {
  const ct = String(req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (ct !== 'application/json' && !ct.endsWith('+json')) throw problems.unsupportedMediaType('expected application/json');
  if (req.body.length === 0) throw problems.badRequest('empty body; a JSON object is required');
  try { return JSON.parse(req.body.toString('utf8')); } catch { throw problems.badRequest('body is not valid JSON'); }
}

/** Bearer token check (RFC 6750) against a set of accepted tokens, in constant time per token. */
export function bearerAuthorizer(accepts: (token: string) => boolean): (headers: IncomingHttpHeaders) => void {
  return (headers) => {
    const h = headers.authorization;
    if (!h) throw problems.unauthorized('missing bearer token');
    const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(h);
    if (!m) throw problems.unauthorized('Authorization is not a Bearer token', 'Bearer error="invalid_request"');
    if (!accepts(m[1]!)) throw problems.unauthorized('unknown bearer token', 'Bearer error="invalid_token"');
  };
}
