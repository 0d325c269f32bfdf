/** bench/crypto.ts measures every case it reports, @noble/hashes rows included, and the report shows them. */
import { expect } from 'chai';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { md5 } from '@noble/hashes/legacy.js';
import { benchCrypto, CRYPTO_CASES } from '../../../bench/crypto.js';

describe('bench/crypto.ts', () => {
  it('returns a positive finite rate for each of its cases, the @noble/hashes comparison rows included', () => {
    const r = benchCrypto(35);
    expect(Object.keys(r)).to.have.length(CRYPTO_CASES);
    expect(r).to.include.keys('noble_hmac_sha256_per_s', 'md5_per_s', 'noble_md5_per_s');
    for (const [k, v] of Object.entries(r)) expect(Number.isFinite(v) && v > 0, `${k} = ${v}`).to.equal(true);
  });

  it('compares like with like: @noble/hashes and node:crypto give the same HMAC-SHA-256 and MD5', () => {
    const key = randomBytes(32),
      msg = randomBytes(150);
    expect(Buffer.from(hmac(sha256, key, msg))).to.deep.equal(createHmac('sha256', key).update(msg).digest());
    expect(Buffer.from(md5(msg))).to.deep.equal(createHash('md5').update(msg).digest());
  });
});
