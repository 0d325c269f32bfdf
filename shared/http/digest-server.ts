/**
 * The server side of one HTTP Digest exchange (RFC 7616 §3.4–3.5, RFC 2617 §3.2.2–3.2.3), shared by Ub (AKA,
 * RFC 3310; bsf/ub.ts), Ua (GBA Digest, TS 24.109 clause 5; naf/ua.ts) and any middleware guarding a NAF
 * resource. It does what every Digest server does alike — parameter checks, single-use nonce consumption,
 * the response check, the RFC 3310 §3.3 empty-password (MAC failure) detection and Authentication-Info — and
 * leaves to its caller what differs: where nonces live, where the password comes from, and the HTTP answer.
 *
 * Steps, each usable alone (Ub runs them one by one, around its resynchronisation branch):
 *   credentials()  parse Authorization and check its parameters against the request
 *   check()        compare the response with the one the password gives
 *   authenticationInfo()  the Authentication-Info header over the exact response body
 * and verify(), the whole flow with a nonce store and a password source as callbacks.
 */
import { computeRspauth, requestDigest, type DigestInput, type Qop } from '../crypto/digest.js';
import { secretEqualString } from '../bytes.js';
import { DecodeError } from '../errors.js';
import { formatParams, parseDigestCredentials, type AuthParams, type ParamOut } from '../wire/digest-header.js';

export interface DigestRequest {
  method: string;
  /** The request-target as received; the digest uri must equal it (RFC 7616 §3.4.6). */
  uri: string;
  authorization: string | undefined;
  /** The request body, covered by qop=auth-int (empty when absent). */
  body?: Uint8Array | string;
}

/** Credentials that passed the parameter checks. */
export interface DigestCredentials {
  params: AuthParams;
  username: string;
  nonce: string;
  response: string;
  qop?: Qop;
  nc?: string;
  cnonce?: string;
  /** The inputs of the digest computation, without the password. */
  input: Omit<DigestInput, 'password'>;
}

export type CredentialsResult =
  /** No Authorization, or (when allowed) one without a nonce: the client asks to be challenged. */
  | { kind: 'none'; username?: string }
  /** 400: the credentials cannot be checked; detail says why. */
  | { kind: 'malformed'; detail: string; username?: string }
  /** The realm is not ours (a stale or foreign challenge). */
  | { kind: 'wrong_realm'; detail: string; username: string }
  | { kind: 'ok'; credentials: DigestCredentials };

export type CheckResult =
  | { kind: 'ok'; ha1: string }
  /** RFC 3310 §3.3: the response was computed with the empty password (the client could not authenticate us). */
  | { kind: 'empty_password' }
  | { kind: 'wrong_response' };

export interface DigestServerOptions {
  realm: string;
  /** Credentials without a nonce ask for a challenge (Ub's first request, TS 24.109 §4.4.1); otherwise malformed. */
  nonceOptional?: boolean;
  /** Longest username accepted (default 255: an IMPI, RFC 4282 §2.2, or a B-TID). */
  maxUsernameLength?: number;
  /**
   * Whether uri and response must be non-empty (default) or merely present. Ub's first request carries
   * response="" (TS 24.109 §4.4.1), so Ub only asks them to be present.
   */
  emptyValues?: 'refuse' | 'allow';
  /** Also detect the RFC 3310 §3.3 empty password in check() (AKA only). */
  detectEmptyPassword?: boolean;
}

export type DigestVerdict<S> =
  | (CredentialsResult & { kind: 'none' | 'malformed' | 'wrong_realm' })
  /** The nonce is unknown, used or expired (or not the user's): challenge afresh. */
  | { kind: 'stale_nonce'; username: string }
  | { kind: 'wrong_response'; username: string; state: S }
  | { kind: 'empty_password'; username: string; state: S }
  | { kind: 'ok'; username: string; state: S; credentials: DigestCredentials; ha1: string };

export interface DigestVerifyHooks<S> {
  /** Consumes the nonce atomically (single use at any instance); the state behind it, or undefined when stale. */
  consumeNonce(nonce: string, c: DigestCredentials): Promise<S | undefined>;
  /** The password for the user; may throw (the caller maps its own errors, e.g. an unknown B-TID). */
  password(state: S, c: DigestCredentials): Promise<Uint8Array | string> | Uint8Array | string;
}

export class DigestServer {
  constructor(readonly o: DigestServerOptions) {}

  get realm(): string {
    return this.o.realm;
  }

