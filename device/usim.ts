/**
 * A software USIM: AUTHENTICATE per TS 33.102 §6.3.3 with Milenage or the TS 34.108 XOR algorithm, its own
 * SQN_MS array with the Annex C freshness check, and AUTS on a synchronisation failure.
 */
import { createAkaAlgorithm, type AkaAlgorithm, type SubscriberKeys } from '../shared/crypto/aka-algorithm.js';
import { buildAuts, openAutn } from '../shared/crypto/aka-tokens.js';
import { DEFAULT_DELTA, DEFAULT_IND_BITS, sqnFromBytes, sqnToBytes, UsimSqnState } from '../shared/crypto/sqn.js';

export type AuthenticateResult =
  | { kind: 'ok'; res: Buffer; ck: Buffer; ik: Buffer; sqn?: number }
  | { kind: 'mac_failure' }
  // A real card never tells SQN or SQN_MS: AUTS conceals it with AK* (TS 33.102 §6.3.3), so they are optional.
  | { kind: 'sync_failure'; auts: Buffer; sqnMs?: number };

/**
 * What the device agent needs from a USIM, whichever it is: the software one below, a card in a PC/SC reader,
 * or a card behind a modem's AT+CSIM (device/usim/). A card answers asynchronously; the software USIM may not.
 */
export interface Usim {
  authenticate(rand: Uint8Array, autn: Uint8Array): AuthenticateResult | Promise<AuthenticateResult>;
}

export interface UsimOptions extends SubscriberKeys {
  /** Highest SQN this card has accepted (0 for a fresh card). */
  sqnMs?: number;
  indBits?: number;
  delta?: number;
}

export class SoftUsim implements Usim {
  readonly #alg: AkaAlgorithm;
  readonly #sqn: UsimSqnState;

  constructor(o: UsimOptions) {
    this.#alg = createAkaAlgorithm(o);
    this.#sqn = new UsimSqnState(o.sqnMs ?? 0, o.indBits ?? DEFAULT_IND_BITS, o.delta ?? DEFAULT_DELTA);
  }

  /** RAND and AUTN from the network → RES/CK/IK, or a MAC failure, or AUTS (TS 33.102 §6.3.3). */
  authenticate(rand: Uint8Array, autn: Uint8Array): AuthenticateResult {
    const o = openAutn(this.#alg, rand, autn);
    if (!o.macOk) return { kind: 'mac_failure' };
    const sqn = sqnFromBytes(o.sqn);
    if (!this.#sqn.isFresh(sqn)) {
      const sqnMs = this.#sqn.highestAccepted();
      return { kind: 'sync_failure', auts: buildAuts(this.#alg, rand, sqnToBytes(sqnMs)).auts, sqnMs };
    }
    this.#sqn.accept(sqn);
    return { kind: 'ok', res: o.res, ck: o.ck, ik: o.ik, sqn };
  }

  highestAcceptedSqn(): number {
    return this.#sqn.highestAccepted();
  }
}
