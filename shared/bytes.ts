/** Octet-string helpers: hex and base64 in the exact forms the standards use. */
import { timingSafeEqual } from 'node:crypto';
import { InputError } from './errors.js';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Parses hex (either case, no separators). With `octets`, the length must match exactly. */
export function fromHex(hex: string, octets?: number, name = 'value'): Buffer {
  if (!HEX.test(hex)) throw new InputError(`${name}: not a hex string`);
  if (octets !== undefined && hex.length !== octets * 2) {
    throw new InputError(`${name}: expected ${octets} octets (${octets * 2} hex digits), got ${hex.length} hex digits`);
  }
  return Buffer.from(hex, 'hex');
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Standard base64 (RFC 4648 §4, with padding), as used in B-TIDs, nonces and digest passwords. */
export const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 decode: rejects the URL-safe alphabet, missing padding and stray characters. */
export function fromBase64(s: string, name = 'value'): Buffer {
  if (!B64.test(s)) throw new InputError(`${name}: not standard base64`);
  return Buffer.from(s, 'base64');
}

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new RangeError(`xor of ${a.length} and ${b.length} octets`);
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Constant-time comparison of secrets (length is not secret here: all compared values have fixed lengths). */
export function secretEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time comparison of two strings (tokens, hex digests). */
export function secretEqualString(a: string, b: string): boolean {
  return secretEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
