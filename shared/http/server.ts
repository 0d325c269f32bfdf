/**
 * A small HTTP layer on node:http. Protocol logic lives in plain handlers that take a parsed request and
 * return status, headers and body; this module only routes, limits and serialises. Every listener serves
 * GET /healthz and GET /metrics.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError, PROBLEM_CONTENT_TYPE, problems } from './problem.js';
import type { Logger } from '../log.js';
import { StoreUnavailable } from '../errors.js';
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

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
  opts: RouteOptions;
}

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
  get(p: string, h: Handler, o?: RouteOptions): this {
    return this.route('GET', p, h, o);
  }
  post(p: string, h: Handler, o?: RouteOptions): this {
    return this.route('POST', p, h, o);
  }
  put(p: string, h: Handler, o?: RouteOptions): this {
    return this.route('PUT', p, h, o);
  }
  delete(p: string, h: Handler, o?: RouteOptions): this {
    return this.route('DELETE', p, h, o);
  }

  match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { allow: string } | undefined {
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
      try {
        params[p.slice(1)] = decodeURIComponent(parts[i]!);
      } catch {
        throw problems.badRequest(`path segment ${i + 1} is not valid percent-encoding`);
      }
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
      if (size > limit) {
        reject(problems.payloadTooLarge(limit));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
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
    readonly method: string,
    readonly url: string,
    readonly path: string,
    readonly queryAt: number,
    readonly params: Record<string, string>,
    readonly body: Buffer,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string,
  ) {}
  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.queryAt < 0 ? '' : this.url.slice(this.queryAt + 1)));
  }
}

/** Serialises a response; throws (bad header value, unserialisable JSON) before anything is written. */
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
  name: string; // listener name for logs and metrics, e.g. 'ub'
  router: Router;
  log: Logger;
  registry?: Registry;
  /** Extra readiness check for /healthz (e.g. the store answers). */
  health?: () => Promise<boolean> | boolean;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const counters = new WeakMap<Registry, Counter>();
/** One http_requests_total per registry, shared by all listeners of a process (told apart by `listener`). */
function requestCounter(r: Registry): Counter {
  let c = counters.get(r);
  if (!c) {
    c = r.register(
      new Counter('http_requests_total', 'HTTP requests answered, by listener and status class.', ['listener', 'code']),
    );
    counters.set(r, c);
  }
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
    // Nothing on the answering path may throw out of here: a throw inside a promise callback would be an
    // unhandled rejection (issue 18, finding 7). A failed send of the problem itself drops the connection.
    const fail = (err: unknown): void => {
      try {
        let e = err instanceof HttpError ? err : undefined;
        if (!e && err instanceof StoreUnavailable) {
          o.log.warn({ err, method, path }, 'store unavailable');
          e = problems.unavailable('the store did not answer; retry later', STORE_RETRY_AFTER_SEC);
        }
        if (!e) o.log.error({ err, method, path }, 'internal error');
        const problem = (
          e ?? new HttpError(500, 'Internal Server Error', 'internal error; see the server log')
        ).toProblem(path);
        count(problem.status);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        send(
          res,
          {
            status: problem.status,
            headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...(e?.headers ?? {}) },
            body: JSON.stringify(problem),
          },
          head,
        );
      } catch (sendErr) {
        o.log.error({ err: sendErr, method, path }, 'could not send the error response');
        res.destroy();
      }
    };
    const reply = (r: HttpResponse): void => {
      try {
        send(res, r, head);
        count(r.status);
      } catch (err) {
        fail(err);
      }
    };
    try {
      if (path === '/healthz' && (method === 'GET' || head)) {
        withDeadline(o.health ? o.health() : true, HEALTH_TIMEOUT_MS).then(
          (ok) => reply({ status: ok ? 200 : 503, json: { status: ok ? 'ok' : 'unavailable' } }),
          fail,
        );
        return;
      }
      if (path === '/metrics' && (method === 'GET' || head) && o.registry) {
        reply({ status: 200, headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE }, body: o.registry.render() });
        return;
      }
      const m = o.router.match(method, path);
      if (!m) throw problems.notFound(`no resource at ${path}`);
      if ('allow' in m) throw problems.methodNotAllowed(m.allow);
      const { route, params } = m;
      route.opts.authorize?.(req.headers);
      const handle = (body: Buffer) =>
        route.handler(new Request(method, url, path, q, params, body, req.headers, req.socket.remoteAddress ?? ''));
      const done = reply;
      if (hasNoBody(req)) {
        // RFC 9112 §6.3: without Content-Length or Transfer-Encoding a request has no body; skip reading one.
        Promise.resolve(handle(EMPTY_BODY)).then(done, fail);
        return;
      }
      readBody(req, route.opts.maxBodyBytes ?? DEFAULT_MAX_BODY)
        .then(handle)
        .then(done, fail);
    } catch (err) {
      fail(err);
    }
  };
}

/** Seconds a client is told to wait (Retry-After) when the store did not answer. */
export const STORE_RETRY_AFTER_SEC = 1;
/** /healthz answers within this bound: a store check that has not answered by then counts as down. */
export const HEALTH_TIMEOUT_MS = 1000;
/** Request line plus headers; more is 431 (RFC 6585 §5) on every listener. */
export const MAX_HEADER_BYTES = 16 * 1024;

function withDeadline(v: Promise<boolean> | boolean, ms: number): Promise<boolean> {
  if (typeof v === 'boolean') return Promise.resolve(v);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([v.catch(() => false), late]).finally(() => clearTimeout(timer));
}

const rawAnswer = (status: string, extra = ''): string =>
  `HTTP/1.1 ${status}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`;

export function startHttpServer(o: HttpServerOptions & { host: string; port: number }): Promise<RunningServer> {
  const server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 30_000, maxHeaderSize: MAX_HEADER_BYTES },
    createHttpHandler(o),
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP from a client: answer and close, never crash (node would otherwise just drop it).
    if (!socket.writable) return;
    socket.end(
      err.code === 'HPE_HEADER_OVERFLOW'
        ? rawAnswer('431 Request Header Fields Too Large')
        : rawAnswer('400 Bad Request'),
    );
  });
  // No listener is a proxy: CONNECT (RFC 9110 §9.3.6) gets 405 instead of a silently dropped socket.
  server.on('connect', (_req, socket) => {
    socket.on('error', () => socket.destroy());
    if (socket.writable) socket.end(rawAnswer('405 Method Not Allowed', 'Allow: GET, HEAD, POST, PUT, DELETE\r\n'));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      const port = (server.address() as AddressInfo).port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      resolve({
        server,
        port,
        url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
        // Graceful: stop accepting, let requests in flight finish (at most 2 s), then cut what is left.
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 2000).unref();
          }),
      });
    });
  });
}

/** Parses a JSON request body; 415 for another media type, 400 for bad JSON. */
export function jsonBody(req: HttpRequest): unknown {
  const ct = String(req.headers['content-type'] ?? 'application/json')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (ct !== 'application/json' && !ct.endsWith('+json'))
    throw problems.unsupportedMediaType('expected application/json');
  if (req.body.length === 0) throw problems.badRequest('empty body; a JSON object is required');
  try {
    return JSON.parse(req.body.toString('utf8'));
  } catch {
    throw problems.badRequest('body is not valid JSON');
  }
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
