/**
 * Milenage, 3GPP TS 35.205 / 35.206: f1, f1*, f2, f3, f4, f5, f5* on AES-128.
 *
 *   OPc   = OP ⊕ E_K(OP)
 *   TEMP  = E_K(RAND ⊕ OPc)
 *   OUT1  = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) ⊕ OPc      IN1 = SQN ‖ AMF ‖ SQN ‖ AMF
 *   OUTi  = E_K(rot(TEMP ⊕ OPc, ri) ⊕ ci) ⊕ OPc            i = 2..5
 *
 * rot(x, r) rotates the 128-bit x cyclically by r bits towards the most significant bit (TS 35.206 §4.1).
 * The r and c constants are operator-configurable (TS 35.206 §5.3); the defaults are r = 64, 0, 32, 64, 96
 * and c = 0, 1, 2, 4, 8 in the last octet.
 */
import { AesBlock } from './aes-block.js';

export interface MilenageConstants {
  /** r1..r5 in bits, 0..127. */
  readonly r: readonly [number, number, number, number, number];
  /** c1..c5, 16 octets each. */
  readonly c: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
}

const cLast = (v: number): Buffer => {
  const b = Buffer.alloc(16);
  b[15] = v;
  return b;
};
export const STANDARD_CONSTANTS: MilenageConstants = Object.freeze({
  r: [64, 0, 32, 64, 96] as const,
  c: [cLast(0), cLast(1), cLast(2), cLast(4), cLast(8)] as const,
});

/** Writes rot(x, bits) into out (out !== x). */
export function rotate128<T extends Uint8Array>(x: Uint8Array, bits: number, out: T): T {
  const byteShift = (bits >>> 3) & 15;
  const bitShift = bits & 7;
  if (bitShift === 0) {
    for (let i = 0; i < 16; i++) out[i] = x[(i + byteShift) & 15]!;
  } else {
    for (let i = 0; i < 16; i++) {
      const hi = x[(i + byteShift) & 15]!;
      const lo = x[(i + byteShift + 1) & 15]!;
      out[i] = ((hi << bitShift) | (lo >>> (8 - bitShift))) & 0xff;
    }
  }
  return out;
}

export function computeOpc(k: Uint8Array, op: Uint8Array): Buffer {
  if (op.length !== 16) throw new RangeError('OP must be 16 octets');
  const e = new AesBlock(k).encrypt(op);
  for (let i = 0; i < 16; i++) e[i] = e[i]! ^ op[i]!;
  return e;
}

/** f2…f5* outputs; RES is f2 (8 octets in Milenage). */
export interface F2345 {
  res: Buffer; // f2, 8 octets
  ck: Buffer; // f3, 16 octets
  ik: Buffer; // f4, 16 octets
  ak: Buffer; // f5, 6 octets
}

/**
 * One subscriber's Milenage kernel: the AES key schedule for K is built once and reused for every block.
 * It uses scratch buffers, which is safe: every call is synchronous. Outputs are fresh buffers.
 */
export class Milenage {
  readonly opc: Buffer;
  readonly #aes: AesBlock;
  readonly #consts: MilenageConstants;
  readonly #standard: boolean;
  // scratch blocks, reused to keep the hot path allocation-light
  readonly #a = Buffer.alloc(16);
  readonly #b = Buffer.alloc(16);
  readonly #temp = Buffer.alloc(16);
  readonly #blocks = Buffer.alloc(80);

  constructor(k: Uint8Array, opc: Uint8Array, constants: MilenageConstants = STANDARD_CONSTANTS) {
    if (k.length !== 16) throw new RangeError('K must be 16 octets');
    if (opc.length !== 16) throw new RangeError('OPc must be 16 octets');
    this.#aes = new AesBlock(k);
    this.opc = Buffer.from(opc);
    this.#consts = constants;
    this.#standard = constants === STANDARD_CONSTANTS;
  }

  static fromOp(k: Uint8Array, op: Uint8Array, constants?: MilenageConstants): Milenage {
    return new Milenage(k, computeOpc(k, op), constants);
  }

