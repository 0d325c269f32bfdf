/**
 * The Diameter dictionary gba-sim speaks: every AVP of RFC 6733 used by the base protocol, the TS 29.229 Cx
 * AVPs that TS 29.109 reuses on Zh, and the TS 29.109 §6.3.1 GBA AVPs 400–420 (all with the V bit and
 * vendor 10415; M set except GUSS-Timestamp, §6.3.1.10). Types per RFC 6733 §4.2–4.3.
 */
export const VENDOR_3GPP = 10415;
/** TS 29.109 §4 / §5: the Zh and Zn application ids. */
export const APP_ZH = 16777221;
export const APP_ZN = 16777220;
/** RFC 6733 §2.4: the base protocol's application id (CER, DWR, DPR). */
export const APP_BASE = 0;
export const APP_RELAY = 0xffffffff;

export type AvpType =
  | 'OctetString'
  | 'UTF8String'
  | 'DiameterIdentity'
  | 'Unsigned32'
  | 'Integer32'
  | 'Unsigned64'
  | 'Enumerated'
  | 'Time'
  | 'Address'
  | 'Grouped';

export interface AvpDef {
  code: number;
  name: string;
  type: AvpType;
  /** 0 = base (no V bit). */
  vendorId: number;
  /** The M bit senders set (RFC 6733 §4.1: "MUST" column). */
  mandatory: boolean;
}

const base = (code: number, name: string, type: AvpType, mandatory = true): AvpDef => ({
  code,
  name,
  type,
  vendorId: 0,
  mandatory,
});
const tgpp = (code: number, name: string, type: AvpType, mandatory = true): AvpDef => ({
  code,
  name,
  type,
  vendorId: VENDOR_3GPP,
  mandatory,
});

export const AVPS: readonly AvpDef[] = [
  // RFC 6733 §4.5 (base AVPs), §5.3 (capabilities exchange), §6 (routing), §7 (errors), §8 (sessions)
  base(1, 'User-Name', 'UTF8String'),
  base(33, 'Proxy-State', 'OctetString'),
  base(257, 'Host-IP-Address', 'Address'),
  base(258, 'Auth-Application-Id', 'Unsigned32'),
  base(259, 'Acct-Application-Id', 'Unsigned32'),
  base(260, 'Vendor-Specific-Application-Id', 'Grouped'),
  base(263, 'Session-Id', 'UTF8String'),
  base(264, 'Origin-Host', 'DiameterIdentity'),
  base(265, 'Supported-Vendor-Id', 'Unsigned32'),
  base(266, 'Vendor-Id', 'Unsigned32'),
  base(267, 'Firmware-Revision', 'Unsigned32', false),
  base(268, 'Result-Code', 'Unsigned32'),
  base(269, 'Product-Name', 'UTF8String', false),
  base(273, 'Disconnect-Cause', 'Enumerated'),
  base(277, 'Auth-Session-State', 'Enumerated'),
  base(278, 'Origin-State-Id', 'Unsigned32'),
  base(279, 'Failed-AVP', 'Grouped'),
  base(280, 'Proxy-Host', 'DiameterIdentity'),
  base(281, 'Error-Message', 'UTF8String', false),
  base(282, 'Route-Record', 'DiameterIdentity'),
  base(283, 'Destination-Realm', 'DiameterIdentity'),
  base(284, 'Proxy-Info', 'Grouped'),
  base(293, 'Destination-Host', 'DiameterIdentity'),
  base(294, 'Error-Reporting-Host', 'DiameterIdentity', false),
  base(296, 'Origin-Realm', 'DiameterIdentity'),
  base(297, 'Experimental-Result', 'Grouped'),
  base(298, 'Experimental-Result-Code', 'Unsigned32'),
  base(299, 'Inband-Security-Id', 'Unsigned32'),
  // TS 29.109 §6.3.1.1–6.3.1.21
  tgpp(400, 'GBA-UserSecSettings', 'OctetString'),
  tgpp(401, 'Transaction-Identifier', 'OctetString'),
  tgpp(402, 'NAF-Id', 'OctetString'),
  tgpp(403, 'GAA-Service-Identifier', 'OctetString'),
  tgpp(404, 'Key-ExpiryTime', 'Time'),
  tgpp(405, 'ME-Key-Material', 'OctetString'),
  tgpp(406, 'UICC-Key-Material', 'OctetString'),
  tgpp(407, 'GBA_U-Awareness-Indicator', 'Enumerated'),
  tgpp(408, 'BootstrapInfoCreationTime', 'Time'),
  tgpp(409, 'GUSS-Timestamp', 'Time', false),
  tgpp(410, 'GBA-Type', 'Enumerated'),
  tgpp(411, 'UE-Id', 'OctetString'),
  tgpp(412, 'UE-Id-Type', 'Enumerated'),
  tgpp(413, 'UICC-App-Label', 'OctetString'),
  tgpp(414, 'UICC-ME', 'Enumerated'),
  tgpp(415, 'Requested-Key-Lifetime', 'Time'),
  tgpp(416, 'Private-Identity-Request', 'Enumerated'),
  tgpp(417, 'GBA-Push-Info', 'OctetString'),
  tgpp(418, 'NAF-SA-Identifier', 'OctetString'),
  tgpp(419, 'Security-Feature-Request', 'OctetString'),
  tgpp(420, 'Security-Feature-Response', 'OctetString'),
  // TS 29.229 §6.3 (reused on Zh, TS 29.109 §4.1)
  tgpp(601, 'Public-Identity', 'UTF8String'),
  tgpp(602, 'Server-Name', 'UTF8String'),
  tgpp(607, 'SIP-Number-Auth-Items', 'Unsigned32'),
  tgpp(608, 'SIP-Authentication-Scheme', 'UTF8String'),
  tgpp(609, 'SIP-Authenticate', 'OctetString'),
  tgpp(610, 'SIP-Authorization', 'OctetString'),
  tgpp(611, 'SIP-Authentication-Context', 'OctetString'),
  tgpp(612, 'SIP-Auth-Data-Item', 'Grouped'),
  tgpp(613, 'SIP-Item-Number', 'Unsigned32'),
  tgpp(625, 'Confidentiality-Key', 'OctetString'),
  tgpp(626, 'Integrity-Key', 'OctetString'),
];

