/**
 * Bounds on PSK lookups, shared by the TLS and DTLS listeners. A lookup is a request to the NAF's PSK API and,
 * behind it, a Zn request to the BSF (docs/contracts.md C3), so a client must not be able to multiply them.
 */

/**
 * Longest PSK identity ever looked up (octets). RFC 4279 §5.3 asks for at least 128; OpenSSL's
 * PSK_MAX_IDENTITY_LEN is 256 and it refuses longer ones itself. A GBA identity `3GPP-bootstrapping.<B-TID>`
 * (TS 33.220 §4.5.2, TS 24.109 Annex F.3) fits easily.
 */
export const MAX_PSK_IDENTITY_OCTETS = 256;

/** True when the identity may be looked up at all (length only; what it names is the PSK API's business). */
export const identityWithinLimit = (identity: string | Uint8Array): boolean =>
  (typeof identity === 'string' ? Buffer.byteLength(identity, 'utf8') : identity.length) <= MAX_PSK_IDENTITY_OCTETS;

/**
 * Lookups one TLS connection may cause, whatever it sends: TLS 1.2 needs one (the ClientKeyExchange, RFC 4279 §2);
 * a TLS 1.3 ClientHello may offer several identities (RFC 8446 §4.2.11), of which we try this many.
 */
export const MAX_LOOKUPS_PER_CONNECTION = 4;

export interface SourceRateLimitOptions {
  /** Lookups per second each source address earns (token bucket refill). */
  ratePerSecond: number;
  /** Lookups a source may make at once (bucket size). */
  burst: number;
  /** Source addresses tracked (default 10000); the least recently seen are forgotten first. */
  maxSources?: number;
  now?: () => number;
}

/** A token bucket per source IP address. Memory is bounded by maxSources. */
export class SourceRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  readonly #opts: Required<SourceRateLimitOptions>;
  /** Lookups refused so far (for the listener's stats and metrics). */
  refused = 0;

  constructor(opts: SourceRateLimitOptions) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1)) throw new RangeError('rate limit: ratePerSecond > 0 and burst >= 1 expected');
    this.#opts = { maxSources: 10_000, now: Date.now, ...opts };
  }

  /** Spends one lookup for `address`; false (and counted) when its bucket is empty. */
  take(address: string): boolean {
    const now = this.#opts.now();
    const b = this.#buckets.get(address) ?? { tokens: this.#opts.burst, atMs: now };
    b.tokens = Math.min(this.#opts.burst, b.tokens + ((now - b.atMs) / 1000) * this.#opts.ratePerSecond);
    b.atMs = now;
    this.#buckets.delete(address); // re-insert: insertion order = recency
    this.#buckets.set(address, b);
    while (this.#buckets.size > this.#opts.maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens < 1) { this.refused++; return false; }
    b.tokens -= 1;
    return true;
  }
}
