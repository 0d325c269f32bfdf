/**
 * Zh over Diameter (TS 29.109 §4): MAR/MAA on the HSS's Diameter listener, with the same AuC and SQN logic
 * as the N65 binding (hss-mock/auc.ts). Unknown IMPI → Experimental-Result 5401; a resynchronisation whose
 * MAC-S does not verify → Result-Code 5012 DIAMETER_UNABLE_TO_COMPLY (RFC 6733 §7.1.5, as FHoSS answers).
 */
import { appHandler, type AppHandler } from '../shared/diameter/app.js';
import { APP_ZH, CMD, RC } from '../shared/diameter/dictionary.js';
import { avp } from '../shared/diameter/codec.js';
import { maaAvps, NO_STATE_MAINTAINED, readMar, vsai } from '../shared/diameter/gba.js';
import { HssRefused, UserUnknown } from '../shared/services/errors.js';
import { impiFromImsi } from '../shared/identifiers.js';
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';
import type { Auc } from './auc.js';

export interface ZhDiameterDeps {
  auc: Auc;
  mncDigits: 2 | 3;
  vectors: Counter;
  log: Logger;
}

export function marHandler(d: ZhDiameterDeps): AppHandler {
  return appHandler(APP_ZH, CMD.MA, async (req, conn) => {
    const mar = readMar(req.avps);
    try {
      const { subscriber, av } = await d.auc.generate(mar.impi, mar.resync);
      d.vectors.inc({ kind: mar.resync ? 'resync' : 'normal' });
      const impi = subscriber.impi ?? impiFromImsi(subscriber.imsi, d.mncDigits);
      return conn.answer(req, RC.SUCCESS, maaAvps(impi, av, subscriber.guss));
    } catch (e) {
      // The AuC's domain errors (hss-mock/auc.ts), mapped to the wire as the N65 binding maps them to 404/403.
      if (!(e instanceof UserUnknown) && !(e instanceof HssRefused)) throw e;
      d.log.info({ event: 'zh_diameter', peer: conn.peerHost, impi: mar.impi, error: e.name }, 'MAR refused');
      const a =
        e instanceof UserUnknown
          ? conn.answer(req, { experimental: RC.IDENTITY_UNKNOWN }, [avp('Auth-Session-State', NO_STATE_MAINTAINED)])
          : conn.answer(req, RC.UNABLE_TO_COMPLY, [avp('Auth-Session-State', NO_STATE_MAINTAINED)]);
      a.avps.splice(1, 0, vsai(APP_ZH));
      return a;
    }
  });
}
