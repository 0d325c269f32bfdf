/**
 * Ub: bootstrapping with HTTP Digest AKA, TS 24.109 clause 4 and Annex A (RFC 3310 / RFC 4169).
 *
 *   UE → BSF  GET / Authorization: Digest username="<IMPI>", realm, nonce="", uri="/", response=""
 *   BSF → UE  401 WWW-Authenticate: Digest realm, nonce=base64(RAND‖AUTN), algorithm=AKAv1-MD5, qop="auth-int", opaque
 *   UE → BSF  GET / Authorization: Digest … response=<MD5 digest, password RES>   (or auts=… after a sync failure)
 *   BSF → UE  200 Authentication-Info: rspauth …  body <BootstrappingInfo> with B-TID and key lifetime
 *
 * Status codes where TS 24.109 (clauses 4.3, 4.4) names none are our choice: 400 malformed, 401 + a fresh
 * challenge for a wrong response or an unknown/used/expired nonce, 403 unknown IMPI or a device-reported MAC
 * failure or a refused resynchronisation, 503 + Retry-After when the HSS does not answer.
 */
import { akaPassword } from '../shared/crypto/digest.js';
import { ks } from '../shared/crypto/kdf.js';
import { randomOctets } from '../shared/crypto/random-pool.js';
import { btidFromRand } from '../shared/identifiers.js';
import { fromBase64 } from '../shared/bytes.js';
import { formatDigest } from '../shared/wire/digest-header.js';
import { BSF_XML_CONTENT_TYPE, formatBootstrappingInfo } from '../shared/wire/bsf-xml.js';
import type { HttpResponse } from '../shared/http/server.js';
import { DigestServer, type DigestCredentials } from '../shared/http/digest-server.js';
import { problemResponse, problems, type HttpError } from '../shared/http/problem.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { ChallengeStore, Guss, SessionStore } from '../shared/store/types.js';
import { HssRefused, PeerUnavailable, UserUnknown } from '../shared/services/errors.js';
import type { ZhService } from '../shared/services/zh.js';
import type { SourceRateLimiter } from '../shared/net/rate-limit.js';
import { CHALLENGE_REASONS, reasonFromBody, type UbOutcomeRecorder } from './timeline.js';
import {
  faultedOpaque,
  faultOfOpaque,
  SCENARIO_REASONS,
  sleep,
  withBadMac,
  withBadRspauth,
  type Fault,
  type ScenarioHooks,
} from './scenarios.js';

export type UbOutcome =
  'ok' | 'mac_failure' | 'sync_failure' | 'wrong_res' | 'unknown_impi' | 'malformed' | 'hss_unavailable';
export const UB_OUTCOMES: readonly UbOutcome[] = [
  'ok',
  'mac_failure',
  'sync_failure',
  'wrong_res',
  'unknown_impi',
  'malformed',
  'hss_unavailable',
];
export type ChallengeReason = 'initial' | 'stale_nonce' | 'wrong_res' | 'resync';

export interface UbDeps {
  domain: string; // realm and B-TID domain
  algorithm: 'AKAv1-MD5' | 'AKAv2-MD5';
  lifetimeSec: number; // default key lifetime when GUSS has none
  challengeTtlMs: number;
  zh: ZhService;
  challenges: ChallengeStore;
  sessions: SessionStore;
  log: Logger;
  outcomes: Counter; // gba_ub_outcomes_total{outcome}
  challengesIssued: Counter; // gba_ub_challenges_total{reason}
  now: () => number;
  /** The device timeline (C9); optional so the handler runs without it. */
  recorder?: UbOutcomeRecorder;
  /** Device fault scenarios (C8, bsf/scenarios.ts); none when absent. */
  scenarios?: ScenarioHooks;
  /**
   * Most challenges an IMPI may have outstanding (issued, neither answered nor expired), default 32: each spent
   * one SQN at the HSS, and 32 is the number of IND slots the USIM's SQN array holds (hss.indBits 5,
   * TS 33.102 Annex C.1.2), so the cap keeps an unauthenticated client from pushing SQN ahead of any array slot.
   */
  maxOutstandingChallenges?: number;
  /** Per-source-address limit on requests that would cost a fresh vector without authenticating. */
  sourceLimiter?: SourceRateLimiter;
  /** gba_ub_throttled_total{reason}: requests refused with 429 by either limit. */
  throttled?: Counter;
}

export interface UbRequest {
  method: string;
  uri: string;
  authorization: string | undefined;
  remoteAddress?: string;
}

/** Why a Ub request got 429 (the label of gba_ub_throttled_total). */
export const UB_THROTTLE_REASONS = ['outstanding_challenges', 'source_rate'] as const;

