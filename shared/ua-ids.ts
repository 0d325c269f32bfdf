/**
 * Ua security protocol identifiers, TS 33.220 Annex H: 5 octets = organisation octet ‖ 4 protocol octets.
 * Any 5 octets are a valid identifier to derive with; this table only names the known ones.
 */
import { InputError } from './errors.js';

export const UA_HTTP_DIGEST = '0100000002'; // TS 24.109 HTTP Digest (Ua over plain HTTP)
export const UA_TLS_PSK_AES128_CCM8 = '010001c0a8'; // TLS_PSK_WITH_AES_128_CCM_8 (RFC 7925 mandatory)
export const UA_TLS_PSK_AES128_GCM = '01000100a8'; // TLS_PSK_WITH_AES_128_GCM_SHA256
export const UA_TLS_PSK_AES128_CBC_SHA256 = '01000100ae'; // TLS_PSK_WITH_AES_128_CBC_SHA256
export const UA_TLS13_SHARED_KEY = '0100000007'; // TS 33.222 §5.4.0.2
/** HTTP Digest inside server-certificate TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (TS 33.222 §5.3). */
export const UA_HTTPS_ECDHE_ECDSA_AES128_GCM = '010001c02b';

const FIXED: Readonly<Record<string, string>> = {
  '0000000000': 'default (protocols not separated), Annex H.2',
  '0100000000': 'TS 33.221 Ua (subscriber certificates)',
  '0100000001': 'TS 33.246 MBMS',
  '0100000002': 'HTTP Digest authentication, TS 24.109',
  '0100000003': 'HTTP-based MBMS user service security, TS 26.237',
  '0100000004': 'SIP-based MBMS user service security, TS 26.237',
  '0100000005': 'Generic Push Layer, TS 33.224',
  '0100000006': 'IMS UE–KMS HTTP, TS 33.328',
  '0100000007': 'shared-key TLS 1.3, TS 33.222 §5.4.0.2',
  '0100000100': 'TMPI generation, TS 33.220 Annex B.4',
  '0300000001': 'OMA SUPL ULP',
  '0300000002': 'OMA LOCSIP',
  '0300000003': 'OMA SEC CF SIP Digest',
};

/** TLS cipher suites we name (IANA TLS Cipher Suites registry). */
export const TLS_SUITES: Readonly<Record<number, string>> = {
  0x00a8: 'TLS_PSK_WITH_AES_128_GCM_SHA256',
  0x00ae: 'TLS_PSK_WITH_AES_128_CBC_SHA256',
  0xc0a8: 'TLS_PSK_WITH_AES_128_CCM_8',
  0xc0a4: 'TLS_PSK_WITH_AES_128_CCM',
  0x008c: 'TLS_PSK_WITH_AES_128_CBC_SHA',
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xcca8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0xcca9: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
};

/**
 * The Ua id `01 00 01 yy zz` of a TLS 1.2 connection (TS 33.222 §5.3/§5.4), from the IANA name Node reports
 * (`tlsSocket.getCipher().standardName`); undefined for a suite not in TLS_SUITES or for TLS 1.3.
 */
export function uaIdOfNegotiatedSuite(
  standardName: string | undefined,
  protocol: string | null | undefined,
): string | undefined {
  if (protocol !== 'TLSv1.2' || !standardName) return undefined;
  const entry = Object.entries(TLS_SUITES).find(([, name]) => name === standardName);
  return entry ? uaIdForTlsSuite(Number(entry[0])) : undefined;
}

/** OpenSSL names of the TLS 1.2 PSK suites a GBA (D)TLS listener may use, by IANA code. */
export const OPENSSL_PSK_SUITE_NAMES: Readonly<Record<number, string>> = {
  0xc0a8: 'PSK-AES128-CCM8',
  0x00a8: 'PSK-AES128-GCM-SHA256',
  0x00ae: 'PSK-AES128-CBC-SHA256',
};

/** 10 hex digits → 5 octets; anything else is an InputError. */
export function parseUaId(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{10}$/.test(hex)) throw new InputError('Ua security protocol id must be 5 octets as 10 hex digits');
  return Buffer.from(hex, 'hex');
}

/** `01 00 01 yy zz` — shared-key TLS with cipher suite yy zz (TS 33.222 §5.3/§5.4). */
export function uaIdForTlsSuite(suite: number): string {
  if (!Number.isInteger(suite) || suite < 0 || suite > 0xffff) throw new RangeError('cipher suite is a 16-bit value');
  return `010001${suite.toString(16).padStart(4, '0')}`;
}

/** The cipher suite of a `01 00 01 yy zz` / `01 00 02 yy zz` identifier, else undefined. */
export function tlsSuiteOfUaId(hex: string): number | undefined {
  const h = hex.toLowerCase();
  return /^01000[12][0-9a-f]{4}$/.test(h) ? parseInt(h.slice(6), 16) : undefined;
}

/** A human name for any identifier (never rejects: unknown ones are described by their organisation octet). */
export function describeUaId(hex: string): string {
  const h = hex.toLowerCase();
  if (FIXED[h]) return FIXED[h];
  const suite = tlsSuiteOfUaId(h);
  if (suite !== undefined) {
    const name = TLS_SUITES[suite] ?? `cipher suite 0x${suite.toString(16).padStart(4, '0')}`;
    return h.startsWith('010001')
      ? `shared-key TLS (TS 33.222 §5.3/5.4) with ${name}`
      : `browser-based shared-key TLS (TS 33.222 Annex D) with ${name}`;
  }
  const org = parseInt(h.slice(0, 2), 16);
  const orgName =
    org === 0x01
      ? '3GPP'
      : org === 0x02
        ? '3GPP2'
        : org === 0x03
          ? 'OMA'
          : org === 0x04
            ? 'GSMA'
            : org === 0xff
              ? 'private/experimental'
              : `organisation 0x${h.slice(0, 2)}`;
  return `unregistered ${orgName} identifier`;
}
