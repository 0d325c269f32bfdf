/**
 * Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1). The cookie is an HMAC over the client's address and the
 * ClientHello fields that must not change between the two hellos, so verifying it needs no per-client state.
 * The recipe follows Californium's CookieGenerator and tinydtls (docs/standards-notes/lwm2m-coap-dtls.md §4.4); the secret rotates, and the
 * previous secret stays valid for one more period so a hello that straddles a rotation still succeeds.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { secretEqual } from '../../bytes.js';
import type { ClientHello } from './messages.js';
import { u16, vector16, vector8 } from '../wire.js';

export interface Peer {
  address: string;
  port: number;
}

/** Cookies are 32 octets: the most tinydtls-based clients accept (DTLS_COOKIE_LENGTH_MAX). */
export const COOKIE_LENGTH = 32;

/** IPv4 as its 4 octets (as in docs/standards-notes/lwm2m-coap-dtls.md §5.2); other addresses as their length-prefixed canonical text. */
function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  return vector8(Buffer.from(address, 'utf8'));
}

/** address ‖ port ‖ client_version ‖ random ‖ session_id ‖ cipher_suites ‖ compression_methods (vectors length-prefixed). */
export function cookieInput(peer: Peer, ch: ClientHello): Buffer {
  return Buffer.concat([
    addressBytes(peer.address),
    u16(peer.port),
    u16(ch.clientVersion),
    ch.random,
    vector8(ch.sessionId),
    vector16(ch.cipherSuitesRaw),
    vector8(ch.compressionMethods),
  ]);
}

export interface CookieJarOptions {
  /** Secret lifetime; the previous secret is accepted for one more period. Default 60 s (as Californium). */
  rotateMs?: number;
  /** Initial secret (tests); random otherwise. */
  secret?: Buffer;
  now?: () => number;
}

export class CookieJar {
  private current: Buffer;
  private previous: Buffer | undefined;
  private rotatedAt: number;
  private readonly rotateMs: number;
  private readonly now: () => number;

  constructor(opts: CookieJarOptions = {}) {
    this.rotateMs = opts.rotateMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.current = opts.secret ? Buffer.from(opts.secret) : randomBytes(32);
    this.rotatedAt = this.now();
  }

  /** Lazy rotation: no timer to clean up. */
  private rotate(): void {
    const elapsed = this.now() - this.rotatedAt;
    if (elapsed < this.rotateMs) return;
    this.previous = elapsed < 2 * this.rotateMs ? this.current : undefined;
    this.current = randomBytes(32);
    this.rotatedAt = this.now();
  }

  private static mac(secret: Buffer, peer: Peer, ch: ClientHello): Buffer {
    return createHmac('sha256', secret).update(cookieInput(peer, ch)).digest().subarray(0, COOKIE_LENGTH);
  }

  make(peer: Peer, ch: ClientHello): Buffer {
    this.rotate();
    return CookieJar.mac(this.current, peer, ch);
  }

  /** True when `ch.cookie` was made by us for this peer and these ClientHello fields, with the current or previous secret. */
  verify(peer: Peer, ch: ClientHello): boolean {
    this.rotate();
    if (ch.cookie.length !== COOKIE_LENGTH) return false;
    if (secretEqual(ch.cookie, CookieJar.mac(this.current, peer, ch))) return true;
    return this.previous !== undefined && secretEqual(ch.cookie, CookieJar.mac(this.previous, peer, ch));
  }
}
