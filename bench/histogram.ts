/**
 * Latency histogram: log-linear buckets (32 per power of two, so any value is off by at most ~3 %), in
 * microseconds up to ~35 min. Fixed size, allocation-free to record, mergeable across workers.
 */
const SUB = 32; // buckets per power of two
const POWERS = 27; // up to 2^31 µs
const HISTOGRAM_SIZE = SUB * POWERS;

export class Histogram {
  readonly counts: Float64Array;
  total = 0;
  sumUs = 0;
  maxUs = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(HISTOGRAM_SIZE);
    if (counts) {
      this.counts.set(counts);
      for (let i = 0; i < HISTOGRAM_SIZE; i++) this.total += this.counts[i]!;
    }
  }

  /** Region 0 is [0, 32) µs in steps of 1; region p ≥ 1 is [32·2^(p-1), 32·2^p) in 32 steps of 2^(p-1). */
  static index(us: number): number {
    const n = Math.floor(us);
    if (n < SUB) return Math.max(0, n);
    if (n >= 2 ** 31) return HISTOGRAM_SIZE - 1;
    const p = 31 - Math.clz32(n) - 4; // 1 for [32, 64)
    if (p >= POWERS) return HISTOGRAM_SIZE - 1;
    return p * SUB + Math.floor(n / 2 ** (p - 1)) - SUB;
  }

  /** The upper edge of a bucket, in µs (what percentiles report: never optimistic). */
  static upper(i: number): number {
    if (i < SUB) return i + 1;
    const p = Math.floor(i / SUB);
    return (i - p * SUB + SUB + 1) * 2 ** (p - 1);
  }

  record(us: number): void {
    this.counts[Histogram.index(us)]! += 1;
    this.total++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(o: Histogram): void {
    for (let i = 0; i < HISTOGRAM_SIZE; i++) this.counts[i]! += o.counts[i]!;
    this.total += o.total;
    this.sumUs += o.sumUs;
    this.maxUs = Math.max(this.maxUs, o.maxUs);
  }

  /** The q-quantile (0 < q ≤ 1) in milliseconds; NaN when empty. */
  quantileMs(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(Histogram.upper(i), Math.max(this.maxUs, 1)) / 1000;
    }
    return this.maxUs / 1000;
  }

  meanMs(): number {
    return this.total ? this.sumUs / this.total / 1000 : NaN;
  }

  toJSON(): { counts: number[]; sumUs: number; maxUs: number } {
    return { counts: Array.from(this.counts), sumUs: this.sumUs, maxUs: this.maxUs };
  }

  static from(j: { counts: ArrayLike<number>; sumUs: number; maxUs: number }): Histogram {
    const h = new Histogram(j.counts);
    h.sumUs = j.sumUs;
    h.maxUs = j.maxUs;
    return h;
  }
}