  /** TEMP = E_K(RAND ⊕ OPc), kept in #temp. */
  #setTemp(rand: Uint8Array): void {
    if (rand.length !== 16) throw new RangeError('RAND must be 16 octets');
    const a = this.#a,
      opc = this.opc;
    for (let i = 0; i < 16; i++) a[i] = rand[i]! ^ opc[i]!;
    this.#aes.encrypt(a, this.#temp);
  }

  /** Writes the OUT1 input block TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1 at `at`. */
  #in1(sqn: Uint8Array, amf: Uint8Array, at: number): void {
    if (sqn.length !== 6) throw new RangeError('SQN must be 6 octets');
    if (amf.length !== 2) throw new RangeError('AMF must be 2 octets');
    const a = this.#a,
      b = this.#b,
      opc = this.opc,
      blocks = this.#blocks;
    for (let i = 0; i < 6; i++) {
      a[i] = sqn[i]! ^ opc[i]!;
      a[i + 8] = sqn[i]! ^ opc[i + 8]!;
    }
    a[6] = amf[0]! ^ opc[6]!;
    a[7] = amf[1]! ^ opc[7]!;
    a[14] = amf[0]! ^ opc[14]!;
    a[15] = amf[1]! ^ opc[15]!;
    rotate128(a, this.#consts.r[0], b);
    const c1 = this.#consts.c[0],
      temp = this.#temp;
    for (let i = 0; i < 16; i++) blocks[at + i] = b[i]! ^ temp[i]! ^ c1[i]!;
  }

  /** Writes the OUTi input block rot(TEMP ⊕ OPc, ri) ⊕ ci (i = 2..5) at `at`. */
  #inI(i: 2 | 3 | 4 | 5, at: number): void {
    const a = this.#a,
      opc = this.opc,
      temp = this.#temp,
      blocks = this.#blocks;
    for (let j = 0; j < 16; j++) a[j] = temp[j]! ^ opc[j]!;
    const r = this.#consts.r[i - 1]!;
    const byteShift = (r >>> 3) & 15;
    if ((r & 7) === 0) {
      for (let j = 0; j < 16; j++) blocks[at + j] = a[(j + byteShift) & 15]!;
    } else {
      rotate128(a, r, this.#b);
      this.#b.copy(blocks, at);
    }
    const c = this.#consts.c[i - 1]!;
    if (this.#standard)
      blocks[at + 15] = blocks[at + 15]! ^ c[15]!; // standard c has one non-zero octet
    else for (let j = 0; j < 16; j++) blocks[at + j] = blocks[at + j]! ^ c[j]!;
  }

  /**
   * Encrypts `count` prepared input blocks in one ECB call (the blocks are independent, so this is the same
   * as `count` single-block calls, with one crossing into OpenSSL) and XORs OPc into each output.
   */
  #encryptBlocks(count: number): Buffer {
    const out = this.#aes.encrypt(this.#blocks.subarray(0, count * 16));
    const opc = this.opc;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ opc[i & 15]!;
    return out;
  }

  /** f1 (MAC-A) and f1* (MAC-S). */
  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): { macA: Buffer; macS: Buffer } {
    this.#setTemp(rand);
    this.#in1(sqn, amf, 0);
    const out1 = this.#encryptBlocks(1);
    return { macA: out1.subarray(0, 8), macS: out1.subarray(8, 16) };
  }

  /** f2 (RES), f3 (CK), f4 (IK), f5 (AK). */
  f2345(rand: Uint8Array): F2345 {
    this.#setTemp(rand);
    this.#inI(2, 0);
    this.#inI(3, 16);
    this.#inI(4, 32);
    const out = this.#encryptBlocks(3);
    return { res: out.subarray(8, 16), ak: out.subarray(0, 6), ck: out.subarray(16, 32), ik: out.subarray(32, 48) };
  }

  /** f5* (AK*, resynchronisation anonymity key). */
  f5star(rand: Uint8Array): Buffer {
    this.#setTemp(rand);
    this.#inI(5, 0);
    return this.#encryptBlocks(1).subarray(0, 6);
  }

  /** Everything for one authentication vector: TEMP, then OUT1…OUT5 (6 block encryptions in all). */
  all(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): F2345 & { macA: Buffer; macS: Buffer; akStar: Buffer } {
    this.#setTemp(rand);
    this.#in1(sqn, amf, 0);
    this.#inI(2, 16);
    this.#inI(3, 32);
    this.#inI(4, 48);
    this.#inI(5, 64);
    const out = this.#encryptBlocks(5);
    return {
      macA: out.subarray(0, 8),
      macS: out.subarray(8, 16),
      ak: out.subarray(16, 22),
      res: out.subarray(24, 32),
      ck: out.subarray(32, 48),
      ik: out.subarray(48, 64),
      akStar: out.subarray(64, 70),
    };
  }
}
