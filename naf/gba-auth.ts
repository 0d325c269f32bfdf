/**
 * GBA for any application (contract C11): the Ua HTTP Digest of TS 24.109 clause 5 / TS 33.222 §5.2–5.3, as
 * Express middleware (`gbaAuth`, exported as `gba-sim/naf`) and as the framework-free `GbaAuthenticator` the
 * NAF's own Ua endpoint runs (naf/ua.ts): one Digest flow, one key cache.
 *
 *   request without credentials       → 401 WWW-Authenticate: Digest realm="3GPP-bootstrapping@<fqdn>", nonce,
 *                                        qop="auth-int,auth", algorithm=MD5, opaque   (problem+json body)
 *   username = B-TID, password = base64(Ks_NAF) for NAF_Id = fqdn ‖ Ua id, the key fetched over Zn
 *                                     → next() with req.gba = { btid, impi, expiresAt }; the response carries
 *                                        Authentication-Info with rspauth over its exact body (RFC 7616 §3.5)
 *   wrong password, another NAF's key, replayed/unknown nonce, unknown or expired B-TID
 *                                     → 401 and a fresh challenge (TS 24.109 §5.2.2: the UE bootstraps again)
 *   the BSF does not answer Zn        → 503 (Retry-After)
 *
 * The Ua id is 01 00 00 00 02 on plain HTTP and 01 00 01 yy zz inside TLS 1.2 with suite yy zz (TS 33.222
 * §5.3, TS 33.220 Annex H), unless the options fix one. Nonces are single use (in the store when one is given,
 * so any instance of the application accepts what another challenged with).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { DigestServer, type DigestCredentials } from '../shared/http/digest-server.js';
import { PROBLEM_CONTENT_TYPE, problems, type HttpError } from '../shared/http/problem.js';
import { formatDigest } from '../shared/wire/digest-header.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from '../shared/services/errors.js';
import type { ZnService } from '../shared/services/zn.js';
import type { NafKeyCache, NafKeyEntry, NonceStore } from '../shared/store/types.js';
import { MemoryNafKeyCache, MemoryNonceStore } from '../shared/store/memory.js';
import { UA_HTTP_DIGEST, uaIdOfNegotiatedSuite } from '../shared/ua-ids.js';
import { NafKeys } from './key-cache.js';
import { HttpZnService } from './zn-http.js';

/** What a request authenticated with GBA carries (`req.gba`). */
export interface GbaIdentity {
  /** The bootstrapping transaction identifier the UE used as Digest username. */
  btid: string;
  /** The subscriber's private identity, as the BSF gave it over Zn. */
  impi: string;
  /** When the key expires (ISO-8601): the UE must bootstrap again after it. */
  expiresAt: string;
  /** The NAF_Id's Ua security protocol id the key was derived for. */
  uaSecProtId: string;
  /** The LwM2M-style endpoint name, when `endpointOf` is given (the NAF's endpoint policy). */
  endpoint?: string;
}

export type UaOutcome =
  | 'ok'
  | 'challenge'
  | 'stale_nonce'
  | 'wrong_response'
  | 'btid_unknown'
  | 'malformed'
  | 'bsf_unavailable'
  | 'forbidden';
export const UA_OUTCOMES: readonly UaOutcome[] = [
  'ok',
  'challenge',
  'stale_nonce',
  'wrong_response',
  'btid_unknown',
  'malformed',
  'bsf_unavailable',
  'forbidden',
];

/** A refusal: the HTTP answer (problem+json, with a fresh challenge on 401). */
export interface GbaRefusal {
  kind: 'refused';
  outcome: Exclude<UaOutcome, 'ok'>;
  status: number;
  headers: Record<string, string>;
  problem: { title: string; status: number; detail: string; cause?: string };
}

export interface GbaSuccess {
  kind: 'ok';
  identity: GbaIdentity;
  entry: NafKeyEntry;
  /** Authentication-Info for the exact response body (rspauth; RFC 7616 §3.5). */
  authenticationInfo(responseBody: Uint8Array | string): string;
}

export interface GbaAuthenticatorOptions {
  fqdn: string;
  /** Ks_NAF for B-TID and NAF_Id = fqdn ‖ Ua id (Zn, through the key cache). */
  key: (btid: string, fqdn: string, uaSecProtId: string) => Promise<NafKeyEntry>;
  nonces: NonceStore;
  nonceTtlMs?: number;
  /** qop values offered (default auth-int, auth; the NAF's device endpoint offers auth-int only, as C3 says). */
  qop?: ReadonlyArray<'auth-int' | 'auth'>;
  endpointOf?: (impi: string) => string;
  /** Called when the Zn request failed (for the log); never with key material. */
  onZnError?: (err: Error) => void;
}

