import { expect } from 'chai';
import { createAkaAlgorithm } from '../../../../shared/crypto/aka-algorithm.js';
import { buildAuts, recoverSqnMs, openAutn, buildAutn, generateVector } from '../../../../shared/crypto/aka-tokens.js';
import { milenageSets, hex, loadVector } from '../../../support/vectors.js';

const set = (n: number) => milenageSets().find((s) => s.set === n)!;
const algOf = (n: number) => {
  const v = set(n);
  return createAkaAlgorithm({ algorithm: 'milenage', k: hex(v.k), opc: hex(v.opc) });
};

describe('AKA tokens (TS 33.102 §6.3)', () => {
  it('AUTN = SQN⊕AK ‖ AMF ‖ MAC-A for set 19 (published free5GC value)', () => {
    const v = set(19);
    expect(buildAutn(algOf(19), hex(v.rand), hex(v.sqn), hex(v.amf)).autn.toString('hex')).to.equal(
      'bb52e91c747ac3ab2a5c23d15ee351d5',
    );
  });

  it('the USIM opens AUTN: recovers SQN, checks MAC-A, yields RES/CK/IK', () => {
    const v = set(1);
    const o = openAutn(algOf(1), hex(v.rand), hex(v.autn));
    expect(o.macOk).to.equal(true);
    expect(o.sqn.toString('hex')).to.equal(v.sqn);
    expect(o.amf.toString('hex')).to.equal(v.amf);
    expect([o.res, o.ck, o.ik].map((b) => b.toString('hex'))).to.deep.equal([v.res, v.ck, v.ik]);
  });

  it('a one-bit change in AUTN or a different K is a MAC failure', () => {
    const v = set(1);
    const autn = hex(v.autn);
    autn[15] ^= 1;
    expect(openAutn(algOf(1), hex(v.rand), autn).macOk).to.equal(false);
    expect(openAutn(algOf(2), hex(v.rand), hex(v.autn)).macOk).to.equal(false);
  });

  it('AUTS of the worked Ub resync example (set 1, SQN_MS ff9bb4d0b608)', () => {
    const ex = loadVector<{ resync: { sqn_ms: string; auts: string; auts_b64: string } }>('ub-digest-example.json');
    const r = buildAuts(algOf(1), hex(set(1).rand), hex(ex.resync.sqn_ms));
    expect(r.auts.toString('hex')).to.equal(ex.resync.auts);
    expect(r.akStar.toString('hex')).to.equal('451e8beca43b');
    expect(r.macS.toString('hex')).to.equal('0010c1da38a75a31');
    expect(r.auts.toString('base64')).to.equal(ex.resync.auts_b64);
  });

  const published = [
    {
      name: 'osmocom K = OPc = 00..0f, RAND 0',
      k: '000102030405060708090a0b0c0d0e0f',
      opc: '000102030405060708090a0b0c0d0e0f',
      rand: '00000000000000000000000000000000',
      auts: '8711a0ec9e1637df17f80b384ee4',
      sqnMs: '00000000001f',
    },
    {
      name: 'hostap set 20 RAND',
      k: set(20).k,
      opc: set(20).opc,
      rand: set(20).rand,
      auts: '4f2039392ddd4bb4316ed4a14688',
      sqnMs: '000000000001',
    },
    {
      name: 'hostap test USIM, RAND aa..aa',
      k: set(20).k,
      opc: set(20).opc,
      rand: 'aa'.repeat(16),
      auts: '43681ad3daf006bcde405a207267',
      sqnMs: '00000000002a',
    },
  ];
  for (const p of published) {
    it(`recovers SQN_MS and verifies MAC-S of a published AUTS (${p.name})`, () => {
      const alg = createAkaAlgorithm({ algorithm: 'milenage', k: hex(p.k), opc: hex(p.opc) });
      const r = recoverSqnMs(alg, hex(p.rand), hex(p.auts));
      expect(r.sqnMs.toString('hex')).to.equal(p.sqnMs);
      expect(r.macSOk).to.equal(true);
      expect(buildAuts(alg, hex(p.rand), hex(p.sqnMs)).auts.toString('hex')).to.equal(p.auts);
    });
  }

  it('MAC-S uses AMF 0000, not the AV\'s AMF: the "ba853f3c123c01cf…" AUTS built with AMF b9b9 is rejected', () => {
    const r = recoverSqnMs(algOf(1), hex(set(1).rand), hex('ba853f3c123c01cfaf9ec4e871e9'));
    expect(r.macSOk).to.equal(false);
  });

  it('generateVector returns RAND, XRES, CK, IK, AUTN of the set', () => {
    const v = set(7);
    const av = generateVector(algOf(7), hex(v.rand), hex(v.sqn), hex(v.amf));
    expect([av.rand, av.xres, av.ck, av.ik, av.autn].map((b) => b.toString('hex'))).to.deep.equal([
      v.rand,
      v.res,
      v.ck,
      v.ik,
      v.autn,
    ]);
  });

  it('rejects AUTN/AUTS/SQN_MS of the wrong length', () => {
    const a = algOf(1);
    expect(() => openAutn(a, Buffer.alloc(16), Buffer.alloc(15))).to.throw(RangeError);
    expect(() => recoverSqnMs(a, Buffer.alloc(16), Buffer.alloc(13))).to.throw(RangeError);
    expect(() => buildAuts(a, Buffer.alloc(16), Buffer.alloc(7))).to.throw(RangeError);
  });
});
