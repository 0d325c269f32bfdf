/**
 * Bounds on PSK lookups, shared by the TLS and DTLS listeners. A lookup is a request to the NAF's PSK API and,
 * behind it, a Zn request to the BSF (docs/contracts.md C3), so a client must not be able to multiply them.
 */

/**
 * Longest PSK identity ever looked up (octets). RFC 4279 §5.3 asks for at least 128; OpenSSL's
 * PSK_MAX_IDENTITY_LEN is 256 and it refuses longer ones itself. A GBA identity `3GPP-bootstrapping.<B-TID>`
 * (TS 33.220 §4.5.2, TS 24.109 Annex F.3) fits easily.
 */
export const MAX_PSK_IDENTITY_OCTETS = 256;

/** True when the identity may be looked up at all (length only; what it names is the PSK API's business). */
export const identityWithinLimit = (identity: string | Uint8Array): boolean =>
  (typeof identity === 'string' ? Buffer.byteLength(identity, 'utf8') : identity.length) <= MAX_PSK_IDENTITY_OCTETS;

/**
 * Lookups one TLS connection may cause, whatever it sends: TLS 1.2 needs one (the ClientKeyExchange, RFC 4279 §2);
 * a TLS 1.3 ClientHello may offer several identities (RFC 8446 §4.2.11), of which we try this many.
 */
export const MAX_LOOKUPS_PER_CONNECTION = 4;

/** The per-source token bucket lives in shared/net/ (the BSF's Ub limit uses it too). */
export { SourceRateLimiter, type SourceRateLimitOptions } from '../net/rate-limit.js';
