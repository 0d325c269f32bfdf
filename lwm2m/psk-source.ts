/**
 * The LwM2M server's client of the NAF's PSK API (docs/contracts.md C3):
 *
 *   POST {pskLookupUrl}  Authorization: Bearer <pskApiToken>
 *   {"pskIdentity": "<as sent in the handshake>", "uaSecProtId": hex10}
 *   → 200 {"psk": hex64, "endpoint", "btid", "impi", "expiresAt", "uaSecProtId"}; 404 unknown/expired B-TID; 400 malformed
 *
 * Every lookup names the Ua security protocol id, because Ks_NAF depends on it (NAF_Id = FQDN ‖ Ua id,
 * TS 33.220 Annex H; TS 33.222 §5.4): the TLS listener asks for its one suite (or 0100000007 under TLS 1.3), and a
 * DTLS listener can ask for whichever suite it negotiated. Answers are remembered per (Ua id, identity) without
 * the key, so the registration check can learn which endpoint an identity may register.
 *
 * 404 and 400 mean "no key for this identity" (null); anything else (401, 403, 5xx, no answer, a malformed 200)
 * rejects with PskSourceError, so a handshake fails without the failure being cached as "unknown".
 * Keys never appear in logs or errors; the response text is never echoed (it carries the key). The shapes are
 * the contract module shared/wire/sbi/psk-api.ts, which the NAF (naf/psk-api.ts) produces from.
 */
import { JsonClient, PeerUnavailable } from '../shared/http/client.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import { UaSecProtIdSchema } from '../shared/wire/sbi/common.js';
import { PskLookupAnswerSchema, type PskLookupRequest } from '../shared/wire/sbi/psk-api.js';
import type { PeerSecurity } from './peer.js';

export class PskSourceError extends Error {
  override readonly name = 'PskSourceError';
  constructor(
    readonly reason: 'unavailable' | 'unauthorized' | 'refused' | 'bad-answer',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface PskSourceOptions {
  token: string;
  /** Per request (default 4000 ms: below the TLS listener's 5 s resolve timeout). */
  timeoutMs?: number;
  /** Most identities remembered (default 100000); the oldest go first. */
  maxEntries?: number;
  now?: () => number;
  log?: Logger;
  /** gba_lwm2m_psk_lookups_total{result}: ok | unknown | bad_identity | expired | error. */
  lookups?: Counter;
}

export interface PskAnswer {
  key: Buffer;
  security: PeerSecurity;
}

export const PSK_LOOKUP_RESULTS = ['ok', 'unknown', 'bad_identity', 'expired', 'error'] as const;

export class PskSource {
  readonly #client: JsonClient;
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #log: Logger | undefined;
  readonly #lookups: Counter | undefined;
  /** (Ua id, identity) → what the NAF said, without the key. Insertion order = age. */
  readonly #known = new Map<string, PeerSecurity>();

  constructor(pskLookupUrl: string, opts: PskSourceOptions) {
    this.#client = new JsonClient(pskLookupUrl, {
      token: opts.token,
      timeoutMs: opts.timeoutMs ?? 4000,
      connections: 16,
    });
    this.#now = opts.now ?? Date.now;
    this.#maxEntries = opts.maxEntries ?? 100_000;
    this.#log = opts.log;
    this.#lookups = opts.lookups;
  }

