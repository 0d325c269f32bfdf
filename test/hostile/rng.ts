/**
 * A seeded pseudo-random source for the hostile-input generators: the same seed gives the same inputs on every
 * machine (mulberry32, 32-bit state), so a failing input is reproduced from its seed and index alone.
 */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
  /** A string of `n` characters from `alphabet` (default: printable ASCII). */
  str(
    n: number,
    alphabet = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~',
  ): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
  /** A length biased towards edges: 0, 1, small, powers of two ± 1, large. */
  length(max: number): number {
    const edges = [0, 1, 2, 15, 16, 17, 255, 256, 257, 1023, 1024, 4095, 4096, 65535, 65536].filter((n) => n <= max);
    return this.chance(0.5) ? this.pick(edges) : this.int(0, max);
  }
}

/** Random byte-level damage to `base`: flips, truncation, extension, overwrites of length fields with extremes. */
export function mutateBytes(rng: Rng, base: Buffer, protect = 0): Buffer {
  const b = Buffer.from(base);
  switch (rng.int(0, 5)) {
    case 0: {
      for (let i = rng.int(1, 4); i > 0 && b.length > protect; i--)
        b[rng.int(protect, b.length - 1)] ^= 1 << rng.int(0, 7);
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(Math.min(protect, b.length), b.length));
    case 2:
      return Buffer.concat([b, rng.bytes(rng.length(2048))]);
    case 3: {
      if (b.length > protect + 1) {
        const i = rng.int(protect, b.length - 2);
        b[i] = 0xff;
        b[i + 1] = 0xff;
      }
      return b;
    }
    case 4: {
      if (b.length > protect + 1) {
        const i = rng.int(protect, b.length - 2);
        b[i] = 0;
        b[i + 1] = 0;
      }
      return b;
    }
    default: {
      const i = rng.int(Math.min(protect, b.length), b.length);
      return Buffer.concat([b.subarray(0, i), rng.bytes(rng.int(1, 64)), b.subarray(i)]);
    }
  }
}