export interface DigestRequestLike {
  method: string;
  /** The request-target as received. */
  uri: string;
  authorization: string | undefined;
  body?: Uint8Array | string;
}

export class GbaAuthenticator {
  readonly realm: string;
  readonly #opaque: string;
  readonly #digest: DigestServer;

  constructor(readonly o: GbaAuthenticatorOptions) {
    this.realm = `3GPP-bootstrapping@${o.fqdn}`;
    // Stable across instances, so any instance accepts what another challenged with.
    this.#opaque = createHash('sha256').update(this.realm).digest('base64url').slice(0, 22);
    this.#digest = new DigestServer({ realm: this.realm, maxUsernameLength: 512 });
  }

  /** Verifies the request's GBA Digest credentials for Ua id `uaSecProtId`. */
  async authenticate(req: DigestRequestLike, uaSecProtId: string = UA_HTTP_DIGEST): Promise<GbaSuccess | GbaRefusal> {
    const o = this.o;
    let entry: NafKeyEntry | undefined;
    let verdict;
    try {
      verdict = await this.#digest.verify(
        { method: req.method, uri: req.uri, authorization: req.authorization, body: req.body ?? '' },
        {
          consumeNonce: async (nonce) => ((await o.nonces.consume(nonce)) ? true : undefined),
          password: async (_s, c) => {
            // password = base64(Ks_NAF) as ASCII (TS 24.109 §5.2.3.2), NAF_Id = FQDN ‖ Ua id (TS 33.220 Annex H).
            entry = await o.key(c.username, o.fqdn, uaSecProtId);
            return Buffer.from(entry.keyHex, 'hex').toString('base64');
          },
        },
      );
    } catch (err) {
      if (err instanceof BtidUnknown)
        return this.challenge('btid_unknown', 'unknown or expired B-TID: bootstrap again (TS 24.109 §5.2.2)');
      if (err instanceof PeerUnavailable) {
        o.onZnError?.(err);
        return refusal('bsf_unavailable', problems.unavailable('the BSF did not answer on Zn; retry later'));
      }
      if (err instanceof NafNotAuthorized) {
        o.onZnError?.(err);
        return refusal(
          'bsf_unavailable',
          problems.unavailable(`the BSF does not give this NAF keys for ${o.fqdn}; check its Zn token (bsf.nafs)`),
        );
      }
      throw err;
    }
    switch (verdict.kind) {
      case 'none':
        return this.challenge('challenge', 'GBA authentication required (TS 24.109 §5.2)');
      case 'malformed':
        return refusal('malformed', problems.badRequest(verdict.detail));
      case 'wrong_realm':
        return this.challenge('stale_nonce', verdict.detail);
      case 'stale_nonce':
        return this.challenge('stale_nonce', 'nonce unknown, used or expired');
      case 'wrong_response':
      case 'empty_password':
        return this.challenge('wrong_response', 'wrong digest response (a wrong key, or a key for another NAF)');
      case 'ok':
        break;
    }
    const e = entry!;
    if (e.expiresAtMs <= Date.now()) return this.challenge('btid_unknown', 'the key has expired: bootstrap again');
    const credentials: DigestCredentials = verdict.credentials;
    const ha1 = verdict.ha1;
    const identity: GbaIdentity = {
      btid: verdict.username,
      impi: e.impi,
      expiresAt: new Date(e.expiresAtMs).toISOString(),
      uaSecProtId,
      ...(o.endpointOf ? { endpoint: o.endpointOf(e.impi) } : {}),
    };
    return {
      kind: 'ok',
      identity,
      entry: e,
      authenticationInfo: (body) => this.#digest.authenticationInfo(credentials, ha1, body),
    };
  }

  /** 401 with a fresh single-use nonce. */
  async challenge(outcome: Exclude<UaOutcome, 'ok'>, detail: string): Promise<GbaRefusal> {
    const nonce = randomBytes(24).toString('base64');
    await this.o.nonces.create(nonce, this.o.nonceTtlMs ?? 60_000);
    const qop = (this.o.qop ?? ['auth-int', 'auth']).join(',');
    const challenge = formatDigest([
      ['realm', this.realm, true],
      ['nonce', nonce, true],
      ['qop', qop, true],
      ['algorithm', 'MD5', false],
      ['opaque', this.#opaque, true],
    ]);
    const r = refusal(outcome, problems.unauthorized(detail, challenge));
    r.headers['Cache-Control'] = 'no-store';
    return r;
  }
}

function refusal(outcome: Exclude<UaOutcome, 'ok'>, e: HttpError): GbaRefusal {
  return {
    kind: 'refused',
    outcome,
    status: e.status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...e.headers },
    problem: {
      title: e.title,
      status: e.status,
      detail: e.detail,
      ...(e.problemCause ? { cause: e.problemCause } : {}),
    },
  };
}

