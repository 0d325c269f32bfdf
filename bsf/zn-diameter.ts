/**
 * Zn over Diameter (TS 29.109 §5): BIR/BIA on the BSF's Diameter listener. The NAF is the one configured with
 * the connection's Origin-Host (bsf.nafs[].diameterHost) and may ask for the same NAF FQDNs as on N66; the
 * decision itself is the ZnProvider's, shared with the HTTP binding. Destination-Realm must be the BSF's
 * realm or the B-TID's domain (TS 29.109 §5.2: the NAF takes the realm from the B-TID).
 */
import { appHandler, type AppHandler } from '../shared/diameter/app.js';
import { APP_ZN, CMD, RC } from '../shared/diameter/dictionary.js';
import { biaAvps, readBir, vsai } from '../shared/diameter/gba.js';
import { BtidUnknown, NafNotAuthorized } from '../shared/services/errors.js';
import type { NafIdentity, ZnProvider } from '../shared/services/zn.js';
import type { Logger } from '../shared/log.js';

export interface ZnDiameterDeps {
  provider: ZnProvider;
  nafByHost: (originHost: string) => NafIdentity | undefined;
  realm: string;
  log: Logger;
}

export function birHandler(d: ZnDiameterDeps): AppHandler {
  return appHandler(APP_ZN, CMD.BI, async (req, conn) => {
    const bir = readBir(req.avps);
    const refuse = (code: number, why: string) => {
      d.log.info(
        { event: 'zn_diameter', peer: conn.peerHost, nafFqdn: bir.nafFqdn, uaSecProtId: bir.uaSecProtId, result: code },
        why,
      );
      const a = conn.answer(req, { experimental: code }, []);
      a.avps.splice(1, 0, vsai(APP_ZN));
      return a;
    };
    const realm = bir.destinationRealm.toLowerCase();
    const btidDomain = bir.btid.includes('@') ? bir.btid.slice(bir.btid.lastIndexOf('@') + 1).toLowerCase() : undefined;
    if (realm !== d.realm.toLowerCase() && realm !== btidDomain) {
      const a = conn.errorAnswer(
        req,
        RC.REALM_NOT_SERVED,
        undefined,
        `realm ${bir.destinationRealm} is not served here`,
      );
      a.avps.splice(1, 0, vsai(APP_ZN));
      return a;
    }
    const naf = d.nafByHost(conn.peerHost ?? '');
    if (!naf) return refuse(RC.NOT_AUTHORIZED, 'no NAF is configured with this Diameter identity');
    try {
      const info = await d.provider.retrieve(
        naf,
        bir.btid,
        { fqdn: bir.nafFqdn, uaSecProtId: bir.uaSecProtId },
        bir.gbaUAware,
        bir.gsIds,
      );
      return conn.answer(req, RC.SUCCESS, biaAvps(info));
    } catch (e) {
      if (e instanceof NafNotAuthorized) return refuse(RC.NOT_AUTHORIZED, e.message);
      if (e instanceof BtidUnknown) return refuse(RC.TRANSACTION_IDENTIFIER_INVALID, 'unknown or expired B-TID');
      throw e;
    }
  });
}
