/**
 * Ub: bootstrapping with HTTP Digest AKA, TS 24.109 clause 4 and Annex A (RFC 3310 / RFC 4169).
 *
 *   UE → BSF  GET / Authorization: Digest username="<IMPI>", realm, nonce="", uri="/", response=""
 *   BSF → UE  401 WWW-Authenticate: Digest realm, nonce=base64(RAND‖AUTN), algorithm=AKAv1-MD5, qop="auth-int", opaque
 *   UE → BSF  GET / Authorization: Digest … response=<MD5 digest, password RES>   (or auts=… after a sync failure)
 *   BSF → UE  200 Authentication-Info: rspauth …  body <BootstrappingInfo> with B-TID and key lifetime
 *
 * Status codes where TS 24.109 leaves the choice to us (gba-spec-digest §3.4): 400 malformed, 401 + a fresh
 * challenge for a wrong response or an unknown/used/expired nonce, 403 unknown IMPI or a device-reported MAC
 * failure or a refused resynchronisation, 503 + Retry-After when the HSS does not answer.
 */
import { akaPassword, computeRspauth, requestDigest, type Qop } from '../shared/crypto/digest.js';
import { ks } from '../shared/crypto/kdf.js';
import { randomOctets } from '../shared/crypto/random-pool.js';
import { btidFromRand } from '../shared/identifiers.js';
import { fromBase64, secretEqualString } from '../shared/bytes.js';
import { DecodeError } from '../shared/errors.js';
import { formatDigest, formatParams, parseDigestCredentials, type AuthParams } from '../shared/wire/digest-header.js';
import { BSF_XML_CONTENT_TYPE, formatBootstrappingInfo } from '../shared/wire/bsf-xml.js';
import type { HttpResponse } from '../shared/http/server.js';
import { PROBLEM_CONTENT_TYPE } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { ChallengeStore, Guss, SessionStore } from '../shared/store/types.js';
import { HssRefused, PeerUnavailable, UserUnknown } from '../shared/services/errors.js';
import type { ZhService } from '../shared/services/zh.js';
import { CHALLENGE_REASONS, reasonFromBody, type UbOutcomeRecorder } from './timeline.js';

export type UbOutcome = 'ok' | 'mac_failure' | 'sync_failure' | 'wrong_res' | 'unknown_impi' | 'malformed' | 'hss_unavailable';
export const UB_OUTCOMES: readonly UbOutcome[] = ['ok', 'mac_failure', 'sync_failure', 'wrong_res', 'unknown_impi', 'malformed', 'hss_unavailable'];
export type ChallengeReason = 'initial' | 'stale_nonce' | 'wrong_res' | 'resync';

export interface UbDeps {
  domain: string;                         // realm and B-TID domain
  algorithm: 'AKAv1-MD5' | 'AKAv2-MD5';
  lifetimeSec: number;                    // default key lifetime when GUSS has none
  challengeTtlMs: number;
  zh: ZhService;
  challenges: ChallengeStore;
  sessions: SessionStore;
  log: Logger;
  outcomes: Counter;                      // gba_ub_outcomes_total{outcome}
  challengesIssued: Counter;              // gba_ub_challenges_total{reason}
  now: () => number;
  /** The device timeline (C9); optional so the handler runs without it. */
  recorder?: UbOutcomeRecorder;
}

export interface UbRequest { method: string; uri: string; authorization: string | undefined }

const SERVER = 'gba-sim-bsf';

function problem(status: number, title: string, detail: string, extra: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, Server: SERVER, ...extra }, body: JSON.stringify({ title, status, detail }) };
}

export class UbHandler {
  constructor(readonly d: UbDeps) {}

