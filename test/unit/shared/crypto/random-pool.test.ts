/** shared/crypto/random-pool.ts: octets from the CSPRNG, drawn in bulk, each handed out once and as a copy. */
import { expect } from 'chai';
import { randomOctets } from '../../../../shared/crypto/random-pool.js';

describe('random pool', () => {
  it('returns the asked length, including across pool refills and above the pooled size', () => {
    for (const n of [0, 1, 12, 16, 511, 512, 513, 5000]) expect(randomOctets(n)).to.have.length(n);
  });

  it('never hands out the same octets twice (4 MiB of 16-octet draws, all distinct)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 262_144; i++) seen.add(randomOctets(16).toString('hex'));
    expect(seen.size).to.equal(262_144);
  });

  it('hands out copies: changing one does not change later draws or the pool', () => {
    const a = randomOctets(16);
    a.fill(0);
    const b = randomOctets(16);
    expect(b.equals(Buffer.alloc(16))).to.equal(false);
    expect(a.buffer === b.buffer && a.byteOffset === b.byteOffset).to.equal(false);
  });

  it('looks uniform: every octet value turns up, none far more often than the others', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4096; i++) for (const x of randomOctets(64)) counts[x]!++;
    const mean = (4096 * 64) / 256;
    expect(Math.min(...counts)).to.be.above(mean * 0.8);
    expect(Math.max(...counts)).to.be.below(mean * 1.2);
  });

  it('refuses a negative or fractional length', () => {
    expect(() => randomOctets(-1)).to.throw(RangeError);
    expect(() => randomOctets(1.5)).to.throw(RangeError);
  });
});
