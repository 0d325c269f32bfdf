/**
 * The UE side of Ub as the conformance runner needs it: each step a plain function, so a case can stop after
 * any of them, alter what it sends, and look at exactly what came back (TS 24.109 §4.4, Annex A; RFC 3310;
 * RFC 2617). The runner computes its own expectations from the subscriber's K/OPc with a software USIM; it
 * never takes the BSF's word for anything.
 */
import { randomBytes } from 'node:crypto';
import { akaPassword, computeRspauth, requestDigest, type Qop } from '../shared/crypto/digest.js';
import {
  formatDigest,
  parseAuthenticationInfo,
  parseChallenges,
  type AuthParams,
  type ParamOut,
} from '../shared/wire/digest-header.js';
import type { AuthenticateResult } from '../device/usim.js';
import { describe, header, type HttpClient, type Reply } from './http.js';

/** A case's verdict other than pass: thrown from a case body. */
export class CaseFail extends Error {}
export class CaseSkip extends Error {}
export const fail = (detail: string): never => {
  throw new CaseFail(detail);
};

export interface UsimLike {
  authenticate(rand: Uint8Array, autn: Uint8Array): AuthenticateResult;
}

export interface UeContext {
  http: HttpClient;
  impi: string;
  /** The realm the UE puts in its first request: the BSF domain of its home network (TS 24.109 §4.4.1). */
  realm: string;
  /** Request-URI of the Ub URL (path and query), also the digest uri. */
  uri: string;
}

export interface Challenge {
  reply: Reply;
  params: AuthParams;
  realm: string;
  nonce: string;
  rand: Buffer;
  autn: Buffer;
  algorithm: 'AKAv1-MD5' | 'AKAv2-MD5';
  /** The qop the UE picks: auth-int when offered (RFC 3310 §3.1), else auth, else none. */
  qop: Qop | undefined;
}

const UA = 'gba-sim-conform; 3gpp-gba';

/** The first request of TS 24.109 §4.4.1: username = IMPI, empty nonce and response. */
export function initialAuthorization(impi: string, realm: string, uri: string): string {
  return formatDigest([
    ['username', impi, true],
    ['realm', realm, true],
    ['nonce', '', true],
    ['uri', uri, true],
    ['response', '', true],
  ]);
}

export function send(ctx: UeContext, authorization: string | undefined): Promise<Reply> {
  const h: Record<string, string> = { 'user-agent': UA, accept: '*/*' };
  if (authorization !== undefined) h.authorization = authorization;
  return ctx.http.get(h);
}

/**
 * Reads the Digest AKA challenge of a 401; a problem (not 401, no Digest challenge, a nonce that is not
 * base64 of 32 octets) is a failure naming what was expected and what came back.
 */
