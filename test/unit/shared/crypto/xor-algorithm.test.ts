import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { XorTestAlgorithm } from '../../../../shared/crypto/xor-algorithm.js';
import { generateVector, buildAuts, recoverSqnMs, openAutn } from '../../../../shared/crypto/aka-tokens.js';
import { hex } from '../../../support/vectors.js';

/**
 * An independent computation of TS 34.108 §8.1.2 on BigInts, written from the spec table rather than from the
 * implementation: XDOUT = K ⊕ RAND; CK/IK = XDOUT rotated left by 8/16 bits; AK = bits 24..71; MAC = XDOUT[0..63] ⊕ CDOUT.
 */
function reference(k: Buffer, rand: Buffer, sqn: Buffer, amf: Buffer, resOctets: number) {
  const big = (b: Buffer) => BigInt('0x' + b.toString('hex'));
  const hex128 = (n: bigint, bits: number) => n.toString(16).padStart(bits / 4, '0');
  const x = big(k) ^ big(rand);
  const m128 = (1n << 128n) - 1n;
  const rotl = (v: bigint, r: bigint) => ((v << r) | (v >> (128n - r))) & m128;
  const cdout = (big(sqn) << 16n) | big(amf);
  return {
    res: hex128(x >> BigInt(128 - resOctets * 8), resOctets * 8),
    ck: hex128(rotl(x, 8n), 128),
    ik: hex128(rotl(x, 16n), 128),
    ak: hex128((x >> 56n) & ((1n << 48n) - 1n), 48),
    mac: hex128((x >> 64n) ^ cdout, 64),
  };
}

describe('XOR test algorithm (TS 34.108 §8.1.2)', () => {
  it('hand-computed vector: K = 00..0f, RAND = 0, SQN = 000000000001, AMF = 8000', () => {
    const alg = new XorTestAlgorithm(hex('000102030405060708090a0b0c0d0e0f'));
    const o = alg.all(Buffer.alloc(16), hex('000000000001'), hex('8000'));
    expect(o.res.toString('hex')).to.equal('000102030405060708090a0b0c0d0e0f');
    expect(o.ck.toString('hex')).to.equal('0102030405060708090a0b0c0d0e0f00');
    expect(o.ik.toString('hex')).to.equal('02030405060708090a0b0c0d0e0f0001');
    expect(o.ak.toString('hex')).to.equal('030405060708');
    expect(o.macA.toString('hex')).to.equal('0001020304048607');
  });

  for (let i = 0; i < 50; i++) {
    const resOctets = [4, 8, 12, 16][i % 4]!;
    it(`random case ${i + 1} (RES ${resOctets} octets) agrees with the BigInt reference`, () => {
      const [k, rand, sqn, amf] = [randomBytes(16), randomBytes(16), randomBytes(6), randomBytes(2)];
      const alg = new XorTestAlgorithm(k, resOctets);
      const o = alg.all(rand, sqn, amf);
      const r = reference(k, rand, sqn, amf, resOctets);
      expect({
        res: o.res.toString('hex'),
        ck: o.ck.toString('hex'),
        ik: o.ik.toString('hex'),
        ak: o.ak.toString('hex'),
        mac: o.macA.toString('hex'),
      }).to.deep.equal(r);
      expect(o.akStar.toString('hex')).to.equal(r.ak);
    });
  }

  it('AUTN opens at the USIM and AUTS resynchronises (§8.1.2.2)', () => {
    const alg = new XorTestAlgorithm(randomBytes(16), 8);
    const rand = randomBytes(16);
    const av = generateVector(alg, rand, hex('00000000012a'), hex('8000'));
    const usim = openAutn(alg, rand, av.autn);
    expect(usim.macOk).to.equal(true);
    expect(usim.sqn.toString('hex')).to.equal('00000000012a');
    expect(usim.res).to.deep.equal(av.xres);
    const { auts } = buildAuts(alg, rand, hex('000000000777'));
    expect(recoverSqnMs(alg, rand, auts)).to.deep.equal({ sqnMs: hex('000000000777'), macSOk: true });
  });

  it('rejects a RES length outside 4..16 octets and a K of the wrong length', () => {
    expect(() => new XorTestAlgorithm(Buffer.alloc(16), 3)).to.throw(RangeError);
    expect(() => new XorTestAlgorithm(Buffer.alloc(16), 17)).to.throw(RangeError);
    expect(() => new XorTestAlgorithm(Buffer.alloc(15))).to.throw(RangeError);
  });
});
