/**
 * One fleet bootstrap: a device's Ub run (TS 24.109 §4.4) classified by how it ended, never thrown. The
 * software USIM is the subscriber's own and lives as long as the run, so its SQN_MS follows the HSS from one
 * bootstrap to the next; a stale SQN is resolved with AUTS (TS 33.102 §6.3.5) as a device would.
 */
import { akaPassword } from '../../shared/crypto/digest.js';
import type { AuthenticateResult } from '../../device/usim.js';
import {
  answer,
  checkRspauth,
  initialAuthorization,
  readChallenge,
  send,
  type UeContext,
  type UsimLike,
} from '../ue.js';
import type { Reply } from '../http.js';

/**
 * How a bootstrap ended: `ok`; `rspauth_mismatch` (200 whose rspauth does not verify); `http_<status>` (the
 * BSF's final answer); `mac_failure` (the USIM rejected AUTN; reported with the empty password, RFC 3310 §3.3);
 * `sync_failure` (still stale after two AUTS); `bad_challenge` (a 401 without a usable Digest AKA challenge);
 * `timeout`, `connection_error`.
 */
export type Outcome = string;

export interface FleetResult {
  outcome: Outcome;
  status: number;
  resyncs: number;
}

function transport(r: Reply): Outcome {
  return /no answer within/.test(r.error ?? '') ? 'timeout' : 'connection_error';
}

export async function fleetBootstrap(ctx: UeContext, usim: UsimLike): Promise<FleetResult> {
  let r = await send(ctx, initialAuthorization(ctx.impi, ctx.realm, ctx.uri));
  let resyncs = 0;
  for (let round = 0; round < 3; round++) {
    if (r.status === 0) return { outcome: transport(r), status: 0, resyncs };
    if (r.status !== 401) return { outcome: `http_${r.status}`, status: r.status, resyncs };
    let ch;
    try {
      ch = readChallenge(r);
    } catch {
      return { outcome: 'bad_challenge', status: 401, resyncs };
    }
    const a = usim.authenticate(ch.rand, ch.autn);
    if (a.kind === 'mac_failure') {
      await send(ctx, answer(ctx, ch, Buffer.alloc(0)).authorization);
      return { outcome: 'mac_failure', status: 401, resyncs };
    }
    if (a.kind === 'sync_failure') {
      resyncs++;
      r = await send(ctx, answer(ctx, ch, Buffer.alloc(0), [['auts', a.auts.toString('base64'), true]]).authorization);
      continue;
    }
    const ok = a as Extract<AuthenticateResult, { kind: 'ok' }>;
    const ans = answer(ctx, ch, akaPassword(ch.algorithm, ok.res, ok.ck, ok.ik));
    const final = await send(ctx, ans.authorization);
    if (final.status === 0) return { outcome: transport(final), status: 0, resyncs };
    if (final.status !== 200) return { outcome: `http_${final.status}`, status: final.status, resyncs };
    const c = checkRspauth(ctx, {
      challenge: ch,
      answer: ans,
      final,
      ck: ok.ck,
      ik: ok.ik,
      res: ok.res,
      resynchronised: resyncs > 0,
    });
    return { outcome: c.present && !c.ok ? 'rspauth_mismatch' : 'ok', status: 200, resyncs };
  }
  return { outcome: 'sync_failure', status: 401, resyncs };
}
