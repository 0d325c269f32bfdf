/**
 * Short-lived cache in front of the PSK lookup (the NAF's PSK API, docs/contracts.md C3).
 *
 * - One request in flight per (TLS version, identity): concurrent first handshakes share it.
 * - Answers are cached for `ttlMs`, the negative ones (null: unknown or expired B-TID) too, so a burst of
 *   handshakes with an unknown identity costs one lookup.
 * - Failures (the resolver throws, answers something that is not a key, or takes longer than `timeoutMs`)
 *   are not cached: every waiter gets the rejection, and the next handshake asks again.
 * - At most `maxEntries` answers are kept; the oldest go first.
 * - Identities over MAX_PSK_IDENTITY_OCTETS are unknown without asking (every path into the resolver is capped).
 * Keys are kept as private copies and never appear in errors.
 */
import { identityWithinLimit } from '../lookup-limits.js';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface PskLookupContext {
  /** The Ua security protocol differs by version (TS 33.222: TLS 1.3 has its own Ua id), and so does Ks_NAF. */
  tlsVersion: TlsVersion;
}

export type PskResolver = (identity: string, ctx: PskLookupContext) => Promise<Buffer | null>;

export interface PskResolverCacheOptions {
  ttlMs: number;
  timeoutMs: number;
  maxEntries?: number;
  /** Longest key accepted from the resolver (octets); OpenSSL's PSK_MAX_PSK_LEN is 512. */
  maxKeyLength?: number;
  now?: () => number;
}

/** The resolver failed; the message never contains key material. */
export class PskResolveError extends Error {
  override readonly name = 'PskResolveError';
  constructor(
    readonly reason: 'timeout' | 'resolver-error' | 'bad-answer',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface Entry {
  key: Buffer | null;
  expiresAtMs: number;
}

export class PskResolverCache {
  private readonly answers = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Buffer | null>>();
  private readonly maxEntries: number;
  private readonly maxKeyLength: number;
  private readonly now: () => number;
  /** Resolver calls made (for tests and metrics). */
  calls = 0;

  constructor(
    private readonly resolve: PskResolver,
    private readonly opts: PskResolverCacheOptions,
  ) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.maxKeyLength = opts.maxKeyLength ?? 512;
    this.now = opts.now ?? Date.now;
  }

  get pending(): number {
    return this.inFlight.size;
  }
  get size(): number {
    return this.answers.size;
  }

  /** The cached answer if still fresh, else undefined (not the same as a cached null). */
  peek(identity: string, tlsVersion: TlsVersion): Buffer | null | undefined {
    const id = cacheKey(identity, tlsVersion);
    const hit = this.answers.get(id);
    if (hit === undefined) return undefined;
    if (hit.expiresAtMs <= this.now()) {
      this.answers.delete(id);
      return undefined;
    }
    return hit.key;
  }

  /** True when a lookup of this identity would not call the resolver (a fresh answer, or one in flight). */
  has(identity: string, tlsVersion: TlsVersion): boolean {
    return this.peek(identity, tlsVersion) !== undefined || this.inFlight.has(cacheKey(identity, tlsVersion));
  }

  /** Resolves to the key, or null when the resolver does not know the identity; rejects with PskResolveError. */
  lookup(identity: string, tlsVersion: TlsVersion): Promise<Buffer | null> {
    if (!identityWithinLimit(identity)) return Promise.resolve(null);
    const cached = this.peek(identity, tlsVersion);
    if (cached !== undefined) return Promise.resolve(cached);
    const id = cacheKey(identity, tlsVersion);
    const running = this.inFlight.get(id);
    if (running) return running;
    const p: Promise<Buffer | null> = this.run(identity, tlsVersion).then(
      // Not stored when forgetWhere dropped this lookup meanwhile (a revoked identity).
      (key) => {
        if (this.inFlight.get(id) === p) {
          this.inFlight.delete(id);
          this.store(id, key);
        }
        return key;
      },
      (err: unknown) => {
        if (this.inFlight.get(id) === p) this.inFlight.delete(id);
        throw err;
      },
    );
    this.inFlight.set(id, p);
    // Nobody may be waiting any more (every connection closed): the rejection must still count as handled.
    p.catch(() => undefined);
    return p;
  }

  clear(): void {
    this.answers.clear();
  }

  /** Drops the answers, and the lookups in flight, for every identity `drop` names (e.g. a revoked B-TID's). */
  forgetWhere(drop: (identity: string) => boolean): void {
    for (const m of [this.answers, this.inFlight])
      for (const k of m.keys()) if (drop(k.slice(k.indexOf(' ') + 1))) m.delete(k);
  }

  private run(identity: string, tlsVersion: TlsVersion): Promise<Buffer | null> {
    this.calls++;
    return new Promise<Buffer | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new PskResolveError('timeout', `PSK lookup took longer than ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      timer.unref();
      let answer: Promise<Buffer | null>;
      try {
        answer = Promise.resolve(this.resolve(identity, { tlsVersion }));
      } catch (err) {
        answer = Promise.reject(err);
      }
      answer.then(
        (key) => {
          clearTimeout(timer);
          if (key === null) return resolve(null);
          if (!(key instanceof Uint8Array) || key.length === 0 || key.length > this.maxKeyLength) {
            return reject(
              new PskResolveError(
                'bad-answer',
                `PSK lookup answered neither null nor a key of 1..${this.maxKeyLength} octets`,
              ),
            );
          }
          resolve(Buffer.from(key)); // a private copy: the caller may reuse or wipe its buffer
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(
            new PskResolveError(
              'resolver-error',
              `PSK lookup failed: ${err instanceof Error ? err.name : typeof err}`,
              { cause: err },
            ),
          );
        },
      );
    });
  }

  private store(id: string, key: Buffer | null): void {
    const nowMs = this.now();
    // Insertion order is expiry order (one TTL), so expired answers sit at the front.
    for (const [k, e] of this.answers) {
      if (e.expiresAtMs > nowMs && this.answers.size < this.maxEntries) break;
      this.answers.delete(k);
    }
    this.answers.delete(id);
    this.answers.set(id, { key, expiresAtMs: nowMs + this.opts.ttlMs });
  }
}

const cacheKey = (identity: string, tlsVersion: TlsVersion): string => `${tlsVersion} ${identity}`;
