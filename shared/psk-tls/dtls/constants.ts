/** Protocol numbers for DTLS 1.2 (RFC 6347, RFC 5246, RFC 4279, RFC 9146). */

/** ContentType, RFC 5246 §6.2.1; tls12_cid from RFC 9146 §3. */
export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  tls12Cid: 25,
} as const;

/** HandshakeType, RFC 5246 §7.4 and RFC 6347 §4.2.2 (hello_verify_request). */
export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  serverKeyExchange: 12,
  serverHelloDone: 14,
  clientKeyExchange: 16,
  finished: 20,
} as const;

/** Wire versions: DTLS versions are the one's complement of the TLS ones (RFC 6347 §4.1). */
export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;

/**
 * Version placed in the HelloVerifyRequest record and body. RFC 6347 §4.2.1 says a DTLS 1.2 server SHOULD use
 * DTLS 1.0 there; OpenSSL and GnuTLS do, and all common clients accept it (docs/standards-notes/lwm2m-coap-dtls.md §4.4).
 */
export const HVR_VERSION = DTLS_1_0;

/** Extension types we read or write (IANA TLS ExtensionType registry). */
export const ExtensionType = {
  serverName: 0, // RFC 6066 §3
  maxFragmentLength: 1, // RFC 6066 §4
  encryptThenMac: 22, // RFC 7366 (never echoed: we do MAC-then-encrypt only)
  extendedMasterSecret: 23, // RFC 7627
  recordSizeLimit: 28, // RFC 8449 (ignored)
  sessionTicket: 35, // RFC 5077 (ignored: no resumption)
  connectionId: 54, // RFC 9146
  renegotiationInfo: 0xff01, // RFC 5746
} as const;

/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV, RFC 5746 §3.3. */
export const RENEGOTIATION_SCSV = 0x00ff;

/** Record header sizes: RFC 6347 §4.1 (13 bytes), RFC 9146 §4 (adds the CID). */
export const RECORD_HEADER_LENGTH = 13;
/** Handshake header, RFC 6347 §4.2.2. */
export const HANDSHAKE_HEADER_LENGTH = 12;

/** Largest 48-bit sequence number (RFC 6347 §4.1): never wrap, close the association instead. */
export const MAX_SEQUENCE = 2 ** 48 - 1;

/** TLSPlaintext.length limit, RFC 5246 §6.2.1. */
export const MAX_PLAINTEXT = 2 ** 14;
/** TLSCiphertext.length limit, RFC 5246 §6.2.3. */
export const MAX_CIPHERTEXT = 2 ** 14 + 2048;

/** Length of the connection IDs this server hands out (RFC 9146 §3). Fixed, so tls12_cid headers can be parsed. */
export const SERVER_CID_LENGTH = 6;
