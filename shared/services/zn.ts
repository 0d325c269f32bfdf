/**
 * Zn as a transport-neutral service: what a NAF gets from the BSF for a B-TID (TS 33.220 §4.5.3; TS 29.109 §5
 * BIR/BIA, app 16777220; TS 29.309 N66 Nbsp_GBA). The HTTP binding (N66 JSON) and the Diameter binding both
 * implement ZnService on the NAF side; on the BSF side both bindings call one ZnProvider.
 *
 * Errors: BtidUnknown, NafNotAuthorized, PeerUnavailable (shared/services/errors.ts).
 */
import type { Uss } from '../store/types.js';

/** NAF_Id = FQDN ‖ Ua security protocol identifier (TS 33.220 Annex H). */
export interface NafId {
  fqdn: string;
  uaSecProtId: string; /* 10 lower-case hex digits */
}

export interface BootstrappingInfo {
  btid: string;
  impi: string;
  /** Ks_NAF (GBA_ME) or Ks_ext_NAF (GBA_U), 32 octets: ME-Key-Material / meKeyMaterial. */
  meKey: Buffer;
  /** Ks_int_NAF for GBA_U-aware NAFs: UICC-Key-Material / uiccKeyMaterial. */
  uiccKey?: Buffer;
  /** Key-ExpiryTime, epoch milliseconds. */
  expiresAtMs: number;
  /** BootstrapInfoCreationTime, epoch milliseconds. */
  createdAtMs: number;
  /** GBA-Type: '3G_GBA' (Diameter GBA-Type 0) unless the session says otherwise. */
  gbaType: string;
  ussList?: Array<{ uss: Uss }>;
}

/** NAF side: how a NAF asks a BSF. */
export interface ZnService {
  bootstrappingInfo(btid: string, nafId: NafId, gbaUAware: boolean): Promise<BootstrappingInfo>;
  close(): Promise<void>;
}

/** A NAF as the BSF knows it (config `bsf.nafs`): the token (HTTP) or Diameter identity it is known by. */
export interface NafIdentity {
  name: string;
  group?: string;
  fqdns: Array<{ fqdn: string; uaSecProtId?: string }>;
}

/** BSF side: the one Zn decision, called by the N66 handler and by the Diameter BIR handler alike. */
export interface ZnProvider {
  retrieve(
    naf: NafIdentity,
    btid: string,
    nafId: NafId,
    gbaUAware: boolean,
    gsIds?: number[],
  ): Promise<BootstrappingInfo>;
}
