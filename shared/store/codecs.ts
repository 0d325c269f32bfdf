/**
 * Compact value encodings for the hot records. A bootstrapping session is 42 octets plus the IMPI:
 *   version(1)=1 ‖ flags(1: bit0 GBA_U) ‖ created(4, epoch s) ‖ expires(4, epoch s) ‖ Ks(32) ‖ IMPI(UTF-8)
 * RAND is not stored: it is base64 in the B-TID, which is the key.
 */
import { DecodeError } from '../errors.js';
import type { BootstrapSession, Challenge } from './types.js';

const SESSION_V1 = 1;

export function encodeSession(s: BootstrapSession): Buffer {
  const impiLen = Buffer.byteLength(s.impi, 'utf8');
  const b = Buffer.allocUnsafe(42 + impiLen);
  b[0] = SESSION_V1;
  b[1] = s.gbaU ? 1 : 0;
  b.writeUInt32BE(Math.floor(s.createdAtMs / 1000), 2);
  b.writeUInt32BE(Math.ceil(s.expiresAtMs / 1000), 6);
  s.ks.copy(b, 10);
  b.write(s.impi, 42, 'utf8');
  return b;
}

export function decodeSession(btid: string, b: Buffer): BootstrapSession {
  if (b.length < 42 || b[0] !== SESSION_V1) throw new DecodeError('session', 'unknown session encoding');
  return {
    btid,
    gbaU: (b[1]! & 1) === 1,
    createdAtMs: b.readUInt32BE(2) * 1000,
    expiresAtMs: b.readUInt32BE(6) * 1000,
    ks: Buffer.from(b.subarray(10, 42)),
    impi: b.toString('utf8', 42),
  };
}

/**
 * Challenge: version(1)=1 ‖ flags(1: bit0 GBA_U, bit1 AKAv2) ‖ lifetime(4) ‖ RAND(16) ‖ AUTN(16) ‖ CK(16) ‖ IK(16)
 * ‖ xresLen(1) ‖ XRES ‖ opaqueLen(1) ‖ opaque ‖ IMPI
 */
export function encodeChallenge(c: Challenge): Buffer {
  const opaque = Buffer.from(c.opaque, 'utf8');
  const impi = Buffer.from(c.impi, 'utf8');
  return Buffer.concat([
    Buffer.from([1, (c.gbaU ? 1 : 0) | (c.algorithm === 'AKAv2-MD5' ? 2 : 0)]),
    u32(c.lifetimeSec),
    c.rand,
    c.autn,
    c.ck,
    c.ik,
    Buffer.from([c.xres.length]),
    c.xres,
    Buffer.from([opaque.length]),
    opaque,
    impi,
  ]);
}

export function decodeChallenge(b: Buffer): Challenge {
  const fail = (): never => {
    throw new DecodeError('challenge', 'unknown challenge encoding');
  };
  if (b.length < 71 || b[0] !== 1) fail();
  let o = 6;
  const take = (n: number): Buffer => {
    if (o + n > b.length) fail();
    const r = Buffer.from(b.subarray(o, o + n));
    o += n;
    return r;
  };
  const rand = take(16),
    autn = take(16),
    ck = take(16),
    ik = take(16);
  const xres = take(take(1)[0]!);
  const opaque = take(take(1)[0]!).toString('utf8');
  return {
    gbaU: (b[1]! & 1) === 1,
    algorithm: b[1]! & 2 ? 'AKAv2-MD5' : 'AKAv1-MD5',
    lifetimeSec: b.readUInt32BE(2),
    rand,
    autn,
    ck,
    ik,
    xres,
    opaque,
    impi: b.toString('utf8', o),
  };
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}
