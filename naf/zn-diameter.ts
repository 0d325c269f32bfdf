/**
 * The NAF's Zn over Diameter (TS 29.109 §5): a ZnService that sends BIR and reads BIA. Destination-Realm is
 * the configured BSF realm, else the B-TID's domain (TS 29.109 §5.2). 5403 → BtidUnknown, 5402 →
 * NafNotAuthorized, anything else unusable → PeerUnavailable.
 */
import { DiameterClient } from '../shared/diameter/peer.js';
import type { DiameterMetrics } from '../shared/diameter/metrics.js';
import { APP_ZN, CMD, RC } from '../shared/diameter/dictionary.js';
import { birAvps, experimentalResult, newSessionId, readBia } from '../shared/diameter/gba.js';
import { getU32 } from '../shared/diameter/codec.js';
import type { DiameterIdentity } from '../shared/diameter/identity.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from '../shared/services/errors.js';
import type { BootstrappingInfo, NafId, ZnService } from '../shared/services/zn.js';
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
      host: o.bsf.host,
      port: o.bsf.port,
      local: { ...o.local, applicationId: APP_ZN },
      log: o.log,
      metrics: o.metrics,
      requestTimeoutMs: o.requestTimeoutMs ?? 3000,
      watchdogMs: o.watchdogMs,
    });
  }

  async bootstrappingInfo(btid: string, nafId: NafId, gbaUAware: boolean): Promise<BootstrappingInfo> {
    const realm = this.o.bsf.realm ?? (btid.includes('@') ? btid.slice(btid.lastIndexOf('@') + 1) : this.o.local.realm);
    const bia = await this.#client.request({
      commandCode: CMD.BI,
      applicationId: APP_ZN,
      avps: birAvps(
        {
          sessionId: newSessionId(this.o.local.host),
          originHost: this.o.local.host,
          originRealm: this.o.local.realm,
          destinationRealm: realm,
          destinationHost: this.o.bsf.identity,
        },
        { btid, nafFqdn: nafId.fqdn, uaSecProtId: nafId.uaSecProtId, gbaUAware },
      ),
    });
    const er = experimentalResult(bia.avps);
    const rc = getU32(bia.avps, 'Result-Code');
    if (er === RC.TRANSACTION_IDENTIFIER_INVALID) throw new BtidUnknown(btid);
    if (er === RC.NOT_AUTHORIZED) throw new NafNotAuthorized(`BSF refused ${nafId.fqdn}`);
    if (rc !== RC.SUCCESS)
      throw new PeerUnavailable(
        `BSF answered BIR with ${er !== undefined ? `Experimental-Result ${er}` : `Result-Code ${rc}`}`,
      );
    try {
      return { btid, ...readBia(bia.avps) };
    } catch (e) {
      throw new PeerUnavailable(`BSF answered a malformed BIA: ${(e as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
