/**
 * GBA identifiers: IMPI from IMSI, BSF domain, B-TID, NAF_Id, PSK identity and LwM2M endpoint names.
 * Pure functions: no I/O.
 */
import { createHmac } from 'node:crypto';
import { InputError } from './errors.js';

export const PSK_IDENTITY_PREFIX = '3GPP-bootstrapping';
export const PSK_IDENTITY_HINT = '3GPP-bootstrapping';

export interface HomeNetwork {
  mcc: string;
  mnc: string;
}

/** IMSI: MCC (3) ‖ MNC (2 or 3) ‖ MSIN, at most 15 digits (TS 23.003 §2.2). */
export function checkImsi(imsi: string): void {
  if (!/^\d{6,15}$/.test(imsi)) throw new InputError('IMSI must be 6 to 15 digits');
}

/** MCC and MNC read from an IMSI, given the MNC length the operator uses. */
export function homeNetworkOfImsi(imsi: string, mncDigits: 2 | 3): HomeNetwork {
  checkImsi(imsi);
  return { mcc: imsi.slice(0, 3), mnc: imsi.slice(3, 3 + mncDigits) };
}

const mnc3 = (mnc: string): string => mnc.padStart(3, '0');

/** IMPI derived from the IMSI when there is no ISIM (TS 23.003 §13.3): MNC always written with 3 digits. */
export function impiFromImsi(imsi: string, mncDigits: 2 | 3): string {
  const { mcc, mnc } = homeNetworkOfImsi(imsi, mncDigits);
  return `${imsi}@ims.mnc${mnc3(mnc)}.mcc${mcc}.3gppnetwork.org`;
}

/** The IMSI in an IMPI of the derived form, or in a ueId `imsi-<IMSI>` (TS 29.562); else undefined. */
export function imsiOfUserId(id: string): string | undefined {
  const m = /^imsi-(\d{5,15})$/.exec(id) ?? /^(\d{5,15})@/.exec(id);
  return m?.[1];
}

/** BSF address without ISIM (TS 23.003 §16.2): bsf.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org. */
export const bsfDomain = (h: HomeNetwork): string => `bsf.mnc${mnc3(h.mnc)}.mcc${h.mcc}.pub.3gppnetwork.org`;
/** Default NAF and LwM2M server names in the same operator domain. */
export const defaultNafFqdn = (h: HomeNetwork): string => `naf.mnc${mnc3(h.mnc)}.mcc${h.mcc}.pub.3gppnetwork.org`;
export const defaultLwm2mFqdn = (h: HomeNetwork): string => `lwm2m.mnc${mnc3(h.mnc)}.mcc${h.mcc}.pub.3gppnetwork.org`;

/**
 * The one form of a NAF's FQDN, used wherever NAF_Id = FQDN ‖ Ua security protocol id is compared or fed to the
 * KDF (TS 33.220 Annex B.3, Annex H): ASCII letters in lower case (DNS names compare case-insensitively, RFC 4343
 * §2, which leaves non-ASCII octets alone) and no trailing dot (the root label; RFC 1034 §3.1 — "naf.example."
 * and "naf.example" are the same name). Both ends of Zn and the UE derive with this form, so a NAF that writes
 * its name differently still gets the key the UE computes.
 */
export function normalizeFqdn(fqdn: string): string {
  return fqdn.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/\.$/, '');
}

/** Ua security protocol ids (10 hex digits, TS 33.220 Annex H) compare case-insensitively: lower case is ours. */
export const normalizeUaSecProtId = (id: string): string => id.toLowerCase();

/** B-TID = base64(RAND) "@" BSF server domain name (TS 33.220 §4.5.2). */
export function btidFromRand(rand: Uint8Array, domain: string): string {
  if (rand.length !== 16) throw new RangeError('RAND must be 16 octets');
  return `${Buffer.from(rand).toString('base64')}@${domain}`;
}

const BTID = /^([A-Za-z0-9+/]{22}==)@([A-Za-z0-9.-]{1,253})$/;

/** Splits a B-TID into RAND and domain; InputError if it is not of the TS 33.220 form. */
export function parseBtid(btid: string): { rand: Buffer; domain: string } {
  const m = BTID.exec(btid);
  if (!m) throw new InputError('B-TID must be base64(RAND of 16 octets)@domain');
  const rand = Buffer.from(m[1]!, 'base64');
  if (rand.length !== 16 || rand.toString('base64') !== m[1])
    throw new InputError('B-TID RAND is not canonical base64 of 16 octets');
  return { rand, domain: m[2]! };
}

/** PSK identity for (D)TLS-PSK with a GBA key: "3GPP-bootstrapping" "." B-TID (TS 36.508 §4.7H). */
export const pskIdentityForBtid = (btid: string): string => `${PSK_IDENTITY_PREFIX}.${btid}`;

/** B-TID from a PSK identity as sent in the handshake: the prefixed form or a bare B-TID. */
export function btidOfPskIdentity(identity: string): string {
  const prefixed = `${PSK_IDENTITY_PREFIX}.`;
  const btid = identity.startsWith(prefixed) ? identity.slice(prefixed.length) : identity;
  parseBtid(btid);
  return btid;
}

/** LwM2M endpoint client name, readable form. */
export function endpointImsiUrn(imsi: string): string {
  checkImsi(imsi);
  return `urn:imsi:${imsi}`;
}

/**
 * LwM2M endpoint client name, privacy-preserving form: an RFC 9562 UUIDv8 made of the first 16 octets of
 * HMAC-SHA-256(tenant secret, IMSI) with the version (8) and variant (10) bits set. Stable for a tenant,
 * not reversible by enumerating IMSIs without the secret.
 */
export function endpointUuidUrn(tenantSecret: Uint8Array, imsi: string): string {
  checkImsi(imsi);
  return hmacUuidUrn(tenantSecret, imsi);
}

/** `urn:uuid:` of an RFC 9562 UUIDv8 from the first 16 octets of HMAC-SHA-256(secret, text). */
export function hmacUuidUrn(tenantSecret: Uint8Array, text: string): string {
  if (tenantSecret.length < 16) throw new InputError('tenant secret must be at least 16 octets');
  const b = createHmac('sha256', tenantSecret).update(text, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8 (RFC 9562 §5.8)
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10xx (RFC 9562 §4.1)
  const h = b.toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type EndpointPolicy = 'uuid' | 'imsi';

export function endpointName(policy: EndpointPolicy, imsi: string, tenantSecret?: Uint8Array): string {
  if (policy === 'imsi') return endpointImsiUrn(imsi);
  if (!tenantSecret) throw new InputError('the uuid endpoint policy needs a tenant secret');
  return endpointUuidUrn(tenantSecret, imsi);
}
