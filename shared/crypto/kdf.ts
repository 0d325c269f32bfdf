/**
 * The generic key derivation function of TS 33.220 Annex B.2 and the GBA keys of B.3/B.4.
 *
 *   derived key = HMAC-SHA-256(Key, S),  S = FC ‖ P0 ‖ L0 ‖ P1 ‖ L1 ‖ … ‖ Pn ‖ Ln
 *
 * Li is the length of Pi as a 2-octet big-endian integer, placed after Pi (B.2.1). Character strings are
 * UTF-8 (B.2.1; all identities here are ASCII, where NFKC normalisation changes nothing).
 */
import { createHmac } from 'node:crypto';

export const FC_GBA = 0x01;
const LABEL_GBA_ME = Buffer.from('gba-me', 'utf8');
const LABEL_GBA_U = Buffer.from('gba-u', 'utf8');
/** Ua security protocol id of TMPI generation, TS 33.220 Annex H.3 / B.4. */
export const UA_ID_TMPI = Buffer.from([0x01, 0x00, 0x00, 0x01, 0x00]);

export type KdfParam = Uint8Array | string;

/** Builds S = FC ‖ P0 ‖ L0 ‖ … ‖ Pn ‖ Ln in one allocation. */
export function buildS(fc: number, params: readonly KdfParam[]): Buffer {
  if (!Number.isInteger(fc) || fc < 0 || fc > 0xff) throw new RangeError('FC must be one octet');
  const octets = params.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  let size = 1;
  for (const p of octets) {
    if (p.length > 0xffff) throw new RangeError('KDF parameter longer than 65535 octets');
    size += p.length + 2;
  }
  const s = Buffer.allocUnsafe(size);
  s[0] = fc;
  let off = 1;
  for (const p of octets) {
    s.set(p, off);
    off += p.length;
    s.writeUInt16BE(p.length, off);
    off += 2;
  }
  return s;
}

export function kdf(key: Uint8Array, s: Uint8Array): Buffer {
  return createHmac('sha256', key).update(s).digest();
}

/** Ks = CK ‖ IK (TS 33.220 §4.5.2, CK first). */
export function ks(ck: Uint8Array, ik: Uint8Array): Buffer {
  if (ck.length !== 16 || ik.length !== 16) throw new RangeError('CK and IK must be 16 octets each');
  return Buffer.concat([ck, ik]);
}

/** NAF_Id = NAF FQDN (UTF-8) ‖ 5-octet Ua security protocol identifier (TS 33.220 Annex H). */
export function nafIdOctets(nafFqdn: string, uaSecProtId: Uint8Array): Buffer {
  if (uaSecProtId.length !== 5) throw new RangeError('Ua security protocol id must be 5 octets');
  return Buffer.concat([Buffer.from(nafFqdn, 'utf8'), uaSecProtId]);
}

/**
 * S for the NAF keys with the fixed parts written in place (B.3): FC 01, P0 label, P1 RAND (16), P2 IMPI,
 * P3 NAF_Id. Built by hand rather than through buildS because it runs for every Zn request and every PSK lookup.
 */
function nafS(label: Buffer, rand: Uint8Array, impi: string, nafFqdn: string, uaSecProtId: Uint8Array): Buffer {
  if (rand.length !== 16) throw new RangeError('RAND must be 16 octets');
  if (uaSecProtId.length !== 5) throw new RangeError('Ua security protocol id must be 5 octets');
  const impiLen = Buffer.byteLength(impi, 'utf8');
  const fqdnLen = Buffer.byteLength(nafFqdn, 'utf8');
  if (impiLen > 0xffff || fqdnLen + 5 > 0xffff) throw new RangeError('KDF parameter longer than 65535 octets');
  const s = Buffer.allocUnsafe(1 + label.length + 2 + 16 + 2 + impiLen + 2 + fqdnLen + 5 + 2);
  let o = 0;
  s[o++] = FC_GBA;
  o += label.copy(s, o);
  s.writeUInt16BE(label.length, o);
  o += 2;
  s.set(rand, o);
  o += 16;
  s.writeUInt16BE(16, o);
  o += 2;
  o += s.write(impi, o, 'utf8');
  s.writeUInt16BE(impiLen, o);
  o += 2;
  o += s.write(nafFqdn, o, 'utf8');
  s.set(uaSecProtId, o);
  o += 5;
  s.writeUInt16BE(fqdnLen + 5, o);
  return s;
}

export interface NafKeyInput {
  ks: Uint8Array; // CK ‖ IK, 32 octets
  rand: Uint8Array; // 16 octets
  impi: string;
  nafFqdn: string;
  uaSecProtId: Uint8Array; // 5 octets
}

/** Ks_NAF (GBA_ME) = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) — TS 33.220 Annex B.3. */
export function ksNaf(i: NafKeyInput): Buffer {
  return kdf(i.ks, nafS(LABEL_GBA_ME, i.rand, i.impi, i.nafFqdn, i.uaSecProtId));
}

/** Ks_ext_NAF (GBA_U): the same derivation as Ks_NAF, from the UICC's Ks (B.3). */
export const ksExtNaf = ksNaf;

/** Ks_int_NAF (GBA_U) = KDF(Ks, "gba-u", RAND, IMPI, NAF_Id) — TS 33.220 Annex B.3. */
export function ksIntNaf(i: NafKeyInput): Buffer {
  return kdf(i.ks, nafS(LABEL_GBA_U, i.rand, i.impi, i.nafFqdn, i.uaSecProtId));
}

/** The S string of Ks_NAF, exposed for tests and the CLI's explanations. */
export function ksNafS(i: Omit<NafKeyInput, 'ks'>, label: 'gba-me' | 'gba-u' = 'gba-me'): Buffer {
  return nafS(label === 'gba-me' ? LABEL_GBA_ME : LABEL_GBA_U, i.rand, i.impi, i.nafFqdn, i.uaSecProtId);
}

/**
 * TMPI (TS 33.220 Annex B.4): KDF(Ks, "gba-me", RAND, IMPI, BSF_Id ‖ 01 00 00 01 00);
 * TMPI = base64(first 24 octets) "@tmpi.bsf.3gppnetwork.org".
 */
export function tmpi(ksKey: Uint8Array, rand: Uint8Array, impi: string, bsfDomain: string): string {
  const out = kdf(ksKey, nafS(LABEL_GBA_ME, rand, impi, bsfDomain, UA_ID_TMPI));
  return `${out.subarray(0, 24).toString('base64')}@tmpi.bsf.3gppnetwork.org`;
}