/** The Ua id of a request: fixed by the options, else by the connection (TS 33.222 §5.3 inside TLS). */
export function uaIdOfRequest(req: IncomingMessage, fixed?: string): string | undefined {
  if (fixed) return fixed;
  const s = req.socket as Partial<TLSSocket>;
  if (!s.encrypted) return UA_HTTP_DIGEST;
  return uaIdOfNegotiatedSuite(s.getCipher?.()?.standardName, s.getProtocol?.());
}

// ---------------------------------------------------------------------------------------------------------
// Express middleware

export interface GbaAuthOptions {
  /** The BSF's Zn (N66) base URL, e.g. http://127.0.0.1:8081/nbsp-gba/v1 (endpoints.json bsf.zn). */
  znUrl?: string;
  /** This application's Zn bearer token (bsf.nafs, or `gba-sim naf add-app --fqdn <fqdn>`). */
  znToken?: string;
  /** Any Zn binding instead of znUrl/znToken (e.g. the Diameter client of naf/zn-diameter.ts). */
  zn?: ZnService;
  /** This application's FQDN: the realm 3GPP-bootstrapping@<fqdn> and the NAF_Id, whatever Host says. */
  fqdn: string;
  /**
   * Ua security protocol id of the key (default: 0100000002 on plain HTTP, 01 00 01 yy zz of the negotiated
   * suite when the request came over TLS 1.2, TS 33.222 §5.3).
   */
  uaSecProtId?: string;
  /** Where single-use nonces and cached keys live (default: this process's memory). */
  store?: { nonces?: NonceStore; nafKeys?: NafKeyCache };
  nonceTtlSec?: number;
  /** Adds `endpoint` to req.gba (e.g. the NAF's endpoint policy, naf/endpoint-policy.ts). */
  endpointOf?: (impi: string) => string;
  /** 403 unless this returns true (after authentication). */
  authorize?: (gba: GbaIdentity, req: IncomingMessage) => boolean;
  /** Largest request body read for qop=auth-int (default 1 MiB; more is 413). */
  maxBodyBytes?: number;
  /** Answers a refusal yourself (default: the problem+json with its headers). */
  onFailure?: (failure: GbaRefusal, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
}

type Next = (err?: unknown) => void;
type GbaRequest = IncomingMessage & {
  gba?: GbaIdentity;
  body?: unknown;
  rawBody?: Buffer;
  _body?: boolean;
  originalUrl?: string;
};

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by gbaAuth() on an authenticated request. */
    gba?: GbaIdentity;
  }
}

/** Express (or plain node:http) middleware: `app.use(gbaAuth({ znUrl, znToken, fqdn }))`. */
export function gbaAuth(
  options: GbaAuthOptions,
): ((req: IncomingMessage, res: ServerResponse, next: Next) => void) & { close(): Promise<void> } {
  if (!options.fqdn) throw new TypeError('gbaAuth: fqdn is required');
  if (!options.zn && (!options.znUrl || !options.znToken))
    throw new TypeError('gbaAuth: znUrl and znToken (or zn) are required');
  const zn = options.zn ?? new HttpZnService(options.znUrl!, options.znToken!);
  const keys = new NafKeys({ zn, store: options.store?.nafKeys ?? new MemoryNafKeyCache() });
  const auth = new GbaAuthenticator({
    fqdn: options.fqdn,
    key: (b, f, u) => keys.key(b, f, u),
    nonces: options.store?.nonces ?? new MemoryNonceStore(),
    nonceTtlMs: (options.nonceTtlSec ?? 60) * 1000,
    endpointOf: options.endpointOf,
  });
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const fail = (f: GbaRefusal, req: IncomingMessage, res: ServerResponse, next: Next) => {
    if (options.onFailure) {
      options.onFailure(f, req, res, next);
      return;
    }
    res
      .writeHead(f.status, f.headers)
      .end(JSON.stringify({ ...f.problem, instance: (req as GbaRequest).originalUrl ?? req.url }));
  };
  const middleware = (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const r = req as GbaRequest;
    const run = async () => {
      const uaId = uaIdOfRequest(req, options.uaSecProtId);
      if (!uaId) {
        fail(
          {
            kind: 'refused',
            outcome: 'malformed',
            status: 400,
            headers: { 'Content-Type': PROBLEM_CONTENT_TYPE },
            problem: {
              title: 'Bad Request',
              status: 400,
              detail: 'the TLS suite of this connection has no Ua security protocol id (TS 33.220 Annex H)',
            },
          },
          req,
          res,
          next,
        );
        return;
      }
      const body = await requestBody(r, maxBody);
      if (body === undefined) {
        fail(
          {
            kind: 'refused',
            outcome: 'malformed',
            status: 413,
            headers: { 'Content-Type': PROBLEM_CONTENT_TYPE },
            problem: { title: 'Payload Too Large', status: 413, detail: `body larger than ${maxBody} octets` },
          },
          req,
          res,
          next,
        );
        return;
      }
      // The digest uri is the request-target as the client sent it (RFC 7616 §3.4.6), before any Express mount strips it.
      const v = await auth.authenticate(
        {
          method: req.method ?? 'GET',
          uri: r.originalUrl ?? req.url ?? '/',
          authorization: req.headers.authorization,
          body,
        },
        uaId,
      );
      if (v.kind === 'refused') {
        fail(v, req, res, next);
        return;
      }
      if (options.authorize && !options.authorize(v.identity, req)) {
        fail(
          {
            kind: 'refused',
            outcome: 'forbidden',
            status: 403,
            headers: { 'Content-Type': PROBLEM_CONTENT_TYPE },
            problem: { title: 'Forbidden', status: 403, detail: `${v.identity.impi} may not use this resource` },
          },
          req,
          res,
          next,
        );
        return;
      }
      r.gba = v.identity;
      signResponse(res, (b) => v.authenticationInfo(b));
      next();
    };
    run().catch(next);
  };
  return Object.assign(middleware, { close: () => keys.close() });
}

