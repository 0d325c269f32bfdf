/**
 * A ZnProvider over the BSF's session store, for the Diameter BIR handler until the HTTP Zn handler
 * (bsf/zn.ts) is itself turned into the one ZnProvider (then this file goes). Same rules as bsf/zn.ts:
 * the NAF's FQDN allow-list (5402), unknown/expired B-TID (5403), Ks_NAF derived with NAF_Id exactly as
 * received (TS 33.220 Annex B.3), Ks_int_NAF only for GBA_U sessions and GBA_U-aware NAFs.
 */
import { ksIntNaf, ksNaf } from '../shared/crypto/kdf.js';
import { parseBtid } from '../shared/identifiers.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import { BtidUnknown, NafNotAuthorized } from '../shared/services/errors.js';
import type { BootstrappingInfo, NafId, NafIdentity, ZnProvider } from '../shared/services/zn.js';
import type { Guss, SessionStore } from '../shared/store/types.js';
import { selectUss } from './zn.js';

export interface SessionZnDeps {
  sessions: SessionStore;
  guss: (impi: string) => Promise<Guss | undefined>;
  log: Logger;
  requests: Counter;
  now: () => number;
}

export class SessionZnProvider implements ZnProvider {
  constructor(readonly d: SessionZnDeps) {}

  async retrieve(naf: NafIdentity, btid: string, nafId: NafId, gbaUAware: boolean, gsIds?: number[]): Promise<BootstrappingInfo> {
    const { d } = this;
    const fqdn = nafId.fqdn.toLowerCase();
    const uaId = nafId.uaSecProtId.toLowerCase();
    if (!naf.fqdns.some((f) => f.fqdn.toLowerCase() === fqdn && (f.uaSecProtId === undefined || f.uaSecProtId === uaId))) {
      d.requests.inc({ result: 'forbidden' });
      d.log.warn({ event: 'zn', naf: naf.name, nafFqdn: fqdn, uaSecProtId: uaId, outcome: 'forbidden' }, 'NAF asked for a NAF_Id it is not configured for');
      throw new NafNotAuthorized(`NAF ${naf.name} may not request keys for ${fqdn} ‖ ${uaId}`);
    }
    let rand: Buffer;
    try { rand = parseBtid(btid).rand; } catch { d.requests.inc({ result: 'not_found' }); throw new BtidUnknown(btid); }
    const s = await d.sessions.get(btid);
    if (!s || s.expiresMs <= d.now()) { d.requests.inc({ result: 'not_found' }); throw new BtidUnknown(btid); }
    const input = { ks: s.ks, rand, impi: s.impi, nafFqdn: nafId.fqdn, uaSecProtId: Buffer.from(uaId, 'hex') };
    const ussList = selectUss(await d.guss(s.impi).catch(() => undefined), naf.group, gsIds);
    d.requests.inc({ result: 'ok' });
    d.log.info({ event: 'zn', naf: naf.name, btid, nafFqdn: fqdn, uaSecProtId: uaId, outcome: 'ok' }, 'key material delivered');
    return {
      btid, impi: s.impi, meKey: ksNaf(input), ...(s.gbaU && gbaUAware ? { uiccKey: ksIntNaf(input) } : {}),
      expiresAtMs: s.expiresMs, createdAtMs: s.createdMs, gbaType: '3G_GBA', ...(ussList.length ? { ussList } : {}),
    };
  }
}
