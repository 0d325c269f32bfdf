/**
 * The XOR test algorithm of 3GPP TS 34.108 §8.1.2, run by conformance test USIMs instead of Milenage.
 *
 *   XDOUT = K ⊕ RAND                    RES = XDOUT[0 .. n-1]   (n octets, 4..16)
 *   CK    = XDOUT[1..15] ‖ XDOUT[0]     IK  = XDOUT[2..15] ‖ XDOUT[0..1]
 *   AK    = XDOUT[3..8]                 MAC = XDOUT[0..7] ⊕ (SQN ‖ AMF)
 *   Resync (§8.1.2.2): AK* = AK, MAC-S = XDOUT[0..7] ⊕ (SQN_MS ‖ AMF), AMF = 0000 as in TS 33.102 §6.3.3.
 */
import type { AkaAlgorithm, AkaOutputs } from './aka-algorithm.js';

export class XorTestAlgorithm implements AkaAlgorithm {
  readonly name = 'xor' as const;
  readonly #k: Buffer;
  readonly #resLength: number;

  constructor(k: Uint8Array, resLength = 16) {
    if (k.length !== 16) throw new RangeError('K must be 16 octets');
    if (!Number.isInteger(resLength) || resLength < 4 || resLength > 16)
      throw new RangeError('RES length must be 4..16 octets');
    this.#k = Buffer.from(k);
    this.#resLength = resLength;
  }

  #xdout(rand: Uint8Array): Buffer {
    if (rand.length !== 16) throw new RangeError('RAND must be 16 octets');
    const x = Buffer.allocUnsafe(16);
    for (let i = 0; i < 16; i++) x[i] = this.#k[i]! ^ rand[i]!;
    return x;
  }

  #mac(x: Buffer, sqn: Uint8Array, amf: Uint8Array): Buffer {
    if (sqn.length !== 6) throw new RangeError('SQN must be 6 octets');
    if (amf.length !== 2) throw new RangeError('AMF must be 2 octets');
    const m = Buffer.allocUnsafe(8);
    for (let i = 0; i < 6; i++) m[i] = x[i]! ^ sqn[i]!;
    m[6] = x[6]! ^ amf[0]!;
    m[7] = x[7]! ^ amf[1]!;
    return m;
  }

  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array) {
    // f1 and f1* are the same function in the XOR algorithm; the caller picks the AMF (0000 for MAC-S).
    const mac = this.#mac(this.#xdout(rand), sqn, amf);
    return { macA: mac, macS: Buffer.from(mac) };
  }

  f2345(rand: Uint8Array) {
    const x = this.#xdout(rand);
    return {
      res: Buffer.from(x.subarray(0, this.#resLength)),
      ck: Buffer.concat([x.subarray(1), x.subarray(0, 1)]),
      ik: Buffer.concat([x.subarray(2), x.subarray(0, 2)]),
      ak: Buffer.from(x.subarray(3, 9)),
    };
  }

  f5star(rand: Uint8Array): Buffer {
    return Buffer.from(this.#xdout(rand).subarray(3, 9));
  }

  all(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): AkaOutputs {
    const { macA, macS } = this.f1(rand, sqn, amf);
    const f = this.f2345(rand);
    return { ...f, macA, macS, akStar: Buffer.from(f.ak) };
  }
}