export type AvpName = (typeof AVPS)[number]['name'];

const byName = new Map(AVPS.map((d) => [d.name, d]));
const byCode = new Map(AVPS.map((d) => [`${d.vendorId}:${d.code}`, d]));

export function avpDef(name: string): AvpDef {
  const d = byName.get(name);
  if (!d) throw new Error(`no AVP named ${name} in the dictionary`);
  return d;
}

export function avpByCode(code: number, vendorId: number): AvpDef | undefined {
  return byCode.get(`${vendorId}:${code}`);
}

/** RFC 6733 §3 and TS 29.109 §4.1/§5.1. */
export const CMD = { CE: 257, DW: 280, DP: 282, MA: 303, BI: 310 } as const;
export const COMMAND_NAMES: Record<number, string> = { 257: 'CE', 280: 'DW', 282: 'DP', 303: 'MA', 310: 'BI' };

/** RFC 6733 §7.1 result codes and TS 29.109 §6.3 experimental result codes used here. */
export const RC = {
  SUCCESS: 2001,
  COMMAND_UNSUPPORTED: 3001,
  UNABLE_TO_DELIVER: 3002,
  REALM_NOT_SERVED: 3003,
  TOO_BUSY: 3004,
  APPLICATION_UNSUPPORTED: 3007,
  INVALID_HDR_BITS: 3008,
  INVALID_AVP_BITS: 3009,
  UNKNOWN_PEER: 3010,
  AVP_UNSUPPORTED: 5001,
  INVALID_AVP_VALUE: 5004,
  MISSING_AVP: 5005,
  AVP_OCCURS_TOO_MANY_TIMES: 5009,
  NO_COMMON_APPLICATION: 5010,
  UNSUPPORTED_VERSION: 5011,
  UNABLE_TO_COMPLY: 5012,
  INVALID_AVP_LENGTH: 5014,
  INVALID_MESSAGE_LENGTH: 5015,
  // TS 29.109 §6.3.1.x (Experimental-Result-Code, vendor 10415)
  IDENTITY_UNKNOWN: 5401,
  NOT_AUTHORIZED: 5402,
  TRANSACTION_IDENTIFIER_INVALID: 5403,
} as const;
