/**
 * The client side of one HTTP Digest exchange (RFC 7616 §3.4–3.5, RFC 2617 §3.2.2–3.2.3), shared by the Ub
 * client (AKA passwords, RFC 3310 / RFC 4169; device/ub-client.ts) and the Ua client (GBA Digest, password
 * base64(Ks_NAF), TS 24.109 §5.2.3.2; device/ua-client.ts): choose qop, build the Authorization header for a
 * password, and check rspauth in Authentication-Info over the exact response body.
 */
import { randomBytes } from 'node:crypto';
import { computeRspauth, requestDigest, type DigestInput, type Qop } from '../shared/crypto/digest.js';
import { DecodeError } from '../shared/errors.js';
import {
  formatDigest,
  parseAuthenticationInfo,
  parseChallenges,
  type AuthParams,
  type ParamOut,
} from '../shared/wire/digest-header.js';

/** The first Digest challenge in a WWW-Authenticate header that `accept` takes, or undefined. */
export function findDigestChallenge(
  header: string | undefined,
  accept: (p: AuthParams) => boolean = () => true,
): AuthParams | undefined {
  if (!header) return undefined;
  return parseChallenges(header).find((c) => c.scheme.toLowerCase() === 'digest' && accept(c.params))?.params;
}

/** RFC 7616 §3.3: the client picks one qop the server offered; auth-int (which covers the body) first. */
export function chooseQop(offered: string | undefined): Qop | undefined {
  const qops = (offered ?? '').split(',').map((q) => q.trim());
  return qops.includes('auth-int') ? 'auth-int' : qops.includes('auth') ? 'auth' : undefined;
}

export interface DigestAnswerOptions {
  username: string;
  method: string;
  uri: string;
  /** The realm to use when the challenge names none. */
  realm?: string;
  /** The algorithm echoed in the credentials (the challenge's, by default). */
  algorithm: string;
}

/** What rspauth checking found: verified, absent (no Authentication-Info or no rspauth), or a mismatch. */
export type RspauthResult = 'verified' | 'absent' | 'mismatch';

/** One answer to one challenge: nc 00000001 and a fresh cnonce. */
export class DigestAnswer {
  readonly realm: string;
  readonly nonce: string;
  readonly qop: Qop | undefined;
  readonly input: Omit<DigestInput, 'password'>;

  constructor(
    readonly challenge: AuthParams,
    readonly o: DigestAnswerOptions,
  ) {
    this.realm = challenge.get('realm') ?? o.realm ?? '';
    this.nonce = challenge.get('nonce') ?? '';
    this.qop = chooseQop(challenge.get('qop'));
    const cnonce = randomBytes(8).toString('hex');
    this.input = {
      username: o.username,
      realm: this.realm,
      nonce: this.nonce,
      nc: '00000001',
      cnonce,
      qop: this.qop,
      method: o.method,
      uri: o.uri,
    };
  }

  /** The Authorization header for `password` (extra parameters, e.g. auts, go last), and HA1 for rspauth. */
  authorization(password: Uint8Array | string, extra: ParamOut[] = []): { header: string; ha1: string } {
    const d = requestDigest({ ...this.input, password });
    const p: ParamOut[] = [
      ['username', this.o.username, true],
      ['realm', this.realm, true],
      ['nonce', this.nonce, true],
      ['uri', this.o.uri, true],
    ];
    if (this.qop) p.push(['qop', this.qop, false], ['nc', this.input.nc!, false], ['cnonce', this.input.cnonce!, true]);
    p.push(['response', d.response, true]);
    if (this.challenge.has('opaque')) p.push(['opaque', this.challenge.get('opaque')!, true]);
    p.push(['algorithm', this.o.algorithm, false], ...extra);
    return { header: formatDigest(p), ha1: d.ha1 };
  }

  /** RFC 7616 §3.5: rspauth over the exact response body authenticates the server. */
  checkRspauth(authenticationInfo: string | undefined, ha1: string, responseBody: Uint8Array | string): RspauthResult {
    if (!authenticationInfo) return 'absent';
    let rspauth: string | undefined;
    try {
      rspauth = parseAuthenticationInfo(authenticationInfo).get('rspauth');
    } catch (err) {
      if (err instanceof DecodeError) return 'mismatch';
      throw err;
    }
    if (rspauth === undefined) return 'absent';
    return rspauth.toLowerCase() === computeRspauth(ha1, this.input, responseBody) ? 'verified' : 'mismatch';
  }
}
