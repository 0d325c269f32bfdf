/**
 * The AuC of the HSS-mock: authentication vectors per TS 33.102 §6.3.2 with SQN per Annex C, and
 * resynchronisation per §6.3.5 (verify MAC-S, adopt SQN_MS when needed, then a fresh vector). It throws the
 * domain errors of shared/services/errors.ts (UserUnknown, HssRefused); the Zh bindings map them to the wire.
 */
import { createAkaAlgorithm, type AkaAlgorithm } from '../shared/crypto/aka-algorithm.js';
import { generateVector, recoverSqnMs, type AuthVector } from '../shared/crypto/aka-tokens.js';
import { sqnFromBytes, sqnToBytes } from '../shared/crypto/sqn.js';
import { imsiOfUserId } from '../shared/identifiers.js';
import { HssRefused, UserUnknown } from '../shared/services/errors.js';
import type { SubscriberRecord, SubscriberStore } from '../shared/store/types.js';

export interface AucDeps {
  subscribers: SubscriberStore;
  random: (octets: number) => Buffer;
  indBits: number;
  delta: number;
}

export interface Resync {
  rand: Buffer;
  auts: Buffer;
}

/** Keeps one algorithm instance (AES key schedule) per subscriber key set; bounded. */
class AlgorithmCache {
  readonly #m = new Map<string, { fp: string; alg: AkaAlgorithm }>();
  constructor(readonly max = 10_000) {}
  get(s: SubscriberRecord): AkaAlgorithm {
    const fp = `${s.algorithm}:${s.k.toString('hex')}:${s.opc.toString('hex')}:${s.resLength}`;
    const hit = this.#m.get(s.imsi);
    if (hit && hit.fp === fp) return hit.alg;
    const alg = createAkaAlgorithm({ algorithm: s.algorithm, k: s.k, opc: s.opc, resLength: s.resLength });
    if (this.#m.size >= this.max) this.#m.delete(this.#m.keys().next().value!);
    this.#m.set(s.imsi, { fp, alg });
    return alg;
  }
}

export class Auc {
  readonly #algs = new AlgorithmCache();
  constructor(readonly deps: AucDeps) {}

  /** The IMSI behind a ueId (`imsi-…`, a derived IMPI, or a provisioned custom IMPI), else undefined. */
  async resolveUeId(ueId: string): Promise<string | undefined> {
    return imsiOfUserId(ueId) ?? (await this.deps.subscribers.imsiForImpi(ueId));
  }

  async generate(ueId: string, resync?: Resync): Promise<{ subscriber: SubscriberRecord; av: AuthVector }> {
    const imsi = await this.resolveUeId(ueId);
    if (!imsi) throw new UserUnknown(`no subscriber for ${ueId}`);
    let resyncSqnMs: number | undefined;
    if (resync) {
      const current = await this.deps.subscribers.get(imsi);
      if (!current) throw new UserUnknown(`no subscriber for ${ueId}`);
      const { sqnMs, macSOk } = recoverSqnMs(this.#algs.get(current), resync.rand, resync.auts);
      if (!macSOk) throw new HssRefused('MAC-S does not verify (TS 33.102 §6.3.5)');
      resyncSqnMs = sqnFromBytes(sqnMs);
    }
    const s = await this.deps.subscribers.advanceSqn(imsi, {
      indBits: this.deps.indBits,
      delta: this.deps.delta,
      resyncSqnMs,
    });
    if (!s) throw new UserUnknown(`no subscriber for ${ueId}`);
    const av = generateVector(this.#algs.get(s), this.deps.random(16), sqnToBytes(s.sqn), s.amf);
    return { subscriber: s, av };
  }
}
