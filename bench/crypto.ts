/**
 * Crypto micro-benchmarks with their platform baselines, measured in the same run:
 *  - Milenage full vectors (f1…f5* with OPc given: 6 AES block calls) vs single-block AES on one reused
 *    `createCipheriv('aes-128-ecb', K, null)` object;
 *  - Ks_NAF derivations (S built per call) vs `createHmac('sha256', key).update(S).digest()` on a prebuilt
 *    100-octet S;
 *  - the crypto library choice: HMAC-SHA-256 (the TS 33.220 Annex B KDF) and MD5 (HTTP Digest, RFC 2617 §3.2.2)
 *    from node:crypto, which the network functions use, against the same from @noble/hashes (pure JS).
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { md5 as nobleMd5 } from '@noble/hashes/legacy.js';
import { Milenage } from '../shared/crypto/milenage.js';
import { ksNaf } from '../shared/crypto/kdf.js';

export interface CryptoBenchResult {
  milenage_per_s: number;
  ks_naf_per_s: number;
  aes_block_per_s: number;
  hmac_sha256_per_s: number;
  /** @noble/hashes HMAC-SHA-256 on the same key and 100-octet input as hmac_sha256_per_s. */
  noble_hmac_sha256_per_s: number;
  /** node:crypto MD5 over a 150-octet input (the size of a Digest `response` input, RFC 2617 §3.2.2.1). */
  md5_per_s: number;
  /** @noble/hashes MD5 on the same input. */
  noble_md5_per_s: number;
}

/** The cases benchCrypto measures (each gets `msPerCase`). */
export const CRYPTO_CASES = 7;

/** Runs `fn` in batches until `ms` have passed; returns calls per second. */
function rate(ms: number, batch: number, fn: () => void): number {
  for (let i = 0; i < batch; i++) fn(); // warm-up (JIT)
  let calls = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    now = process.hrtime.bigint();
  }
  return calls / (Number(now - start) / 1e9);
}

export function benchCrypto(msPerCase = 1000): CryptoBenchResult {
  const k = randomBytes(16),
    opc = randomBytes(16),
    rand = randomBytes(16),
    sqn = randomBytes(6),
    amf = Buffer.from([0x80, 0]);
  const m = new Milenage(k, opc);
  const aes = createCipheriv('aes-128-ecb', k, null);
  aes.setAutoPadding(false);
  const block = randomBytes(16);

  const ks = randomBytes(32);
  const impi = '001010123456789@ims.mnc001.mcc001.3gppnetwork.org';
  const nafFqdn = 'naf.example.org';
  const uaSecProtId = Buffer.from('0100000002', 'hex');
  const s100 = randomBytes(100); // the size of the Ks_NAF S string for these identities

  // Interleave the cases in short slices, several rounds, and keep the best of each: other load on the machine
  // then hits a case and its baseline alike instead of skewing their ratio.
  const ROUNDS = 5;
  const slice = msPerCase / ROUNDS;
  const digestInput = randomBytes(150);
  const best: CryptoBenchResult = {
    milenage_per_s: 0,
    ks_naf_per_s: 0,
    aes_block_per_s: 0,
    hmac_sha256_per_s: 0,
    noble_hmac_sha256_per_s: 0,
    md5_per_s: 0,
    noble_md5_per_s: 0,
  };
  for (let round = 0; round < ROUNDS; round++) {
    best.aes_block_per_s = Math.max(
      best.aes_block_per_s,
      rate(slice, 1000, () => {
        aes.update(block);
      }),
    );
    best.milenage_per_s = Math.max(
      best.milenage_per_s,
      rate(slice, 200, () => {
        m.all(rand, sqn, amf);
      }),
    );
    best.hmac_sha256_per_s = Math.max(
      best.hmac_sha256_per_s,
      rate(slice, 500, () => {
        createHmac('sha256', ks).update(s100).digest();
      }),
    );
    best.ks_naf_per_s = Math.max(
      best.ks_naf_per_s,
      rate(slice, 500, () => {
        ksNaf({ ks, rand, impi, nafFqdn, uaSecProtId });
      }),
    );
    best.noble_hmac_sha256_per_s = Math.max(
      best.noble_hmac_sha256_per_s,
      rate(slice, 500, () => {
        nobleHmac(nobleSha256, ks, s100);
      }),
    );
    best.md5_per_s = Math.max(
      best.md5_per_s,
      rate(slice, 500, () => {
        createHash('md5').update(digestInput).digest();
      }),
    );
    best.noble_md5_per_s = Math.max(
      best.noble_md5_per_s,
      rate(slice, 500, () => {
        nobleMd5(digestInput);
      }),
    );
  }
  return best;
}
