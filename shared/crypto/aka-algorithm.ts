/**
 * The authentication functions f1…f5* of TS 33.102 §6.3, as a USIM or an AuC runs them, behind one interface
 * so Milenage (TS 35.206) and the TS 34.108 XOR test algorithm are interchangeable per subscriber.
 */
import { Milenage, type MilenageConstants } from './milenage.js';
import { XorTestAlgorithm } from './xor-algorithm.js';

export interface AkaOutputs {
  macA: Buffer; // f1, 8 octets
  macS: Buffer; // f1*, 8 octets
  res: Buffer; // f2 (8 octets for Milenage; 4..16 for XOR)
  ck: Buffer; // f3, 16 octets
  ik: Buffer; // f4, 16 octets
  ak: Buffer; // f5, 6 octets
  akStar: Buffer; // f5*, 6 octets
}

export interface AkaAlgorithm {
  readonly name: 'milenage' | 'xor';
  /** f1 and f1* over (RAND, SQN, AMF). */
  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): { macA: Buffer; macS: Buffer };
  /** f2 (RES), f3 (CK), f4 (IK), f5 (AK). */
  f2345(rand: Uint8Array): { res: Buffer; ck: Buffer; ik: Buffer; ak: Buffer };
  /** f5* (AK*), used only for resynchronisation. */
  f5star(rand: Uint8Array): Buffer;
  /** All outputs at once (one pass for an authentication vector). */
  all(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): AkaOutputs;
}

export type AlgorithmName = 'milenage' | 'xor';

export interface SubscriberKeys {
  algorithm: AlgorithmName;
  k: Uint8Array;
  /** Milenage: OPc, or OP (then OPc is computed). Ignored by XOR. */
  opc?: Uint8Array;
  op?: Uint8Array;
  /** XOR only: RES length in octets, 4..16 (TS 34.108 §8.1.2: 32 < n ≤ 128 bits). */
  resLength?: number;
  /** Milenage only: operator-chosen r/c (TS 35.206 §5.3). */
  constants?: MilenageConstants;
}

class MilenageAlgorithm implements AkaAlgorithm {
  readonly name = 'milenage' as const;
  constructor(readonly m: Milenage) {}
  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array) {
    return this.m.f1(rand, sqn, amf);
  }
  f2345(rand: Uint8Array) {
    return this.m.f2345(rand);
  }
  f5star(rand: Uint8Array) {
    return this.m.f5star(rand);
  }
  all(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array) {
    return this.m.all(rand, sqn, amf);
  }
}

export function createAkaAlgorithm(keys: SubscriberKeys): AkaAlgorithm {
  if (keys.algorithm === 'xor') return new XorTestAlgorithm(keys.k, keys.resLength ?? 16);
  if (keys.opc) return new MilenageAlgorithm(new Milenage(keys.k, keys.opc, keys.constants));
  if (keys.op) return new MilenageAlgorithm(Milenage.fromOp(keys.k, keys.op, keys.constants));
  throw new RangeError('Milenage needs OP or OPc');
}