export function readChallenge(r: Reply, what = 'the initial request'): Challenge {
  if (r.status !== 401) fail(`${what}: expected 401 with a Digest AKA challenge, got ${describe(r)}`);
  const h = header(r, 'www-authenticate');
  if (!h) fail(`${what}: 401 without WWW-Authenticate`);
  let items;
  try {
    items = parseChallenges(h!);
  } catch (err) {
    return fail(`${what}: WWW-Authenticate does not parse (${(err as Error).message}): ${h!.slice(0, 200)}`);
  }
  const c = items.find((x) => x.scheme.toLowerCase() === 'digest');
  if (!c) return fail(`${what}: no Digest challenge in WWW-Authenticate: ${h!.slice(0, 200)}`);
  const p = c.params;
  const nonce = p.get('nonce') ?? '';
  const raw = Buffer.from(nonce, 'base64');
  if (!nonce || raw.length !== 32 || raw.toString('base64') !== nonce)
    fail(
      `${what}: nonce must be base64 of 32 octets (RAND ‖ AUTN), got ${JSON.stringify(nonce.slice(0, 80))} (${raw.length} octets)`,
    );
  const alg = (p.get('algorithm') ?? 'AKAv1-MD5').toUpperCase();
  const algorithm = alg === 'AKAV2-MD5' ? 'AKAv2-MD5' : 'AKAv1-MD5';
  const qops = (p.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qop: Qop | undefined = qops.includes('auth-int') ? 'auth-int' : qops.includes('auth') ? 'auth' : undefined;
  return {
    reply: r,
    params: p,
    realm: p.get('realm') ?? '',
    nonce,
    rand: raw.subarray(0, 16),
    autn: raw.subarray(16, 32),
    algorithm,
    qop,
  };
}

export interface Answer {
  authorization: string;
  ha1: string;
  cnonce: string;
  nc: string;
}

/**
 * The Authorization answering `ch` with `password` (RES for AKAv1-MD5, RFC 3310 §3.2; empty for a MAC failure
 * report, §3.3, or a resynchronisation, §3.4, which adds `auts`).
 */
export function answer(
  ctx: UeContext,
  ch: Challenge,
  password: Uint8Array,
  extra: ParamOut[] = [],
  responseOverride?: string,
): Answer {
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const d = requestDigest({
    username: ctx.impi,
    realm: ch.realm,
    password,
    nonce: ch.nonce,
    nc,
    cnonce,
    qop: ch.qop,
    method: 'GET',
    uri: ctx.uri,
  });
  const p: ParamOut[] = [
    ['username', ctx.impi, true],
    ['realm', ch.realm, true],
    ['nonce', ch.nonce, true],
    ['uri', ctx.uri, true],
  ];
  if (ch.qop) p.push(['qop', ch.qop, false], ['nc', nc, false], ['cnonce', cnonce, true]);
  p.push(['response', responseOverride ?? d.response, true]);
  if (ch.params.has('opaque')) p.push(['opaque', ch.params.get('opaque')!, true]);
  p.push(['algorithm', ch.algorithm, false], ...extra);
  return { authorization: formatDigest(p), ha1: d.ha1, cnonce, nc };
}

export interface Bootstrapped {
  /** The challenge that was answered successfully (after any resynchronisation). */
  challenge: Challenge;
  answer: Answer;
  final: Reply;
  ck: Buffer;
  ik: Buffer;
  res: Buffer;
  sqn?: number;
  /** B-TID and lifetime as written in the body, read leniently (UB-03 checks the document strictly). */
  btid?: string;
  lifetime?: string;
  resynchronised: boolean;
}

/** The text of `<name>` (any namespace prefix) in a BootstrappingInfo body, leniently. */
export function elementText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[A-Za-z_][\\w.-]*:)?${name}>`).exec(
    xml,
  );
  return m?.[1]?.trim();
}

/**
 * A whole bootstrap as a device does it: initial request, challenge, the USIM's answer; a synchronisation
 * failure is resolved with AUTS (at most twice) so that a case about something else is not failed by the SQN
 * state another case left at the HSS. Every deviation is a failure with the evidence.
 */
export async function bootstrap(ctx: UeContext, usim: UsimLike, what = 'bootstrap'): Promise<Bootstrapped> {
  let r = await send(ctx, initialAuthorization(ctx.impi, ctx.realm, ctx.uri));
  let resynchronised = false;
  for (let round = 0; round < 3; round++) {
    const ch = readChallenge(r, round === 0 ? `${what}: initial request` : `${what}: after AUTS`);
    const a = usim.authenticate(ch.rand, ch.autn);
    if (a.kind === 'mac_failure')
      fail(
        `${what}: the software USIM rejects the challenge: MAC-A in AUTN does not verify under the subscriber's K/OPc`,
      );
    if (a.kind === 'sync_failure') {
      resynchronised = true;
      r = await send(ctx, answer(ctx, ch, Buffer.alloc(0), [['auts', a.auts.toString('base64'), true]]).authorization);
      continue;
    }
    const ok = a as Extract<AuthenticateResult, { kind: 'ok' }>;
    const ans = answer(ctx, ch, akaPassword(ch.algorithm, ok.res, ok.ck, ok.ik));
    const final = await send(ctx, ans.authorization);
    if (final.status !== 200) {
      fail(
        `${what}: the correct response (${ch.algorithm}, RES of ${ok.res.length} octets, qop ${ch.qop ?? 'none'}) should get 200, got ${describe(final)}` +
          (final.status === 401
            ? ' — the BSF did not accept the RES the USIM computed (does it expect another RES/XRES length?)'
            : ''),
      );
    }
    return {
      challenge: ch,
      answer: ans,
      final,
      ck: ok.ck,
      ik: ok.ik,
      res: ok.res,
      sqn: ok.sqn,
      btid: elementText(final.body, 'btid'),
      lifetime: elementText(final.body, 'lifetime'),
      resynchronised,
    };
  }
  return fail(`${what}: still no usable challenge after two resynchronisations (AUTS): ${describe(r)}`);
}

/** rspauth of the 200's Authentication-Info (RFC 2617 §3.2.3, RFC 3310 §3.4), or why it cannot be checked. */
export function checkRspauth(
  ctx: UeContext,
  b: Bootstrapped,
): { present: false } | { present: true; ok: boolean; detail: string } {
  const info = header(b.final, 'authentication-info');
  if (!info) return { present: false };
  let p: AuthParams;
  try {
    p = parseAuthenticationInfo(info);
  } catch (err) {
    return {
      present: true,
      ok: false,
      detail: `Authentication-Info does not parse (${(err as Error).message}): ${info.slice(0, 200)}`,
    };
  }
  const got = p.get('rspauth');
  if (!got) return { present: true, ok: false, detail: `Authentication-Info without rspauth: ${info.slice(0, 200)}` };
  const qop = p.get('qop');
  if (qop !== undefined && b.challenge.qop && qop.toLowerCase() !== b.challenge.qop)
    return { present: true, ok: false, detail: `Authentication-Info qop=${qop}, the request used ${b.challenge.qop}` };
  const want = computeRspauth(
    b.answer.ha1,
    { nonce: b.challenge.nonce, nc: b.answer.nc, cnonce: b.answer.cnonce, qop: b.challenge.qop, uri: ctx.uri },
    b.final.body,
  );
  if (got.toLowerCase() !== want)
    return {
      present: true,
      ok: false,
      detail: `rspauth ${got} does not verify: expected ${want} (qop ${b.challenge.qop ?? 'none'}, over the ${Buffer.byteLength(b.final.body)}-octet response body)`,
    };
  return { present: true, ok: true, detail: `rspauth verifies (qop ${b.challenge.qop ?? 'none'})` };
}
