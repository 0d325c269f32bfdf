/**
 * TLS 1.2 key schedule for the PSK suites here (all use SHA-256): PRF (RFC 5246 §5), PSK premaster secret
 * (RFC 4279 §2), master secret (RFC 5246 §8.1) or extended master secret (RFC 7627 §4), key block (RFC 5246 §6.3)
 * and Finished verify_data (RFC 5246 §7.4.9).
 */
import { createHash, createHmac } from 'node:crypto';
import { u16 } from '../wire.js';

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();

/** P_SHA256(secret, seed) truncated to `length` (RFC 5246 §5). */
export function pSha256(secret: Buffer, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let a = seed; // A(0)
  while (total < length) {
    a = hmac(secret, a); // A(i) = HMAC(secret, A(i-1))
    const block = hmac(secret, Buffer.concat([a, seed]));
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** PRF(secret, label, seed) = P_SHA256(secret, label ‖ seed) (RFC 5246 §5). */
export const prf = (secret: Buffer, label: string, seed: Buffer, length: number): Buffer =>
  pSha256(secret, Buffer.concat([Buffer.from(label, 'ascii'), seed]), length);

/** RFC 4279 §2: uint16 N ‖ N zero octets ‖ uint16 N ‖ psk. */
export function pskPremasterSecret(psk: Buffer): Buffer {
  return Buffer.concat([u16(psk.length), Buffer.alloc(psk.length), u16(psk.length), psk]);
}

/** RFC 5246 §8.1: PRF(pms, "master secret", client_random ‖ server_random)[0..47]. */
export const masterSecret = (pms: Buffer, clientRandom: Buffer, serverRandom: Buffer): Buffer =>
  prf(pms, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);

/** RFC 7627 §4: PRF(pms, "extended master secret", session_hash)[0..47]. */
export const extendedMasterSecret = (pms: Buffer, sessionHash: Buffer): Buffer =>
  prf(pms, 'extended master secret', sessionHash, 48);

/** RFC 5246 §6.3: note the random order is server ‖ client, the reverse of the master secret's. */
export const keyBlock = (master: Buffer, serverRandom: Buffer, clientRandom: Buffer, length: number): Buffer =>
  prf(master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), length);

export const transcriptHash = (messages: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const m of messages) h.update(m);
  return h.digest();
};

/** RFC 5246 §7.4.9: PRF(master, "client finished" | "server finished", Hash(handshake_messages))[0..11]. */
export const verifyData = (master: Buffer, sender: 'client' | 'server', handshakeHash: Buffer): Buffer =>
  prf(master, `${sender} finished`, handshakeHash, 12);