  async handle(req: UbRequest): Promise<HttpResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.#done('malformed', undefined, undefined, problem(405, 'Method Not Allowed', 'Ub uses GET (TS 24.109 §4.4)', { Allow: 'GET' }));
    if (!req.authorization) return this.#done('malformed', undefined, undefined, problem(400, 'Bad Request', 'Authorization: Digest username="<IMPI>" is required (TS 24.109 §4.4.1)'));
    let p: AuthParams;
    try {
      p = parseDigestCredentials(req.authorization);
    } catch (err) {
      if (err instanceof DecodeError) return this.#done('malformed', undefined, undefined, problem(400, 'Bad Request', err.message));
      throw err;
    }
    const impi = p.get('username');
    if (!impi) return this.#done('malformed', undefined, undefined, problem(400, 'Bad Request', 'Authorization: username (the IMPI) is missing or empty'));
    if (impi.length > 255) return this.#done('malformed', impi.slice(0, 64), undefined, problem(400, 'Bad Request', 'username longer than 255 characters'));
    const nonce = p.get('nonce');
    if (!nonce) return this.#challenge(impi, 'initial');
    return this.#answer(impi, nonce, p, req);
  }

  async #answer(impi: string, nonce: string, p: AuthParams, req: UbRequest): Promise<HttpResponse> {
    const { d } = this;
    const missing = ['uri', 'response'].filter((n) => !p.has(n));
    const qop = p.get('qop');
    if (qop !== undefined) missing.push(...['nc', 'cnonce'].filter((n) => !p.has(n)));
    if (missing.length) return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', `Authorization lacks ${missing.join(', ')}`));
    if (qop !== undefined && qop !== 'auth' && qop !== 'auth-int') return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', `qop ${qop} is not offered; use auth-int or auth`));
    if (qop !== undefined && !/^[0-9a-fA-F]{8}$/.test(p.get('nc')!)) return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', 'nc must be 8 hex digits'));
    if (p.get('uri') !== req.uri) return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', `digest uri ${JSON.stringify(p.get('uri'))} does not match the request URI ${JSON.stringify(req.uri)} (RFC 7616 §3.4.6)`));
    if (p.get('realm') !== d.domain) return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', `realm must be ${d.domain}`));
    let auts: Buffer | undefined;
    if (p.has('auts')) {
      try { auts = fromBase64(p.get('auts')!, 'auts'); } catch { auts = undefined; }
      if (!auts || auts.length !== 14) return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', 'auts must be base64 of 14 octets (RFC 3310 §3.4)'));
    }

    const c = await d.challenges.consume(nonce);
    if (!c || c.impi !== impi) return this.#challenge(impi, 'stale_nonce');
    const opaque = p.get('opaque');
    if (opaque !== undefined && opaque !== c.opaque) return this.#challenge(impi, 'stale_nonce');
    const alg = p.get('algorithm');
    if (alg !== undefined && alg.toLowerCase() !== c.algorithm.toLowerCase()) return this.#done('malformed', impi, undefined, problem(400, 'Bad Request', `algorithm must be ${c.algorithm}`));

    if (auts) return this.#resync(impi, c.rand, auts);

    const input = { username: impi, realm: d.domain, nonce, nc: p.get('nc'), cnonce: p.get('cnonce'), qop: qop as Qop | undefined, method: req.method, uri: req.uri };
    const expected = requestDigest({ ...input, password: akaPassword(c.algorithm, c.xres, c.ck, c.ik) });
    const response = p.get('response')!.toLowerCase();
    if (!secretEqualString(response, expected.response)) {
      // RFC 3310 §3.3: a client that could not authenticate the network answers with the empty password.
      const emptyPw = requestDigest({ ...input, password: Buffer.alloc(0) }).response;
      if (secretEqualString(response, emptyPw)) {
        return this.#done('mac_failure', impi, undefined, problem(403, 'Forbidden', 'the device reported a network authentication failure (AUTN MAC did not verify): check K/OPc'));
      }
      return this.#challenge(impi, 'wrong_res');
    }

    const nowMs = d.now();
    const btid = btidFromRand(c.rand, d.domain);
    const lifetimeMs = nowMs + c.lifetimeSec * 1000;
    const expiresMs = Math.floor(lifetimeMs / 1000) * 1000;
    const created = await d.sessions.create({ btid, impi, ks: ks(c.ck, c.ik), createdMs: Math.floor(nowMs / 1000) * 1000, expiresMs, gbaU: c.gbaU });
    if (!created) throw new Error(`B-TID collision for a fresh RAND (${btid})`);
    const body = formatBootstrappingInfo({ btid, lifetimeMs: expiresMs });
    const rspauth = computeRspauth(expected.ha1, input, body);
    const info: Array<readonly [string, string, boolean]> = [];
    if (qop) info.push(['qop', qop, false]);
    info.push(['rspauth', rspauth, true]);
    if (qop) info.push(['cnonce', p.get('cnonce')!, true], ['nc', p.get('nc')!, false]);
    return this.#done('ok', impi, btid, {
      status: 200,
      headers: { 'Content-Type': BSF_XML_CONTENT_TYPE, 'Authentication-Info': formatParams(info), Server: SERVER, 'Cache-Control': 'no-store' },
      body,
    });
  }

  async #resync(impi: string, rand: Buffer, auts: Buffer): Promise<HttpResponse> {
    try {
      const guss = this.#guss(impi);
      const av = await this.d.zh.authVector(impi, { rand, auts });
      this.d.outcomes.inc({ outcome: 'sync_failure' });
      return await this.#issue(impi, av, await guss, 'resync', 'sync_failure');
    } catch (err) {
      if (err instanceof HssRefused) return this.#done('sync_failure', impi, undefined, problem(403, 'Forbidden', `resynchronisation refused: ${err.message}`));
      return this.#hssError(impi, err);
    }
  }

  async #challenge(impi: string, reason: ChallengeReason): Promise<HttpResponse> {
    try {
      const guss = this.#guss(impi);
      const av = await this.d.zh.authVector(impi);
      if (reason === 'wrong_res') this.d.outcomes.inc({ outcome: 'wrong_res' });
      return await this.#issue(impi, av, await guss, reason, reason === 'wrong_res' ? 'wrong_res' : undefined);
    } catch (err) {
      return this.#hssError(impi, err);
    }
  }

  /** GUSS (key lifetime, GBA_U), fetched beside the vector rather than after it; none if the HSS cannot say. */
  #guss(impi: string): Promise<Guss | undefined> {
    return this.d.zh.guss(impi).catch(() => undefined);
  }

  async #issue(impi: string, av: { rand: Buffer; autn: Buffer; xres: Buffer; ck: Buffer; ik: Buffer }, guss: Guss | undefined, reason: ChallengeReason, outcome?: UbOutcome): Promise<HttpResponse> {
    const { d } = this;
    const nonce = Buffer.concat([av.rand, av.autn]).toString('base64');
    const opaque = randomOctets(12).toString('base64url');
    await d.challenges.create(nonce, {
      impi, rand: av.rand, autn: av.autn, xres: av.xres, ck: av.ck, ik: av.ik, algorithm: d.algorithm, opaque,
      lifetimeSec: guss?.bsfInfo?.lifeTime ?? d.lifetimeSec, gbaU: guss?.bsfInfo?.uiccType === 'GBA_U',
    }, d.challengeTtlMs);
    d.challengesIssued.inc({ reason });
    d.log.info({ event: 'ub', impi, outcome: outcome ?? 'challenge', challenge: reason }, 'challenge issued');
    if (outcome) d.recorder?.onOutcome(impi, outcome, CHALLENGE_REASONS[outcome] ?? outcome);
    return {
      status: 401,
      headers: {
        'WWW-Authenticate': formatDigest([['realm', d.domain, true], ['nonce', nonce, true], ['algorithm', d.algorithm, false], ['qop', 'auth-int', true], ['opaque', opaque, true]]),
        'Content-Type': PROBLEM_CONTENT_TYPE, Server: SERVER, 'Cache-Control': 'no-store',
      },
      body: JSON.stringify({ title: 'Unauthorized', status: 401, detail: reason === 'initial' ? 'authenticate with the USIM (HTTP Digest AKA)' : `fresh challenge (${reason.replace('_', ' ')})` }),
    };
  }

  #hssError(impi: string, err: unknown): HttpResponse {
    if (err instanceof UserUnknown) return this.#done('unknown_impi', impi, undefined, problem(403, 'Forbidden', `unknown IMPI ${impi}`));
    if (err instanceof PeerUnavailable) {
      this.d.log.warn({ err }, 'HSS unavailable');
      return this.#done('hss_unavailable', impi, undefined, problem(503, 'Service Unavailable', 'the HSS did not answer; retry later', { 'Retry-After': '5' }));
    }
    throw err;
  }

  #done(outcome: UbOutcome, impi: string | undefined, btid: string | undefined, res: HttpResponse): HttpResponse {
    this.d.outcomes.inc({ outcome });
    this.d.log.info({ event: 'ub', impi, btid, outcome, status: res.status }, outcome === 'ok' ? 'bootstrapped' : 'bootstrap attempt failed');
    this.d.recorder?.onOutcome(impi, outcome, reasonFromBody(outcome, res.body), btid);
    return res;
  }
}

