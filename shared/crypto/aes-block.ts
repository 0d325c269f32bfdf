import { createCipheriv, type Cipher } from 'node:crypto';

/**
 * E_K of TS 35.206: AES-128 on one 16-octet block with a fixed key.
 * One cipher object per key, reused for every block: the key schedule runs once (TS 35.206 §4.1 "kernel function").
 */
export class AesBlock {
  readonly #cipher: Cipher;
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError('AES-128 key must be 16 octets');
    this.#cipher = createCipheriv('aes-128-ecb', key, null);
    this.#cipher.setAutoPadding(false);
  }
  /** Encrypts one block; with `out`, writes there instead of allocating. */
  encrypt(block: Uint8Array, out?: Buffer): Buffer {
    const r = this.#cipher.update(block);
    if (out) {
      r.copy(out);
      return out;
    }
    return r;
  }
}
