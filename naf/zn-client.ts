/**
 * The NAF's Zn client (TS 29.309 Nbsp_GBA over HTTP) with its key cache: by B-TID + NAF_Id, in the store
 * (shared by NAF instances, expiring with the key) and in process memory for the hot path; one request in
 * flight per key.
 */
import { JsonClient, PeerUnavailable } from '../shared/http/client.js';
import type { NafKeyCache, NafKeyEntry } from '../shared/store/types.js';
import { forgetBtid, type RevocationCheck } from '../shared/store/revocations.js';

export class BtidUnknown extends Error { override readonly name = 'BtidUnknown'; }
export class NafNotAuthorized extends Error { override readonly name = 'NafNotAuthorized'; }
export { PeerUnavailable };

const nafIdHex = (fqdn: string, uaSecProtId: string): string => Buffer.from(fqdn, 'utf8').toString('hex') + uaSecProtId.toLowerCase();

export class ZnClient {
  readonly #http: JsonClient;
  readonly #local = new Map<string, NafKeyEntry>();
  readonly #inFlight = new Map<string, Promise<NafKeyEntry>>();

  constructor(znUrl: string, token: string, readonly cache: NafKeyCache, readonly maxLocal = 50_000, readonly revocations?: RevocationCheck) {
    this.#http = new JsonClient(znUrl, { token, timeoutMs: 3000 });
  }

  /** A revoked B-TID (C9): its keys leave the process cache, and fetches in flight are not joined any more. */
  forget(btid: string): void { forgetBtid(btid, this.#local, this.#inFlight); }

  /** Ks_(ext)_NAF for B-TID and NAF_Id = fqdn ‖ uaSecProtId; BtidUnknown when the BSF does not know it. */
  async key(btid: string, fqdn: string, uaSecProtId: string): Promise<NafKeyEntry> {
    const id = nafIdHex(fqdn, uaSecProtId);
    const k = `${btid}\u0000${id}`;
    const now = Date.now();
    const hit = this.#local.get(k);
    if (hit && hit.expiresMs > now) return hit;
    if (hit) this.#local.delete(k);
    let p = this.#inFlight.get(k);
    if (!p) {
      p = this.#fetch(btid, fqdn, uaSecProtId, id).finally(() => this.#inFlight.delete(k));
      this.#inFlight.set(k, p);
    }
    const e = await p;
    if (await this.revocations?.isRevoked(btid)) throw new BtidUnknown(btid);
    if (this.#local.size >= this.maxLocal) this.#local.delete(this.#local.keys().next().value!);
    this.#local.set(k, e);
    return e;
  }

  async #fetch(btid: string, fqdn: string, uaSecProtId: string, id: string): Promise<NafKeyEntry> {
    const cached = await this.cache.get(btid, id);
    if (cached && cached.expiresMs > Date.now()) return cached;
    const r = await this.#http.request('POST', '/bootstrapping-info-retrieval', { btId: btid, nafId: { nafFqdn: fqdn, uaSecProtId } });
    if (r.status === 404) throw new BtidUnknown(btid);
    if (r.status === 403) throw new NafNotAuthorized((r.body as { detail?: string } | undefined)?.detail ?? `BSF refused ${fqdn}`);
    if (r.status !== 200) throw new PeerUnavailable(`BSF answered ${r.status} on Zn`);
    const b = r.body as Record<string, unknown> | undefined;
    if (!b || typeof b.meKeyMaterial !== 'string' || !/^[0-9a-fA-F]{64}$/.test(b.meKeyMaterial) || typeof b.impi !== 'string') {
      throw new PeerUnavailable('BSF answered Zn without meKeyMaterial/impi');
    }
    const entry: NafKeyEntry = {
      btid, nafIdHex: id, keyHex: b.meKeyMaterial.toLowerCase(),
      uiccKeyHex: typeof b.uiccKeyMaterial === 'string' ? b.uiccKeyMaterial.toLowerCase() : undefined,
      impi: b.impi,
      expiresMs: Date.parse(String(b.keyExpiryTime)) || Date.now() + 60_000,
      createdMs: Date.parse(String(b.bootstrappingInfoCreationTime)) || Date.now(),
      gbaType: typeof b.gbaType === 'string' ? b.gbaType : '3G_GBA',
      ussList: Array.isArray(b.ussList) ? (b.ussList as NafKeyEntry['ussList']) : undefined,
    };
    await this.cache.put(entry);
    return entry;
  }

  close(): Promise<void> { return this.#http.close(); }
}
