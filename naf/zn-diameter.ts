/**
 * The NAF's Zn over Diameter (TS 29.109 §5): a ZnService that sends BIR and reads BIA. Destination-Realm is
 * the configured BSF realm, else the B-TID's domain (TS 29.109 §5.2). 5403 → BtidUnknown, 5402 →
 * NafNotAuthorized, anything else unusable → PeerUnavailable.
 */
import { forgetBtid } from '../shared/store/revocations.js';
import { DiameterClient } from '../shared/diameter/peer.js';
import type { DiameterMetrics } from '../shared/diameter/metrics.js';
import { APP_ZN, CMD, RC } from '../shared/diameter/dictionary.js';
import { birAvps, experimentalResult, newSessionId, readBia } from '../shared/diameter/gba.js';
import { getU32 } from '../shared/diameter/codec.js';
import type { DiameterIdentity } from '../shared/diameter/identity.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from '../shared/services/errors.js';
import type { BootstrappingInfo, NafId, ZnService } from '../shared/services/zn.js';
import type { NafKeyCache, NafKeyEntry } from '../shared/store/types.js';
import type { Logger } from '../shared/log.js';

export interface ZnDiameterOptions {
  local: DiameterIdentity;
  bsf: { host: string; port: number; realm?: string; identity?: string };
  log: Logger;
  metrics?: DiameterMetrics;
  requestTimeoutMs?: number;
  watchdogMs?: number;
}

export class ZnDiameterClient implements ZnService {
  readonly #client: DiameterClient;

  constructor(readonly o: ZnDiameterOptions) {
    this.#client = new DiameterClient({
      host: o.bsf.host, port: o.bsf.port, local: { ...o.local, applicationId: APP_ZN }, log: o.log, metrics: o.metrics,
      requestTimeoutMs: o.requestTimeoutMs ?? 3000, watchdogMs: o.watchdogMs,
    });
  }

  async bootstrappingInfo(btid: string, nafId: NafId, gbaUAware: boolean): Promise<BootstrappingInfo> {
    const realm = this.o.bsf.realm ?? (btid.includes('@') ? btid.slice(btid.lastIndexOf('@') + 1) : this.o.local.realm);
    const bia = await this.#client.request({
      commandCode: CMD.BI, applicationId: APP_ZN,
      avps: birAvps({ sessionId: newSessionId(this.o.local.host), originHost: this.o.local.host, originRealm: this.o.local.realm, destinationRealm: realm, destinationHost: this.o.bsf.identity },
        { btid, nafFqdn: nafId.fqdn, uaSecProtId: nafId.uaSecProtId, gbaUAware }),
    });
    const er = experimentalResult(bia.avps);
    const rc = getU32(bia.avps, 'Result-Code');
    if (er === RC.TRANSACTION_IDENTIFIER_INVALID) throw new BtidUnknown(btid);
    if (er === RC.NOT_AUTHORIZED) throw new NafNotAuthorized(`BSF refused ${nafId.fqdn}`);
    if (rc !== RC.SUCCESS) throw new PeerUnavailable(`BSF answered BIR with ${er !== undefined ? `Experimental-Result ${er}` : `Result-Code ${rc}`}`);
    try {
      return { btid, ...readBia(bia.avps) };
    } catch (e) { throw new PeerUnavailable(`BSF answered a malformed BIA: ${(e as Error).message}`); }
  }

  close(): Promise<void> { return this.#client.close(); }
}

/**
 * Adapter until the NAF's key cache sits on top of any ZnService (branch `contracts`): the `key()` the Ua and
 * PSK handlers call, over a ZnService, with the shared store cache and one request in flight per key.
 */
export class ZnServiceKeys {
  readonly #inFlight = new Map<string, Promise<NafKeyEntry>>();
  constructor(readonly zn: ZnService, readonly cache: NafKeyCache) {}

  /** Revocation (C9): drop what is in flight for the B-TID; the store cache refuses a revoked key itself. */
  forget(btid: string): void { forgetBtid(btid, new Map(), this.#inFlight); }

  key(btid: string, fqdn: string, uaSecProtId: string): Promise<NafKeyEntry> {
    const id = Buffer.from(fqdn, 'utf8').toString('hex') + uaSecProtId.toLowerCase();
    const k = `${btid}\u0000${id}`;
    let p = this.#inFlight.get(k);
    if (!p) {
      p = this.#fetch(btid, fqdn, uaSecProtId, id).finally(() => this.#inFlight.delete(k));
      this.#inFlight.set(k, p);
    }
    return p;
  }

  async #fetch(btid: string, fqdn: string, uaSecProtId: string, id: string): Promise<NafKeyEntry> {
    const cached = await this.cache.get(btid, id);
    if (cached && cached.expiresMs > Date.now()) return cached;
    const i = await this.zn.bootstrappingInfo(btid, { fqdn, uaSecProtId: uaSecProtId.toLowerCase() }, false);
    const entry: NafKeyEntry = {
      btid, nafIdHex: id, keyHex: i.meKey.toString('hex'), uiccKeyHex: i.uiccKey?.toString('hex'), impi: i.impi,
      expiresMs: i.expiresAtMs, createdMs: i.createdAtMs, gbaType: i.gbaType, ussList: i.ussList,
    };
    await this.cache.put(entry);
    return entry;
  }

  close(): Promise<void> { return this.zn.close(); }
}
