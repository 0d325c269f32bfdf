/** Record protection beyond the digest vectors: CBC + HMAC-SHA256 (RFC 5246 §6.2.3.2) and the RFC 9146 §5 AAD. */
import { expect } from 'chai';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { additionalData, createRecordCipher } from '../../../../../shared/psk-tls/dtls/cipher.js';
import { DTLS_1_2 } from '../../../../../shared/psk-tls/dtls/constants.js';
import {
  TLS_PSK_WITH_AES_128_CBC_SHA256,
  TLS_PSK_WITH_AES_128_CCM_8,
  keyBlockLength,
  splitKeyBlock,
  suiteInfo,
} from '../../../../../shared/psk-tls/dtls/suites.js';
import { hex } from '../../../../support/vectors.js';

const cbc = suiteInfo(TLS_PSK_WITH_AES_128_CBC_SHA256)!;
const keys = { macKey: Buffer.alloc(32, 0x11), key: Buffer.alloc(16, 0x22), iv: Buffer.alloc(0) };
const ctx = { type: 23, version: DTLS_1_2, epoch: 1, seq: 9 };

describe('dtls CBC-HMAC-SHA256 record protection (0x00AE)', () => {
  it('has a 96-octet key block: 2×32 MAC, 2×16 key, no implicit IV', () => {
    expect(keyBlockLength(cbc)).to.equal(96);
    const k = splitKeyBlock(cbc, Buffer.from(Array.from({ length: 96 }, (_, i) => i)));
    expect(k.client.macKey[0]).to.equal(0);
    expect(k.server.macKey[0]).to.equal(32);
    expect(k.client.key[0]).to.equal(64);
    expect(k.server.key[0]).to.equal(80);
    expect(k.client.iv.length).to.equal(0);
  });

  it('is MAC-then-encrypt with a random explicit IV, checked with an independent decryption', () => {
    const pt = Buffer.from('hello CBC');
    const frag = createRecordCipher(cbc, keys).seal(ctx, pt);
    expect((frag.length - 16) % 16).to.equal(0);
    const d = createDecipheriv('aes-128-cbc', keys.key, frag.subarray(0, 16)).setAutoPadding(false);
    const data = Buffer.concat([d.update(frag.subarray(16)), d.final()]);
    const pad = data[data.length - 1]!;
    expect([...data.subarray(data.length - pad - 1)].every((b) => b === pad)).to.equal(true);
    const mac = createHmac('sha256', keys.macKey)
      .update(hex('0001000000000009' + '17' + 'fefd' + '0009'))
      .update(pt)
      .digest();
    expect(data.subarray(0, pt.length)).to.deep.equal(pt);
    expect(data.subarray(pt.length, pt.length + 32)).to.deep.equal(mac);
  });

  it('round-trips all lengths around block boundaries', () => {
    const c = createRecordCipher(cbc, keys);
    for (let n = 0; n <= 48; n++) {
      const pt = Buffer.alloc(n, n);
      expect(c.open(ctx, c.seal(ctx, pt))).to.deep.equal(pt);
    }
  });

  it('rejects a bad MAC, bad padding, a wrong sequence number and bad lengths with the same error', () => {
    const c = createRecordCipher(cbc, keys);
    const frag = c.seal(ctx, Buffer.from('payload'));
    const flipped = Buffer.from(frag);
    flipped[20]! ^= 1;
    expect(() => c.open(ctx, flipped)).to.throw('did not authenticate');
    expect(() => c.open({ ...ctx, seq: 10 }, frag)).to.throw('did not authenticate');
    expect(() => c.open(ctx, frag.subarray(0, frag.length - 1))).to.throw('did not authenticate');
    expect(() => c.open(ctx, frag.subarray(0, 32))).to.throw('did not authenticate');
    // Valid MAC but a padding byte that disagrees: re-encrypt with a broken pad.
    const mac = createHmac('sha256', keys.macKey).update(additionalData(ctx, 3)).update('abc').digest();
    const body = Buffer.concat([Buffer.from('abc'), mac, hex('0c' + '0b'.repeat(11) + '0c')]);
    const iv = Buffer.alloc(16, 5);
    const e = createCipheriv('aes-128-cbc', keys.key, iv).setAutoPadding(false);
    expect(() => c.open(ctx, Buffer.concat([iv, e.update(body), e.final()]))).to.throw('did not authenticate');
  });
});

describe('dtls RFC 9146 §5 additional data', () => {
  it('uses seq_num_placeholder ‖ 25 ‖ cid_len ‖ 25 ‖ version ‖ epoch ‖ seq ‖ cid ‖ length', () => {
    const aad = additionalData({ type: 25, version: DTLS_1_2, epoch: 1, seq: 2, cid: hex('a1a2a3') }, 0x10);
    expect(aad.toString('hex')).to.equal(
      'ffffffffffffffff' + '19' + '03' + '19' + 'fefd' + '0001' + '000000000002' + 'a1a2a3' + '0010',
    );
  });

  it('binds the CID: a record sealed for one CID does not open under another', () => {
    const ccm = createRecordCipher(suiteInfo(TLS_PSK_WITH_AES_128_CCM_8)!, {
      macKey: Buffer.alloc(0),
      key: Buffer.alloc(16, 3),
      iv: Buffer.alloc(4, 4),
    });
    const c1 = { type: 25, version: DTLS_1_2, epoch: 1, seq: 2, cid: hex('a1a2a3') };
    const frag = ccm.seal(c1, Buffer.from([1, 2, 3, 23]));
    expect(ccm.open(c1, frag)).to.deep.equal(Buffer.from([1, 2, 3, 23]));
    expect(() => ccm.open({ ...c1, cid: hex('a1a2a4') }, frag)).to.throw('did not authenticate');
    expect(() => ccm.open({ type: 23, version: DTLS_1_2, epoch: 1, seq: 2 }, frag)).to.throw('did not authenticate');
  });
});
