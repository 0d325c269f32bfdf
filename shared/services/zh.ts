/**
 * Zh as a transport-neutral service: what the BSF needs from the HSS (TS 33.220 §4.5.2; TS 29.109 §4 MAR/MAA,
 * TS 29.562 N65). The HTTP binding (N65 JSON) and the Diameter binding (MAR/MAA, app 16777221) both implement
 * it, so the BSF's Ub logic never knows which one it talks to.
 *
 * Errors: UserUnknown, HssRefused, PeerUnavailable (shared/services/errors.ts).
 */
import type { AuthVector } from '../crypto/aka-tokens.js';
import type { Guss } from '../store/types.js';

/** TS 33.102 §6.3.5: the RAND of the challenge the USIM refused, and the AUTS it answered with. */
export interface ResyncInfo {
  rand: Buffer;
  auts: Buffer;
}

export interface ZhService {
  /** One authentication vector for the IMPI; with `resync`, after resynchronisation from RAND ‖ AUTS. */
  authVector(impi: string, resync?: ResyncInfo): Promise<AuthVector>;
  /** The subscriber's GBA User Security Settings (TS 29.109 Annex A), undefined when none is provisioned. */
  guss(impi: string): Promise<Guss | undefined>;
  close(): Promise<void>;
}
