/**
 * Glue between a Connection and an application handler (Zh or Zn): command check, and the error answers of
 * RFC 6733 §7 for faults the handler finds (5005 with Failed-AVP, 5004, 5014) — with the application's
 * Vendor-Specific-Application-Id, as the TS 29.109 answer ABNF requires it in every MAA/BIA.
 */
import { DiameterDecodeError, type DiameterMessage } from './codec.js';
import { RC } from './dictionary.js';
import { InvalidAvp, MissingAvp, vsai } from './gba.js';
import type { Connection } from './peer.js';

export type AppHandler = (req: DiameterMessage, conn: Connection) => Promise<DiameterMessage>;

export function appHandler(applicationId: number, commandCode: number, handle: AppHandler): AppHandler {
  return async (req, conn) => {
    if (req.commandCode !== commandCode)
      return conn.errorAnswer(req, RC.COMMAND_UNSUPPORTED, undefined, `command ${req.commandCode} is not served here`);
    try {
      return await handle(req, conn);
    } catch (e) {
      if (e instanceof MissingAvp || e instanceof InvalidAvp || e instanceof DiameterDecodeError) {
        const a = conn.errorAnswer(req, e.resultCode, e.failedAvp, e.message);
        a.avps.splice(1, 0, vsai(applicationId));
        return a;
      }
      throw e;
    }
  };
}