const SERVER = 'gba-sim-bsf';

const problem = (e: HttpError, headers: Record<string, string> = {}): HttpResponse =>
  problemResponse(e, { Server: SERVER, ...headers });

export class UbHandler {
  readonly #digest: DigestServer;
  /** Challenges being issued right now per IMPI (vector requested, not stored yet): counted against the cap. */
  readonly #issuing = new Map<string, number>();

  constructor(readonly d: UbDeps) {
    // TS 24.109 §4.4.1: the first request carries nonce="" and response="", asking for a challenge.
    this.#digest = new DigestServer({
      realm: d.domain,
      nonceOptional: true,
      emptyValues: 'allow',
      maxUsernameLength: 255,
      detectEmptyPassword: true,
    });
  }

  async handle(req: UbRequest): Promise<HttpResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.#done('malformed', undefined, undefined, problem(problems.methodNotAllowed('GET')));
    }
    if (!req.authorization) {
      return this.#done(
        'malformed',
        undefined,
        undefined,
        problem(problems.badRequest('Authorization: Digest username="<IMPI>" is required (TS 24.109 §4.4.1)')),
      );
    }
    const r = this.#digest.credentials(req);
    switch (r.kind) {
      case 'none':
        return this.#initial(r.username!, req.remoteAddress);
      case 'malformed':
      case 'wrong_realm':
        return this.#done('malformed', r.username, undefined, problem(problems.badRequest(r.detail)));
      case 'ok':
        return this.#answer(r.credentials, req.remoteAddress);
    }
  }

  /** An initial request: a fault scenario for this IMPI takes effect here, and only here (C8). */
  async #initial(impi: string, remoteAddress: string | undefined): Promise<HttpResponse> {
    const sc = await this.d.scenarios?.take(impi);
    if (!sc) return this.#challenge(impi, 'initial', remoteAddress);
    this.d.log.info({ event: 'ub', impi, scenario: sc.fault, left: sc.count - 1 }, 'fault scenario applied');
    switch (sc.fault) {
      case 'hss_unavailable':
        return this.#done(
          'hss_unavailable',
          impi,
          undefined,
          problem(problems.unavailable('the HSS did not answer; retry later (fault scenario hss_unavailable)')),
          SCENARIO_REASONS.hssUnavailable,
        );
      case 'delay':
        await sleep(sc.delayMs ?? 0);
        return this.#challenge(impi, 'initial', remoteAddress, 'delay');
      case 'stale_sqn': {
        const v = await this.d.scenarios!.lastVector(impi);
        if (!v) {
          this.d.recorder?.onOutcome(impi, 'sync_failure', SCENARIO_REASONS.staleNoVector);
          return this.#challenge(impi, 'initial', remoteAddress);
        }
        try {
          return await this.#issue(impi, v, await this.#guss(impi), 'initial', undefined, 'stale_sqn');
        } catch (err) {
          return this.#hssError(impi, err);
        }
      }
      default:
        return this.#challenge(impi, 'initial', remoteAddress, sc.fault);
    }
  }

  async #answer(cr: DigestCredentials, remoteAddress: string | undefined): Promise<HttpResponse> {
    const { d } = this;
    const impi = cr.username;
    const p = cr.params;
    let auts: Buffer | undefined;
    if (p.has('auts')) {
      try {
        auts = fromBase64(p.get('auts')!, 'auts');
      } catch {
        auts = undefined;
      }
      if (!auts || auts.length !== 14)
        return this.#done(
          'malformed',
          impi,
          undefined,
          problem(problems.badRequest('auts must be base64 of 14 octets (RFC 3310 §3.4)')),
        );
    }

    const c = await d.challenges.consume(cr.nonce);
    if (!c || c.impi !== impi) return this.#challenge(impi, 'stale_nonce', remoteAddress);
    const opaque = p.get('opaque');
    if (opaque !== undefined && opaque !== c.opaque) return this.#challenge(impi, 'stale_nonce', remoteAddress);
    const alg = p.get('algorithm');
    if (alg !== undefined && alg.toLowerCase() !== c.algorithm.toLowerCase())
      return this.#done('malformed', impi, undefined, problem(problems.badRequest(`algorithm must be ${c.algorithm}`)));

    const fault = faultOfOpaque(c.opaque);
    if (auts)
      return this.#resync(impi, c.rand, auts, fault === 'stale_sqn' ? SCENARIO_REASONS.staleResynced : undefined);

    const checked = this.#digest.check(cr, akaPassword(c.algorithm, c.xres, c.ck, c.ik));
    if (checked.kind === 'empty_password') {
      // RFC 3310 §3.3: a client that could not authenticate the network answers with the empty password.
      if (fault === 'bad_mac')
        return this.#done(
          'mac_failure',
          impi,
          undefined,
          problem(
            problems.authenticationRejected(
              'the device reported a network authentication failure: the AUTN had a wrong MAC-A (fault scenario bad_mac)',
            ),
          ),
          SCENARIO_REASONS.badMacReported,
        );
      return this.#done(
        'mac_failure',
        impi,
        undefined,
        problem(
          problems.authenticationRejected(
            'the device reported a network authentication failure (AUTN MAC did not verify): check K/OPc',
          ),
        ),
      );
    }
    if (checked.kind === 'wrong_response') return this.#challenge(impi, 'wrong_res');
    // A device that answers a faulted challenge with RES has not checked AUTN as it must (TS 33.102 §6.3.3).
    if (fault === 'bad_mac')
      return this.#done(
        'mac_failure',
        impi,
        undefined,
        problem(
          problems.authenticationRejected(
            'the device answered a challenge whose MAC-A does not verify (fault scenario bad_mac)',
          ),
        ),
        SCENARIO_REASONS.badMacAnswered,
      );
    if (fault === 'stale_sqn')
      return this.#done(
        'sync_failure',
        impi,
        undefined,
        problem(
          problems.authenticationRejected('the device accepted an SQN it had already seen (fault scenario stale_sqn)'),
        ),
        SCENARIO_REASONS.staleAnswered,
      );

    const nowMs = d.now();
    const btid = btidFromRand(c.rand, d.domain);
    const lifetimeMs = nowMs + c.lifetimeSec * 1000;
    const expiresAtMs = Math.floor(lifetimeMs / 1000) * 1000;
    const created = await d.sessions.create({
      btid,
      impi,
      ks: ks(c.ck, c.ik),
      createdAtMs: Math.floor(nowMs / 1000) * 1000,
      expiresAtMs,
      gbaU: c.gbaU,
    });
    if (!created) throw new Error(`B-TID collision for a fresh RAND (${btid})`);
    const body = formatBootstrappingInfo({ btid, lifetimeMs: expiresAtMs });
    d.scenarios?.remember(impi, c);
    const info = this.#digest.authenticationInfo(cr, checked.ha1, body);
    return this.#done(
      'ok',
      impi,
      btid,
      {
        status: 200,
        headers: {
          'Content-Type': BSF_XML_CONTENT_TYPE,
          'Authentication-Info': fault === 'bad_rspauth' ? withBadRspauth(info) : info,
          Server: SERVER,
          'Cache-Control': 'no-store',
        },
        body,
      },
      fault === 'bad_rspauth' ? SCENARIO_REASONS.badRspauth : fault === 'delay' ? SCENARIO_REASONS.delay : undefined,
    );
  }

  async #resync(impi: string, rand: Buffer, auts: Buffer, reason?: string): Promise<HttpResponse> {
    try {
      const guss = this.#guss(impi);
      const av = await this.d.zh.authVector(impi, { rand, auts });
      this.d.outcomes.inc({ outcome: 'sync_failure' });
      return await this.#issue(impi, av, await guss, 'resync', 'sync_failure', undefined, reason);
    } catch (err) {
      if (err instanceof HssRefused)
        return this.#done(
          'sync_failure',
          impi,
          undefined,
          problem(problems.authenticationRejected(`resynchronisation refused: ${err.message}`)),
        );
      return this.#hssError(impi, err);
    }
  }

  /**
   * A fresh challenge, which costs a vector (one SQN) at the HSS: so first the two limits of issue 18 finding 10.
   * An unauthenticated request over either gets 429 Too Many Requests with Retry-After (RFC 6585 §4): the
   * client is not wrong (4xx other than 429 would say so) and the BSF is not unwell (503 would), it asks too often.
   */
  async #challenge(
    impi: string,
    reason: ChallengeReason,
    remoteAddress?: string,
    fault?: Fault,
  ): Promise<HttpResponse> {
    const { d } = this;
    if (remoteAddress !== undefined && d.sourceLimiter && !d.sourceLimiter.take(remoteAddress)) {
      return this.#throttle(
        'source_rate',
        impi,
        problems.tooManyRequests('too many Ub requests from this address; retry later', 1),
      );
    }
    const cap = d.maxOutstandingChallenges ?? 32;
    const issuing = this.#issuing.get(impi) ?? 0;
    this.#issuing.set(impi, issuing + 1);
    try {
      if (issuing >= cap || issuing + (await d.challenges.outstanding(impi)) >= cap) {
        return this.#throttle(
          'outstanding_challenges',
          impi,
          problems.tooManyRequests(
            `${cap} challenges for this IMPI are outstanding; answer one or wait for them to expire`,
            d.challengeTtlMs / 1000,
          ),
        );
      }
      const guss = this.#guss(impi);
      const av = await d.zh.authVector(impi);
      if (reason === 'wrong_res') d.outcomes.inc({ outcome: 'wrong_res' });
      return await this.#issue(impi, av, await guss, reason, reason === 'wrong_res' ? 'wrong_res' : undefined, fault);
    } catch (err) {
      return this.#hssError(impi, err);
    } finally {
      const n = (this.#issuing.get(impi) ?? 1) - 1;
      if (n > 0) this.#issuing.set(impi, n);
      else this.#issuing.delete(impi);
    }
  }

  /** A 429: counted and logged at debug level only (a flood must not flood the log or the device timeline). */
  #throttle(reason: (typeof UB_THROTTLE_REASONS)[number], impi: string, e: HttpError): HttpResponse {
    this.d.throttled?.inc({ reason });
    this.d.log.debug({ event: 'ub', impi, outcome: 'throttled', reason }, 'Ub request throttled');
    return problem(e, { 'Cache-Control': 'no-store' });
  }

  /** GUSS (key lifetime, GBA_U), fetched beside the vector rather than after it; none if the HSS cannot say. */
  #guss(impi: string): Promise<Guss | undefined> {
    return this.d.zh.guss(impi).catch(() => undefined);
  }

  /** A challenge; under a fault scenario its opaque names the fault, and bad_mac sends AUTN with a wrong MAC-A. */
  async #issue(
    impi: string,
    av: { rand: Buffer; autn: Buffer; xres: Buffer; ck: Buffer; ik: Buffer },
    guss: Guss | undefined,
    reason: ChallengeReason,
    outcome?: UbOutcome,
    fault?: Fault,
    outcomeReason?: string,
  ): Promise<HttpResponse> {
    const { d } = this;
    const nonce = Buffer.concat([av.rand, fault === 'bad_mac' ? withBadMac(av.autn) : av.autn]).toString('base64');
    const opaque = fault ? faultedOpaque(fault) : randomOctets(12).toString('base64url');
    await d.challenges.create(
      nonce,
      {
        impi,
        rand: av.rand,
        autn: av.autn,
        xres: av.xres,
        ck: av.ck,
        ik: av.ik,
        algorithm: d.algorithm,
        opaque,
        lifetimeSec: guss?.bsfInfo?.lifeTime ?? d.lifetimeSec,
        gbaU: guss?.bsfInfo?.uiccType === 'GBA_U',
      },
      d.challengeTtlMs,
    );
    d.challengesIssued.inc({ reason });
    d.log.info({ event: 'ub', impi, outcome: outcome ?? 'challenge', challenge: reason }, 'challenge issued');
    if (outcome) d.recorder?.onOutcome(impi, outcome, outcomeReason ?? CHALLENGE_REASONS[outcome] ?? outcome);
    const challenge = formatDigest([
      ['realm', d.domain, true],
      ['nonce', nonce, true],
      ['algorithm', d.algorithm, false],
      ['qop', 'auth-int', true],
      ['opaque', opaque, true],
    ]);
    const detail =
      reason === 'initial'
        ? 'authenticate with the USIM (HTTP Digest AKA)'
        : `fresh challenge (${reason.replace('_', ' ')})`;
    return problem(problems.unauthorized(detail, challenge), { 'Cache-Control': 'no-store' });
  }

  #hssError(impi: string, err: unknown): HttpResponse {
    if (err instanceof UserUnknown)
      return this.#done(
        'unknown_impi',
        impi,
        undefined,
        problem(problems.forbidden(`unknown IMPI ${impi}`, 'USER_NOT_FOUND')),
      );
    if (err instanceof PeerUnavailable) {
      this.d.log.warn({ err }, 'HSS unavailable');
      return this.#done(
        'hss_unavailable',
        impi,
        undefined,
        problem(problems.unavailable('the HSS did not answer; retry later')),
      );
    }
    throw err;
  }

  #done(
    outcome: UbOutcome,
    impi: string | undefined,
    btid: string | undefined,
    res: HttpResponse,
    reason?: string,
  ): HttpResponse {
    this.d.outcomes.inc({ outcome });
    this.d.log.info(
      { event: 'ub', impi, btid, outcome, status: res.status },
      outcome === 'ok' ? 'bootstrapped' : 'bootstrap attempt failed',
    );
    this.d.recorder?.onOutcome(impi, outcome, reason ?? reasonFromBody(outcome, res.body), btid);
    return res;
  }
}
