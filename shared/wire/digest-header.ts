/**
 * HTTP authentication header syntax for Digest (RFC 7235 §2.1, §4.1–4.2; RFC 7615; RFC 7616 §3.3–3.5).
 *
 *   credentials         = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   WWW-Authenticate    = 1#challenge ; challenge has the same shape as credentials
 *   Authentication-Info = #auth-param
 *   auth-param          = token BWS "=" BWS ( token / quoted-string )
 *   quoted-string       = DQUOTE *( qdtext / quoted-pair ) DQUOTE
 *   quoted-pair         = "\" ( HTAB / SP / VCHAR / obs-text )
 *
 * Parameter names match case-insensitively and may occur once (RFC 7235 §2.1); they come back lower-cased.
 * Empty list elements (a stray comma) are rejected: no client we interoperate with sends them, and a
 * strict parser makes a malformed header visible to the lab engineer instead of guessing.
 */
import { DecodeError } from '../errors.js';

export const MAX_HEADER_LENGTH = 4096;
export const MAX_PARAMS = 32;

export type AuthParams = Map<string, string>;
export interface AuthItem {
  scheme: string;
  params: AuthParams;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

class Scanner {
  pos = 0;
  constructor(
    readonly s: string,
    readonly format: string,
  ) {}
  fail(reason: string): never {
    throw new DecodeError(this.format, reason, this.pos);
  }
  atEnd(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  token(what: string): string {
    const start = this.pos;
    while (!this.atEnd() && TCHAR.test(this.peek())) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}`);
    return this.s.slice(start, this.pos);
  }
  expect(c: string): void {
    if (this.peek() !== c) this.fail(this.atEnd() ? `expected '${c}' but the header ended` : `expected '${c}'`);
    this.pos++;
  }
  quotedString(): string {
    this.expect('"');
    let out = '';
    for (;;) {
      if (this.atEnd()) this.fail('unterminated quoted string');
      const c = this.s[this.pos++]!;
      if (c === '"') return out;
      if (c === '\\') {
        if (this.atEnd()) this.fail('unterminated quoted string');
        const e = this.s[this.pos++]!;
        if (!isQuotedPairChar(e)) this.fail('invalid escaped character');
        out += e;
        continue;
      }
      if (!isQdtext(c)) this.fail('invalid character in quoted string');
      out += c;
    }
  }
}

const isQdtext = (c: string): boolean => {
  const x = c.charCodeAt(0);
  return (
    x === 0x09 ||
    x === 0x20 ||
    x === 0x21 ||
    (x >= 0x23 && x <= 0x5b) ||
    (x >= 0x5d && x <= 0x7e) ||
    (x >= 0x80 && x <= 0xff)
  );
};
const isQuotedPairChar = (c: string): boolean => {
  const x = c.charCodeAt(0);
  return x === 0x09 || (x >= 0x20 && x <= 0x7e) || (x >= 0x80 && x <= 0xff);
};

function checkLength(header: string, format: string): void {
  if (header.length > MAX_HEADER_LENGTH)
    throw new DecodeError(format, `header longer than ${MAX_HEADER_LENGTH} characters`);
}

/**
 * Reads `#auth-param` until the end or, when `stopAtScheme`, until the next challenge begins
 * (a token followed by SP and not by "=").
 */
function readParams(sc: Scanner, stopAtScheme: boolean): AuthParams {
  const params: AuthParams = new Map();
  for (;;) {
    sc.skipWs();
    if (sc.atEnd()) sc.fail(params.size === 0 ? 'expected a parameter' : 'empty list element');
    const save = sc.pos;
    const name = sc.token('a parameter name').toLowerCase();
    sc.skipWs();
    if (sc.peek() !== '=') {
      if (stopAtScheme && params.size > 0) {
        sc.pos = save;
        return params;
      }
      sc.fail(`expected '=' after '${name}'`);
    }
    sc.pos++;
    sc.skipWs();
    const value = sc.peek() === '"' ? sc.quotedString() : sc.token(`a value for '${name}'`);
    if (params.has(name)) sc.fail(`duplicate parameter '${name}'`);
    if (params.size >= MAX_PARAMS) sc.fail(`more than ${MAX_PARAMS} parameters`);
    params.set(name, value);
    sc.skipWs();
    if (sc.atEnd()) return params;
    sc.expect(',');
  }
}

function readScheme(sc: Scanner): string {
  const scheme = sc.token('an auth-scheme');
  if (sc.peek() !== ' ') sc.fail('expected SP after the auth-scheme');
  return scheme;
}

/** Authorization: one set of credentials. */
export function parseCredentials(header: string, format = 'Authorization'): AuthItem {
  checkLength(header, format);
  const sc = new Scanner(header, format);
  sc.skipWs();
  const scheme = readScheme(sc);
  return { scheme, params: readParams(sc, false) };
}

/** Authorization with the Digest scheme (scheme name matched case-insensitively). */
export function parseDigestCredentials(header: string): AuthParams {
  const { scheme, params } = parseCredentials(header);
  if (scheme.toLowerCase() !== 'digest') throw new DecodeError('Authorization', `scheme is ${scheme}, not Digest`);
  return params;
}

/** WWW-Authenticate: one or more challenges (token68 forms are not used by Digest and are rejected). */
export function parseChallenges(header: string, format = 'WWW-Authenticate'): AuthItem[] {
  checkLength(header, format);
  const sc = new Scanner(header, format);
  const out: AuthItem[] = [];
  sc.skipWs();
  for (;;) {
    const scheme = readScheme(sc);
    out.push({ scheme, params: readParams(sc, true) });
    if (sc.atEnd()) return out;
  }
}

/** Authentication-Info (RFC 7615): a bare parameter list. */
export function parseAuthenticationInfo(header: string): AuthParams {
  checkLength(header, 'Authentication-Info');
  return readParams(new Scanner(header, 'Authentication-Info'), false);
}

/** A parameter to serialise; `quoted` picks quoted-string over token (RFC 7616 §3.3–3.5 say which). */
export type ParamOut = readonly [name: string, value: string, quoted: boolean];

const quote = (v: string): string => `"${v.replace(/(["\\])/g, '\\$1')}"`;

export function formatParams(params: readonly ParamOut[]): string {
  return params
    .map(([n, v, q]) => {
      if (!q && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v)) throw new RangeError(`'${n}' value is not a token`);
      return `${n}=${q ? quote(v) : v}`;
    })
    .join(', ');
}

export const formatDigest = (params: readonly ParamOut[]): string => `Digest ${formatParams(params)}`;
