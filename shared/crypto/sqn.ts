/**
 * Sequence numbers of TS 33.102 Annex C: SQN = SEQ ‖ IND (IND of `indBits` bits, 5 by default, C.3.2).
 * SQN is a 48-bit unsigned integer; JavaScript numbers hold it exactly (< 2^53).
 *
 * Network side (C.1.2, C.3.2): each new vector takes SEQ_HE + 1 and the next IND of a wrap-around counter,
 * so up to 2^indBits vectors may reach the USIM out of order and all still be accepted.
 * USIM side (C.2): one SEQ_MS per IND value; a SQN is fresh when SEQ > SEQ_MS(IND) and
 * SEQ − SEQ_MS(max) ≤ Δ (C.2.1). The optional age limit L (C.2.2) is not applied.
 */
export const SQN_MAX = 2 ** 48 - 1;
export const DEFAULT_IND_BITS = 5;
/** Δ of C.3.3 (2^28 in the example profile). */
export const DEFAULT_DELTA = 2 ** 28;

export function sqnToBytes(sqn: number): Buffer {
  if (!Number.isInteger(sqn) || sqn < 0 || sqn > SQN_MAX) throw new RangeError('SQN must be a 48-bit unsigned integer');
  const b = Buffer.alloc(6);
  b.writeUIntBE(sqn, 0, 6);
  return b;
}

export const sqnFromBytes = (b: Uint8Array): number => Buffer.from(b.buffer, b.byteOffset, 6).readUIntBE(0, 6);

export const seqOf = (sqn: number, indBits = DEFAULT_IND_BITS): number => Math.floor(sqn / 2 ** indBits);
export const indOf = (sqn: number, indBits = DEFAULT_IND_BITS): number => sqn % 2 ** indBits;
export const makeSqn = (seq: number, ind: number, indBits = DEFAULT_IND_BITS): number => seq * 2 ** indBits + ind;

/** Network side: the SQN after `sqnHe` — SEQ + 1 and the next IND (mod 2^indBits). */
export function nextNetworkSqn(sqnHe: number, indBits = DEFAULT_IND_BITS): number {
  const seq = seqOf(sqnHe, indBits) + 1;
  const ind = (indOf(sqnHe, indBits) + 1) % 2 ** indBits;
  const next = makeSqn(seq, ind, indBits);
  if (next > SQN_MAX) throw new RangeError('SQN space exhausted');
  return next;
}

/**
 * Network side, on resynchronisation (TS 33.102 §6.3.5, C.3.4): would the USIM accept the next SQN_HE,
 * given the SQN_MS it reported? If so SQN_HE stays; otherwise SQN_HE becomes SQN_MS (its SEQ; the
 * next vector then counts on from there).
 */
export function resyncNetworkSqn(
  sqnHe: number,
  sqnMs: number,
  indBits = DEFAULT_IND_BITS,
  delta = DEFAULT_DELTA,
): number {
  const nextSeq = seqOf(nextNetworkSqn(sqnHe, indBits), indBits);
  const msSeq = seqOf(sqnMs, indBits);
  const accepted = nextSeq > msSeq && nextSeq - msSeq <= delta;
  return accepted ? sqnHe : sqnMs;
}

/** USIM side: the SEQ_MS array of Annex C.2 with the freshness check. */
export class UsimSqnState {
  readonly #seqMs: number[];
  readonly #indBits: number;
  readonly #delta: number;
  #highest: number;

  /**
   * `sqnMs` is the highest previously accepted SQN (0 for a fresh card). Which slots it was accepted in is not
   * known, so every slot starts at its SEQ: only later SEQs are fresh.
   */
  constructor(sqnMs = 0, indBits = DEFAULT_IND_BITS, delta = DEFAULT_DELTA) {
    this.#indBits = indBits;
    this.#delta = delta;
    this.#seqMs = new Array<number>(2 ** indBits).fill(seqOf(sqnMs, indBits));
    this.#highest = sqnMs;
  }

  /** C.2.1: SEQ > SEQ_MS(IND) and SEQ − SEQ_MS(max) ≤ Δ. */
  isFresh(sqn: number): boolean {
    const seq = seqOf(sqn, this.#indBits);
    const ind = indOf(sqn, this.#indBits);
    return seq > this.#seqMs[ind]! && seq - seqOf(this.#highest, this.#indBits) <= this.#delta;
  }

  /** Records an accepted SQN: SEQ_MS(IND) := SEQ. */
  accept(sqn: number): void {
    this.#seqMs[indOf(sqn, this.#indBits)] = seqOf(sqn, this.#indBits);
    if (sqn > this.#highest) this.#highest = sqn;
  }

  /** The highest previously accepted SQN, which AUTS carries (C.2.4). */
  highestAccepted(): number {
    return this.#highest;
  }
}