  /** Asks the NAF. null: it does not know the identity (404), calls it malformed (400), or the key has expired. */
  async lookup(pskIdentity: string, uaSecProtId: string): Promise<PskAnswer | null> {
    if (!UaSecProtIdSchema.safeParse(uaSecProtId).success)
      throw new PskSourceError('refused', 'uaSecProtId must be 10 hex digits');
    const ua = uaSecProtId.toLowerCase();
    let res;
    try {
      const body: PskLookupRequest = { pskIdentity, uaSecProtId: ua };
      res = await this.#client.request('POST', '', body);
    } catch (err) {
      this.#count('error');
      throw new PskSourceError(
        'unavailable',
        `PSK API did not answer: ${err instanceof PeerUnavailable ? 'connection failed or timed out' : 'request failed'}`,
        { cause: err },
      );
    }
    if (res.status === 404 || res.status === 400) {
      this.#count(res.status === 404 ? 'unknown' : 'bad_identity');
      this.#known.delete(entryKey(ua, pskIdentity));
      this.#log?.info(
        { event: 'psk.lookup', pskIdentity, uaSecProtId: ua, status: res.status },
        res.status === 404 ? 'PSK API: unknown or expired B-TID' : 'PSK API: malformed identity',
      );
      return null;
    }
    if (res.status !== 200) {
      this.#count('error');
      const reason = res.status === 401 ? 'unauthorized' : 'refused';
      this.#log?.warn(
        { event: 'psk.lookup', pskIdentity, uaSecProtId: ua, status: res.status },
        'PSK API refused the lookup',
      );
      throw new PskSourceError(reason, `PSK API answered ${res.status}`);
    }
    const parsed = PskLookupAnswerSchema.safeParse(res.body);
    if (!parsed.success) {
      this.#count('error');
      // Name the members at fault, never their values: the body carries the key.
      const where = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
      throw new PskSourceError('bad-answer', `PSK API answer does not follow C3 (${where})`);
    }
    const a = parsed.data;
    if (a.uaSecProtId.toLowerCase() !== ua) {
      // A key for another NAF_Id would fail the handshake in a way that is hard to see; say so here.
      this.#count('error');
      throw new PskSourceError('bad-answer', `PSK API answered for Ua id ${a.uaSecProtId}, asked for ${ua}`);
    }
    const security: PeerSecurity = {
      pskIdentity,
      endpoint: a.endpoint,
      btid: a.btid,
      impi: a.impi,
      expiresAtMs: Date.parse(a.expiresAt),
      uaSecProtId: ua,
    };
    if (security.expiresAtMs <= this.#now()) {
      this.#count('expired');
      this.#known.delete(entryKey(ua, pskIdentity));
      return null;
    }
    this.#count('ok');
    this.#remember(security);
    return { key: Buffer.from(a.psk, 'hex'), security };
  }

  /** The key alone, as the TLS listener's resolvePsk wants it (a DTLS listener passes its negotiated suite's Ua id). */
  async resolvePsk(pskIdentity: string, uaSecProtId: string): Promise<Buffer | null> {
    return (await this.lookup(pskIdentity, uaSecProtId))?.key ?? null;
  }

  /** What the last successful lookup said, if it has not expired; undefined otherwise. No I/O. */
  security(pskIdentity: string, uaSecProtId: string): PeerSecurity | undefined {
    const key = entryKey(uaSecProtId.toLowerCase(), pskIdentity);
    const s = this.#known.get(key);
    if (s === undefined) return undefined;
    if (s.expiresAtMs <= this.#now()) {
      this.#known.delete(key);
      return undefined;
    }
    return { ...s };
  }

  /**
   * The remembered answer, or a fresh lookup when there is none (e.g. the TLS listener served the key from its
   * short cache after this entry was dropped). null when the NAF no longer knows the identity.
   */
  async describe(pskIdentity: string, uaSecProtId: string): Promise<PeerSecurity | null> {
    return this.security(pskIdentity, uaSecProtId) ?? (await this.lookup(pskIdentity, uaSecProtId))?.security ?? null;
  }

  /** Drops expired entries (the server's sweep calls it). */
  prune(): number {
    const now = this.#now();
    let n = 0;
    for (const [k, s] of this.#known)
      if (s.expiresAtMs <= now) {
        this.#known.delete(k);
        n++;
      }
    return n;
  }

  get size(): number {
    return this.#known.size;
  }

  /** Forgets what the NAF said for a revoked B-TID (C9): the next handshake or registration asks again. */
  forgetBtid(btid: string): void {
    for (const [k, s] of this.#known) if (s.btid === btid) this.#known.delete(k);
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  #remember(s: PeerSecurity): void {
    const key = entryKey(s.uaSecProtId, s.pskIdentity);
    this.#known.delete(key);
    this.#known.set(key, s);
    while (this.#known.size > this.#maxEntries) this.#known.delete(this.#known.keys().next().value!);
  }

  #count(result: (typeof PSK_LOOKUP_RESULTS)[number]): void {
    this.#lookups?.inc({ result });
  }
}

const entryKey = (uaSecProtId: string, identity: string): string => `${uaSecProtId} ${identity}`;
