/**
 * A token bucket per source IP address, for limits that must hold per client rather than globally: PSK lookups
 * on the (D)TLS listeners (issue 18 finding 3) and initial Ub requests at the BSF (finding 10).
 */

export interface SourceRateLimitOptions {
  /** Requests per second each source address earns (token bucket refill). */
  ratePerSecond: number;
  /** Requests a source may make at once (bucket size). */
  burst: number;
  /** Source addresses tracked (default 10000); the least recently seen are forgotten first. */
  maxSources?: number;
  now?: () => number;
}

/** A token bucket per source IP address. Memory is bounded by maxSources. */
export class SourceRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  readonly #opts: Required<SourceRateLimitOptions>;
  /** Requests refused so far (for the listener's stats and metrics). */
  refused = 0;

  constructor(opts: SourceRateLimitOptions) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1))
      throw new RangeError('rate limit: ratePerSecond > 0 and burst >= 1 expected');
    this.#opts = { maxSources: 10_000, now: Date.now, ...opts };
  }

  /** Spends one request for `address`; false (and counted) when its bucket is empty. */
  take(address: string): boolean {
    const now = this.#opts.now();
    const b = this.#buckets.get(address) ?? { tokens: this.#opts.burst, atMs: now };
    b.tokens = Math.min(this.#opts.burst, b.tokens + ((now - b.atMs) / 1000) * this.#opts.ratePerSecond);
    b.atMs = now;
    this.#buckets.delete(address); // re-insert: insertion order = recency
    this.#buckets.set(address, b);
    while (this.#buckets.size > this.#opts.maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens < 1) {
      this.refused++;
      return false;
    }
    b.tokens -= 1;
    return true;
  }
}