  credentials(req: DigestRequest): CredentialsResult {
    if (!req.authorization) return { kind: 'none' };
    let p: AuthParams;
    try {
      p = parseDigestCredentials(req.authorization);
    } catch (err) {
      if (err instanceof DecodeError) return { kind: 'malformed', detail: err.message };
      throw err;
    }
    const username = p.get('username');
    if (!username) return { kind: 'malformed', detail: 'Authorization: username is missing or empty' };
    const max = this.o.maxUsernameLength ?? 255;
    if (username.length > max)
      return { kind: 'malformed', detail: `username longer than ${max} characters`, username: username.slice(0, 64) };
    const nonce = p.get('nonce');
    if (!nonce && this.o.nonceOptional) return { kind: 'none', username };
    const given = (n: string): boolean => (this.o.emptyValues === 'allow' && n !== 'nonce' ? p.has(n) : !!p.get(n));
    const qop = p.get('qop');
    const missing = ['nonce', 'uri', 'response', ...(qop !== undefined ? ['nc', 'cnonce'] : [])].filter(
      (n) => !given(n),
    );
    if (missing.length) return { kind: 'malformed', detail: `Authorization lacks ${missing.join(', ')}`, username };
    if (qop !== undefined && qop !== 'auth' && qop !== 'auth-int') {
      return { kind: 'malformed', detail: `qop ${qop} is not offered; use auth-int or auth`, username };
    }
    const nc = p.get('nc');
    if (qop !== undefined && !/^[0-9a-fA-F]{8}$/.test(nc!))
      return { kind: 'malformed', detail: 'nc must be 8 hex digits (RFC 7616 §3.4)', username };
    if (p.get('uri') !== req.uri) {
      return {
        kind: 'malformed',
        detail: `digest uri ${JSON.stringify(p.get('uri'))} does not match the request URI ${JSON.stringify(req.uri)} (RFC 7616 §3.4.6)`,
        username,
      };
    }
    if (p.get('realm') !== this.o.realm)
      return { kind: 'wrong_realm', detail: `realm must be ${this.o.realm}`, username };
    const c: DigestCredentials = {
      params: p,
      username,
      nonce: nonce!,
      response: p.get('response')!.toLowerCase(),
      qop: qop as Qop | undefined,
      nc,
      cnonce: p.get('cnonce'),
      input: {
        username,
        realm: this.o.realm,
        nonce: nonce!,
        nc,
        cnonce: p.get('cnonce'),
        qop: qop as Qop | undefined,
        method: req.method,
        uri: req.uri,
        body: req.body,
      },
    };
    return { kind: 'ok', credentials: c };
  }

  /** The response check, in constant time; with detectEmptyPassword, tells a MAC failure from a wrong password. */
  check(c: DigestCredentials, password: Uint8Array | string): CheckResult {
    const expected = requestDigest({ ...c.input, password });
    if (secretEqualString(c.response, expected.response)) return { kind: 'ok', ha1: expected.ha1 };
    if (
      this.o.detectEmptyPassword &&
      secretEqualString(c.response, requestDigest({ ...c.input, password: Buffer.alloc(0) }).response)
    ) {
      return { kind: 'empty_password' };
    }
    return { kind: 'wrong_response' };
  }

  /** Authentication-Info (RFC 7616 §3.5): rspauth over the exact response body, with qop, cnonce and nc echoed. */
  authenticationInfo(c: DigestCredentials, ha1: string, responseBody: Uint8Array | string): string {
    const info: ParamOut[] = [];
    if (c.qop) info.push(['qop', c.qop, false]);
    info.push(['rspauth', computeRspauth(ha1, c.input, responseBody), true]);
    if (c.qop) info.push(['cnonce', c.cnonce!, true], ['nc', c.nc!, false]);
    return formatParams(info);
  }

  /** The whole flow: credentials, nonce consumption, password, response check. */
  async verify<S>(req: DigestRequest, hooks: DigestVerifyHooks<S>): Promise<DigestVerdict<S>> {
    const r = this.credentials(req);
    if (r.kind !== 'ok') return r;
    const c = r.credentials;
    const state = await hooks.consumeNonce(c.nonce, c);
    if (state === undefined) return { kind: 'stale_nonce', username: c.username };
    const checked = this.check(c, await hooks.password(state, c));
    if (checked.kind === 'ok') return { kind: 'ok', username: c.username, state, credentials: c, ha1: checked.ha1 };
    return { kind: checked.kind, username: c.username, state };
  }
}
