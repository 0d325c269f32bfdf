import { expect } from 'chai';
import { Milenage, computeOpc, rotate128, type MilenageConstants } from '../../../../shared/crypto/milenage.js';
import { generateVector } from '../../../../shared/crypto/aka-tokens.js';
import { createAkaAlgorithm } from '../../../../shared/crypto/aka-algorithm.js';
import { milenageSets, hex } from '../../../support/vectors.js';

describe('Milenage (TS 35.206) against all 20 TS 35.208 test sets', () => {
  const sets = milenageSets();
  it('has all 20 sets', () => expect(sets.map((s) => s.set)).to.deep.equal([...Array(20).keys()].map((i) => i + 1)));

  for (const v of sets) {
    it(`set ${v.set}: OPc from OP`, () => {
      expect(computeOpc(hex(v.k), hex(v.op)).toString('hex')).to.equal(v.opc);
    });
    for (const from of ['OPc', 'OP'] as const) {
      it(`set ${v.set}: f1, f1*, f2, f3, f4, f5, f5* and AUTN from ${from}`, () => {
        const m = from === 'OPc' ? new Milenage(hex(v.k), hex(v.opc)) : Milenage.fromOp(hex(v.k), hex(v.op));
        const o = m.all(hex(v.rand), hex(v.sqn), hex(v.amf));
        expect({
          mac_a: o.macA.toString('hex'),
          mac_s: o.macS.toString('hex'),
          res: o.res.toString('hex'),
          ck: o.ck.toString('hex'),
          ik: o.ik.toString('hex'),
          ak: o.ak.toString('hex'),
          ak_star: o.akStar.toString('hex'),
        }).to.deep.equal({
          mac_a: v.mac_a,
          mac_s: v.mac_s,
          res: v.res,
          ck: v.ck,
          ik: v.ik,
          ak: v.ak,
          ak_star: v.ak_star,
        });
        // the separate functions agree with the one-pass computation
        expect(m.f1(hex(v.rand), hex(v.sqn), hex(v.amf)).macA.toString('hex')).to.equal(v.mac_a);
        expect(m.f2345(hex(v.rand)).res.toString('hex')).to.equal(v.res);
        expect(m.f5star(hex(v.rand)).toString('hex')).to.equal(v.ak_star);
        const alg = createAkaAlgorithm(
          from === 'OPc'
            ? { algorithm: 'milenage', k: hex(v.k), opc: hex(v.opc) }
            : { algorithm: 'milenage', k: hex(v.k), op: hex(v.op) },
        );
        expect(generateVector(alg, hex(v.rand), hex(v.sqn), hex(v.amf)).autn.toString('hex')).to.equal(v.autn);
      });
    }
  }

  it('set 1 intermediate TEMP-based outputs match TS 35.208 §1.3 OUT1..OUT5 (digest)', () => {
    const v = sets[0]!;
    const o = new Milenage(hex(v.k), hex(v.opc)).all(hex(v.rand), hex(v.sqn), hex(v.amf));
    expect(Buffer.concat([o.macA, o.macS]).toString('hex')).to.equal('4a9ffac354dfafb301cfaf9ec4e871e9');
  });

  it('operator-chosen r and c constants (TS 35.206 §5.3) with a true bit rotation', () => {
    // TS 35.207-style data with every constant customised: r = 8, 19, 106, 74, 81 bits.
    const v = sets[0]!;
    const constants: MilenageConstants = {
      r: [8, 19, 106, 74, 81],
      c: [
        hex('465b5ce8b199b49faa5f0a2ee238a6bc'),
        hex('407f3970f1e68def5bb987c1b981217d'),
        hex('4e82c626bf644bc9e4ddcc085d5ced75'),
        hex('00d75b6abfb310a35b6edcab063231de'),
        hex('2b10460594a356a6cfcd8a0dc9ffbbd3'),
      ],
    };
    const o = new Milenage(hex(v.k), hex(v.opc), constants).all(hex(v.rand), hex(v.sqn), hex(v.amf));
    expect({
      f1: o.macA.toString('hex'),
      f1s: o.macS.toString('hex'),
      f2: o.res.toString('hex'),
      f3: o.ck.toString('hex'),
      f4: o.ik.toString('hex'),
      f5: o.ak.toString('hex'),
      f5s: o.akStar.toString('hex'),
    }).to.deep.equal({
      f1: '4fef17668a1b2bd1',
      f1s: '1f7db575c5bcc213',
      f2: 'e62ed6a1d8bd9325',
      f3: '6b4c2fa2e83f66e0c8d6b44165d84b8d',
      f4: 'c1b3127617efc1f3a2a392b451ab9306',
      f5: '24e4be006592',
      f5s: 'b1bf9ad8a2ae',
    });
    const alg = createAkaAlgorithm({ algorithm: 'milenage', k: hex(v.k), opc: hex(v.opc), constants });
    expect(generateVector(alg, hex(v.rand), hex(v.sqn), hex(v.amf)).autn.toString('hex')).to.equal(
      'db7f0ad0d395b9b94fef17668a1b2bd1',
    );
  });

  it('osmocom vector: K = OPc = 00..0f, RAND 0, SQN 0x22, AMF 0000', () => {
    const k = hex('000102030405060708090a0b0c0d0e0f');
    const alg = createAkaAlgorithm({ algorithm: 'milenage', k, opc: k });
    const av = generateVector(alg, Buffer.alloc(16), hex('000000000022'), hex('0000'));
    expect(av.autn.toString('hex')).to.equal('ec9320c2c2120000c8b7de2a3449f1bd');
    expect(av.ik.toString('hex')).to.equal('12cb2dd3e0ec8378f6fc1d606c619f47');
    expect(av.ck.toString('hex')).to.equal('7200a184d8f2c758fbdf87900ddbf275');
    expect(av.xres.toString('hex')).to.equal('e9fc88ccc8a35381');
    expect(computeOpc(k, Buffer.alloc(16)).toString('hex')).to.equal('c6a13b37878f5b826f4f8162a1c8d879');
  });

  describe('rotate128', () => {
    // independent reference: BigInt rotation towards the MSB
    const ref = (x: Buffer, r: number): string => {
      const n = BigInt('0x' + x.toString('hex'));
      const mask = (1n << 128n) - 1n;
      const out = r === 0 ? n : ((n << BigInt(r)) | (n >> BigInt(128 - r))) & mask;
      return out.toString(16).padStart(32, '0');
    };
    const x = hex('0123456789abcdeffedcba9876543210');
    for (const r of [0, 1, 7, 8, 9, 19, 64, 81, 106, 127]) {
      it(`rotates by ${r} bits like a BigInt rotation`, () => {
        expect(rotate128(x, r, Buffer.alloc(16)).toString('hex')).to.equal(ref(x, r));
      });
    }
  });

  it('rejects inputs of the wrong length', () => {
    const k = Buffer.alloc(16);
    expect(() => new Milenage(Buffer.alloc(15), k)).to.throw(RangeError);
    expect(() => new Milenage(k, Buffer.alloc(17))).to.throw(RangeError);
    const m = new Milenage(k, k);
    expect(() => m.f2345(Buffer.alloc(15))).to.throw(RangeError);
    expect(() => m.f1(k, Buffer.alloc(5), Buffer.alloc(2))).to.throw(RangeError);
    expect(() => m.f1(k, Buffer.alloc(6), Buffer.alloc(3))).to.throw(RangeError);
  });
});
