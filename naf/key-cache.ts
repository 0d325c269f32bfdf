/**
 * The NAF's key cache over any ZnService (the HTTP binding today, Diameter alike): Ks_(ext)_NAF by B-TID +
 * NAF_Id, in the store (shared by NAF instances, expiring with the key) and in process memory for the hot
 * path; one Zn request in flight per key. Every lookup of a key by the NAF goes through `key()`, so a check
 * that must apply to every use (e.g. revocation) belongs there.
 */
import type { NafKeyCache, NafKeyEntry } from '../shared/store/types.js';
import type { BootstrappingInfo, ZnService } from '../shared/services/zn.js';
import { BtidUnknown } from '../shared/services/errors.js';
import { normalizeFqdn, normalizeUaSecProtId } from '../shared/identifiers.js';
import { forgetBtid, type RevocationCheck } from '../shared/store/revocations.js';

const nafIdHex = (fqdn: string, uaSecProtId: string): string => Buffer.from(fqdn, 'utf8').toString('hex') + uaSecProtId;

/** The cache form of what Zn answered. */
function toNafKeyEntry(nafIdHexValue: string, i: BootstrappingInfo): NafKeyEntry {
  return {
    btid: i.btid,
    nafIdHex: nafIdHexValue,
    keyHex: i.meKey.toString('hex'),
    uiccKeyHex: i.uiccKey?.toString('hex'),
    impi: i.impi,
    expiresAtMs: i.expiresAtMs,
    createdAtMs: i.createdAtMs,
    gbaType: i.gbaType,
    ussList: i.ussList,
  };
}

export interface NafKeysOptions {
  zn: ZnService;
  store: NafKeyCache;
  /** Most keys held in process memory (default 50000); the oldest go first. */
  maxLocal?: number;
  /** Revocation (C9): a freshly fetched key of a revoked B-TID is refused, not cached in memory. */
  revocations?: RevocationCheck;
  now?: () => number;
}

export class NafKeys {
  readonly #zn: ZnService;
  readonly #store: NafKeyCache;
  readonly #maxLocal: number;
  readonly #now: () => number;
  readonly #revocations: RevocationCheck | undefined;
  readonly #local = new Map<string, NafKeyEntry>();
  readonly #inFlight = new Map<string, Promise<NafKeyEntry>>();

  constructor(o: NafKeysOptions) {
    this.#zn = o.zn;
    this.#store = o.store;
    this.#maxLocal = o.maxLocal ?? 50_000;
    this.#now = o.now ?? Date.now;
    this.#revocations = o.revocations;
  }

  /** A revoked B-TID (C9): its keys leave the process cache, and fetches in flight are not joined any more. */
  forget(btid: string): void {
    forgetBtid(btid, this.#local, this.#inFlight);
  }

  /** Ks_(ext)_NAF for B-TID and NAF_Id = fqdn ‖ uaSecProtId; BtidUnknown when the BSF does not know it. */
  async key(btid: string, fqdnAsGiven: string, uaIdAsGiven: string): Promise<NafKeyEntry> {
    // NAF_Id in its one form (shared/identifiers.ts), for the cache key and for the request, whatever the binding.
    const fqdn = normalizeFqdn(fqdnAsGiven);
    const uaSecProtId = normalizeUaSecProtId(uaIdAsGiven);
    const id = nafIdHex(fqdn, uaSecProtId);
    const k = `${btid}\u0000${id}`;
    const hit = this.#local.get(k);
    if (hit && hit.expiresAtMs > this.#now()) return hit;
    if (hit) this.#local.delete(k);
    let p = this.#inFlight.get(k);
    if (!p) {
      p = this.#fetch(btid, fqdn, uaSecProtId, id).finally(() => this.#inFlight.delete(k));
      this.#inFlight.set(k, p);
    }
    const e = await p;
    if (await this.#revocations?.isRevoked(btid)) throw new BtidUnknown(btid);
    if (this.#local.size >= this.#maxLocal) this.#local.delete(this.#local.keys().next().value!);
    this.#local.set(k, e);
    return e;
  }

  async #fetch(btid: string, fqdn: string, uaSecProtId: string, id: string): Promise<NafKeyEntry> {
    const cached = await this.#store.get(btid, id);
    if (cached && cached.expiresAtMs > this.#now()) return cached;
    const info = await this.#zn.bootstrappingInfo(btid, { fqdn, uaSecProtId }, false);
    const entry = toNafKeyEntry(id, info);
    await this.#store.put(entry);
    return entry;
  }

  close(): Promise<void> {
    return this.#zn.close();
  }
}
