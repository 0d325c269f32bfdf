/**
 * AKA token formats of TS 33.102 §6.3: the authentication vector, AUTN and AUTS, for both the network
 * (AuC) side and the USIM side.
 *
 *   AV   = RAND ‖ XRES ‖ CK ‖ IK ‖ AUTN
 *   AUTN = (SQN ⊕ AK) ‖ AMF ‖ MAC-A                      6 + 2 + 8 octets
 *   AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF = 0000)   6 + 8 octets (§6.3.3)
 */
import type { AkaAlgorithm } from './aka-algorithm.js';
import { secretEqual } from '../bytes.js';

/** The dummy AMF of MAC-S, so the real AMF never travels in clear during resynchronisation (TS 33.102 §6.3.3). */
export const RESYNC_AMF = Buffer.from([0, 0]);

export interface AuthVector {
  rand: Buffer; // 16
  xres: Buffer; // 4..16
  ck: Buffer; // 16
  ik: Buffer; // 16
  autn: Buffer; // 16
}

function xor6(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(6);
  for (let i = 0; i < 6; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export function buildAutn(
  alg: AkaAlgorithm,
  rand: Uint8Array,
  sqn: Uint8Array,
  amf: Uint8Array,
): { autn: Buffer; ak: Buffer; macA: Buffer } {
  const { macA } = alg.f1(rand, sqn, amf);
  const { ak } = alg.f2345(rand);
  return { autn: Buffer.concat([xor6(sqn, ak), amf, macA]), ak, macA };
}

/** AuC: one authentication vector for RAND and SQN (TS 33.102 §6.3.2). */
export function generateVector(alg: AkaAlgorithm, rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): AuthVector {
  const o = alg.all(rand, sqn, amf);
  const autn = Buffer.allocUnsafe(16);
  for (let i = 0; i < 6; i++) autn[i] = sqn[i]! ^ o.ak[i]!;
  autn[6] = amf[0]!;
  autn[7] = amf[1]!;
  o.macA.copy(autn, 8);
  return { rand: Buffer.from(rand), xres: o.res, ck: o.ck, ik: o.ik, autn };
}

/** USIM: AUTS for the highest accepted SQN_MS (TS 33.102 §6.3.3). */
export function buildAuts(
  alg: AkaAlgorithm,
  rand: Uint8Array,
  sqnMs: Uint8Array,
): { auts: Buffer; akStar: Buffer; macS: Buffer } {
  if (sqnMs.length !== 6) throw new RangeError('SQN_MS must be 6 octets');
  const akStar = alg.f5star(rand);
  const { macS } = alg.f1(rand, sqnMs, RESYNC_AMF);
  return { auts: Buffer.concat([xor6(sqnMs, akStar), macS]), akStar, macS };
}

/** AuC: recovers SQN_MS from AUTS and checks MAC-S (TS 33.102 §6.3.5). */
export function recoverSqnMs(
  alg: AkaAlgorithm,
  rand: Uint8Array,
  auts: Uint8Array,
): { sqnMs: Buffer; macSOk: boolean } {
  if (auts.length !== 14) throw new RangeError('AUTS must be 14 octets');
  const sqnMs = xor6(auts.subarray(0, 6), alg.f5star(rand));
  const { macS } = alg.f1(rand, sqnMs, RESYNC_AMF);
  return { sqnMs, macSOk: secretEqual(macS, auts.subarray(6, 14)) };
}

/** USIM: opens AUTN — SQN = (SQN ⊕ AK) ⊕ AK, then checks MAC-A (TS 33.102 §6.3.3 steps 1–2). */
export function openAutn(
  alg: AkaAlgorithm,
  rand: Uint8Array,
  autn: Uint8Array,
): { macOk: boolean; sqn: Buffer; amf: Buffer; res: Buffer; ck: Buffer; ik: Buffer } {
  if (autn.length !== 16) throw new RangeError('AUTN must be 16 octets');
  const f = alg.f2345(rand);
  const sqn = xor6(autn.subarray(0, 6), f.ak);
  const amf = Buffer.from(autn.subarray(6, 8));
  const { macA } = alg.f1(rand, sqn, amf);
  return { macOk: secretEqual(macA, autn.subarray(8, 16)), sqn, amf, res: f.res, ck: f.ck, ik: f.ik };
}
