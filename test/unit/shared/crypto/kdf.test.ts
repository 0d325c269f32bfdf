import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { buildS, kdf, ks, ksNaf, ksIntNaf, ksExtNaf, ksNafS, tmpi, FC_GBA } from '../../../../shared/crypto/kdf.js';
import { loadVector, hex } from '../../../support/vectors.js';

interface KdfVectors {
  ks_naf: Array<{
    ck: string;
    ik: string;
    rand: string;
    impi: string;
    naf_fqdn: string;
    ua_id: string;
    ks_naf: string;
    ks_ext_naf: string;
    ks_int_naf: string;
    ua_digest_password: string;
  }>;
  tmpi: { ks: string; rand: string; impi: string; naf_id_fqdn: string; kdf_output: string; tmpi: string };
}
const vectors = loadVector<KdfVectors>('ts33220-kdf-examples.json');

describe('TS 33.220 Annex B KDF', () => {
  it('HMAC-SHA-256 primitive: RFC 4231 test case 1', () => {
    expect(kdf(Buffer.alloc(20, 0x0b), Buffer.from('Hi There')).toString('hex')).to.equal(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });

  it('builds S with 2-octet big-endian lengths after each parameter (the 100-octet example of the digest)', () => {
    const v = vectors.ks_naf[0]!;
    const s = buildS(FC_GBA, ['gba-me', hex(v.rand), v.impi, Buffer.concat([Buffer.from(v.naf_fqdn), hex(v.ua_id)])]);
    expect(s.toString('hex')).to.equal(
      '016762612d6d65000623553cbe9637a89d218ae64dae47bf35001030303130313031323334353637383940696d732e6d6e633030312e6d63633030312e336770706e6574776f726b2e6f726700316e61662e6578616d706c652e6f726701000000020014',
    );
    expect(s.length).to.equal(100);
    expect(ksNafS({ rand: hex(v.rand), impi: v.impi, nafFqdn: v.naf_fqdn, uaSecProtId: hex(v.ua_id) })).to.deep.equal(
      s,
    );
  });

  for (const v of vectors.ks_naf) {
    it(`Ks_NAF, Ks_ext_NAF, Ks_int_NAF for Ua id ${v.ua_id}`, () => {
      const input = {
        ks: ks(hex(v.ck), hex(v.ik)),
        rand: hex(v.rand),
        impi: v.impi,
        nafFqdn: v.naf_fqdn,
        uaSecProtId: hex(v.ua_id),
      };
      expect(ksNaf(input).toString('hex')).to.equal(v.ks_naf);
      expect(ksExtNaf(input).toString('hex')).to.equal(v.ks_ext_naf);
      expect(ksIntNaf(input).toString('hex')).to.equal(v.ks_int_naf);
      expect(ksNaf(input).toString('base64')).to.equal(v.ua_digest_password);
      // second computation through the generic S builder and node's HMAC directly
      const generic = createHmac('sha256', input.ks)
        .update(buildS(1, ['gba-me', input.rand, v.impi, Buffer.concat([Buffer.from(v.naf_fqdn), input.uaSecProtId])]))
        .digest('hex');
      expect(generic).to.equal(v.ks_naf);
    });
  }

  it('TMPI (Annex B.4)', () => {
    const t = vectors.tmpi;
    expect(tmpi(hex(t.ks), hex(t.rand), t.impi, t.naf_id_fqdn)).to.equal(t.tmpi);
  });

  it('Ks = CK ‖ IK, CK first', () => {
    expect(ks(Buffer.alloc(16, 1), Buffer.alloc(16, 2)).toString('hex')).to.equal('01'.repeat(16) + '02'.repeat(16));
  });

  it('rejects wrong lengths and oversize parameters', () => {
    const base = {
      ks: Buffer.alloc(32),
      rand: Buffer.alloc(16),
      impi: 'x',
      nafFqdn: 'naf',
      uaSecProtId: Buffer.alloc(5),
    };
    expect(() => ksNaf({ ...base, rand: Buffer.alloc(15) })).to.throw(RangeError);
    expect(() => ksNaf({ ...base, uaSecProtId: Buffer.alloc(4) })).to.throw(RangeError);
    expect(() => ksNaf({ ...base, impi: 'x'.repeat(65536) })).to.throw(RangeError);
    expect(() => buildS(256, [])).to.throw(RangeError);
    expect(() => ks(Buffer.alloc(15), Buffer.alloc(16))).to.throw(RangeError);
  });
});
