/** Octet-string helpers: strict base64 and constant-time comparison, in the exact forms the standards use. */
import { timingSafeEqual } from 'node:crypto';
import { InputError } from './errors.js';

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