/**
 * The request body the digest covers (qop=auth-int): `req.rawBody` or a Buffer `req.body` a parser left, or the
 * stream read here. Mount gbaAuth before body parsers (or have them keep req.rawBody): a body parsed into an
 * object before it cannot be hashed exactly, and counts as empty.
 * JSON bodies read here are parsed into req.body (and marked read, so express.json() does not wait for them);
 * others are left as a Buffer in req.body. Undefined when the body is larger than `max`.
 */
async function requestBody(r: GbaRequest, max: number): Promise<Buffer | undefined> {
  if (r.rawBody) return r.rawBody;
  if (Buffer.isBuffer(r.body)) return r.body;
  const te = r.headers['transfer-encoding'];
  const len = Number(r.headers['content-length'] ?? 0);
  if (!te && !len) return Buffer.alloc(0);
  if (len > max) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of r) {
    size += (c as Buffer).length;
    if (size > max) return undefined;
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks);
  r.rawBody = raw;
  r._body = true; // body-parser's "already read" mark
  const ct = String(r.headers['content-type'] ?? '');
  if (/^application\/([a-z.+-]*\+)?json\b/i.test(ct)) {
    try {
      r.body = JSON.parse(raw.toString('utf8'));
    } catch {
      r.body = raw;
    }
  } else r.body = raw;
  return raw;
}

/** Holds the response body back until it ends, then adds Authentication-Info with rspauth over exactly it. */
function signResponse(res: ServerResponse, info: (body: Buffer) => string): void {
  const chunks: Buffer[] = [];
  const origWrite = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const origEnd = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  const toBuf = (chunk: unknown, enc?: unknown): Buffer =>
    Buffer.isBuffer(chunk)
      ? chunk
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk)
        : Buffer.from(String(chunk), typeof enc === 'string' ? (enc as BufferEncoding) : 'utf8');
  // An explicit writeHead would send the head at once: keep its status and headers on the response instead
  // (Node's own implicit head goes through writeHead too, so the original is back before the body leaves).
  const origWriteHead = res.writeHead;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    res.statusCode = status;
    for (const x of rest) {
      if (typeof x === 'string') res.statusMessage = x;
      else if (x && typeof x === 'object' && !Array.isArray(x))
        for (const [k, v] of Object.entries(x)) if (v !== undefined) res.setHeader(k, v as string | number | string[]);
    }
    return res;
  }) as ServerResponse['writeHead'];
  res.write = ((chunk: unknown, enc?: unknown, cb?: unknown) => {
    if (chunk !== undefined && chunk !== null) chunks.push(toBuf(chunk, enc));
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, enc?: unknown, cb?: unknown) => {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    }
    if (typeof enc === 'function') {
      cb = enc;
      enc = undefined;
    }
    if (chunk !== undefined && chunk !== null) chunks.push(toBuf(chunk, enc));
    const body = Buffer.concat(chunks);
    res.writeHead = origWriteHead;
    if (!res.headersSent) {
      // HEAD: no body is sent; rspauth covers the empty entity (RFC 7616 §3.5 takes the message body).
      const head = res.req?.method === 'HEAD';
      res.setHeader('Authentication-Info', info(head ? Buffer.alloc(0) : body));
      if (!head && res.getHeader('content-length') !== undefined) res.setHeader('Content-Length', body.length);
    }
    if (body.length) origWrite(body);
    return origEnd(...(typeof cb === 'function' ? [cb] : []));
  }) as ServerResponse['end'];
}
