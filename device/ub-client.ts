/**
 * The UE side of Ub (TS 24.109 clause 4, Annex A): GET with the IMPI, answer the AKA challenge with the
 * USIM, resynchronise with AUTS when the USIM asks, check rspauth over the exact body, read the B-TID.
 */
import { Pool } from 'undici';
import { akaPassword } from '../shared/crypto/digest.js';
import { ks as ksOf } from '../shared/crypto/kdf.js';
import { formatDigest, type AuthParams } from '../shared/wire/digest-header.js';
import { DigestAnswer, findDigestChallenge } from './digest-client.js';
import { parseBootstrappingInfo } from '../shared/wire/bsf-xml.js';
import type { Usim } from './usim.js';

export class UbError extends Error {
  constructor(
    readonly reason: 'mac_failure' | 'rejected' | 'unavailable' | 'protocol',
    message: string,
    readonly status?: number,
    /** Retry-After of a 503, in seconds (RFC 9110 §10.2.3), when the BSF gave one as delay-seconds. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = 'UbError';
  }
}

export interface Bootstrap {
  btid: string;
  lifetimeMs: number;
  ks: Buffer;
  rand: Buffer;
  impi: string;
}

export interface UbClientOptions {
  bsfUrl: string; // e.g. http://127.0.0.1:8080/
  impi: string;
  realm: string; // BSF domain for the first request (TS 24.109 §4.4.1)
  usim: Usim;
  userAgent?: string;
  /** Called at each step, for `device` output. */
  onStep?: (step: string, detail?: Record<string, unknown>) => void;
  /** A shared keep-alive pool (benchmarks); one is made otherwise. */
  pool?: Pool;
  /**
   * Refuse a 200 OK without rspauth. By default it is accepted with a warning step (RFC 7616 §3.5 makes
   * Authentication-Info optional for the server); rspauth is verified whenever it is present.
   */
  requireRspauth?: boolean;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const header = (h: Reply['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

export async function bootstrap(o: UbClientOptions): Promise<Bootstrap> {
  const url = new URL(o.bsfUrl);
  const uri = url.pathname + url.search;
  const pool = o.pool ?? new Pool(url.origin, { connections: 1 });
  const step = o.onStep ?? (() => {});
  const get = async (authorization: string): Promise<Reply> => {
    try {
      const r = await pool.request({
        method: 'GET',
        path: uri,
        headers: { authorization, 'user-agent': o.userAgent ?? 'gba-sim-device; 3gpp-gba', accept: '*/*' },
      });
      return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
    } catch (err) {
      throw new UbError('unavailable', `BSF ${url.origin} unreachable: ${(err as Error).message}`);
    }
  };
  try {
    step('ub.request', { bsf: o.bsfUrl, impi: o.impi });
    let r = await get(
      formatDigest([
        ['username', o.impi, true],
        ['realm', o.realm, true],
        ['nonce', '', true],
        ['uri', uri, true],
        ['response', '', true],
      ]),
    );
    for (let round = 0; round < 4; round++) {
      if (r.status !== 401) throw failure(r);
      const ch = digestChallenge(r);
      const raw = Buffer.from(ch.get('nonce') ?? '', 'base64');
      if (raw.length < 32) throw new UbError('protocol', 'nonce is not base64(RAND ‖ AUTN)');
      const rand = raw.subarray(0, 16),
        autn = raw.subarray(16, 32);
      const algorithm = (ch.get('algorithm') ?? 'AKAv1-MD5') as 'AKAv1-MD5' | 'AKAv2-MD5';
      const answer = new DigestAnswer(ch, { username: o.impi, method: 'GET', uri, realm: o.realm, algorithm });
      step('ub.challenge', { realm: answer.realm, algorithm, qop: answer.qop });
      const a = await o.usim.authenticate(rand, autn);
      if (a.kind === 'mac_failure') {
        step('usim.mac_failure');
        // RFC 3310 §3.3: tell the server, with the empty password, then stop.
        await get(answer.authorization(Buffer.alloc(0)).header).catch(() => undefined);
        throw new UbError(
          'mac_failure',
          'the USIM could not authenticate the network: MAC in AUTN does not verify (wrong K/OPc?)',
        );
      }
      if (a.kind === 'sync_failure') {
        step('usim.sync_failure', { sqnMs: a.sqnMs?.toString(16).padStart(12, '0') ?? 'in AUTS' });
        // RFC 3310 §3.4: the empty password, with AUTS.
        r = await get(answer.authorization(Buffer.alloc(0), [['auts', a.auts.toString('base64'), true]]).header);
        continue;
      }
      const { header: authorization, ha1 } = answer.authorization(akaPassword(algorithm, a.res, a.ck, a.ik));
      r = await get(authorization);
      if (r.status !== 200) throw failure(r);
      const checked = answer.checkRspauth(header(r.headers, 'authentication-info'), ha1, r.body);
      if (checked === 'mismatch')
        throw new UbError('protocol', 'rspauth does not verify: the BSF is not authenticated');
      if (checked === 'absent') {
        if (o.requireRspauth)
          throw new UbError('protocol', '200 OK without Authentication-Info rspauth: the BSF is not authenticated');
        step('ub.warning', {
          warning: '200 OK without Authentication-Info rspauth: the BSF is not authenticated (RFC 7616 §3.5)',
        });
      }
      const bi = parseBootstrappingInfo(r.body);
      step('ub.bootstrapped', { btid: bi.btid, lifetime: new Date(bi.lifetimeMs).toISOString() });
      return { btid: bi.btid, lifetimeMs: bi.lifetimeMs, ks: ksOf(a.ck, a.ik), rand: Buffer.from(rand), impi: o.impi };
    }
    throw new UbError('protocol', 'too many challenges in a row');
  } finally {
    if (!o.pool) await pool.close();
  }
}

function digestChallenge(r: Reply): AuthParams {
  const h = header(r.headers, 'www-authenticate');
  if (!h) throw new UbError('protocol', '401 without WWW-Authenticate');
  const c = findDigestChallenge(h, (p) => /^AKAv[12]-MD5$/i.test(p.get('algorithm') ?? 'AKAv1-MD5'));
  if (!c) throw new UbError('protocol', 'no Digest AKA challenge in WWW-Authenticate');
  return c;
}

function failure(r: Reply): UbError {
  let detail = '';
  try {
    detail = (JSON.parse(r.body) as { detail?: string }).detail ?? '';
  } catch {
    detail = r.body.slice(0, 200);
  }
  if (r.status === 503) {
    const ra = header(r.headers, 'retry-after');
    return new UbError(
      'unavailable',
      `BSF unavailable (503): ${detail}`,
      r.status,
      ra !== undefined && /^\d{1,6}$/.test(ra.trim()) ? Number(ra) : undefined,
    );
  }
  if (r.status === 401) return new UbError('rejected', `BSF rejected the answer (401): ${detail}`, r.status);
  return new UbError('rejected', `BSF answered ${r.status}: ${detail}`, r.status);
}
