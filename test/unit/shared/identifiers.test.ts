import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import {
  impiFromImsi,
  imsiOfUserId,
  bsfDomain,
  btidFromRand,
  parseBtid,
  pskIdentityForBtid,
  btidOfPskIdentity,
  endpointImsiUrn,
  endpointUuidUrn,
  endpointName,
  homeNetworkOfImsi,
  normalizeFqdn,
  normalizeUaSecProtId,
} from '../../../shared/identifiers.js';
import { nafIdOctets } from '../../../shared/crypto/kdf.js';
import { describeUaId, uaIdForTlsSuite, tlsSuiteOfUaId, parseUaId } from '../../../shared/ua-ids.js';
import { InputError } from '../../../shared/errors.js';
import { hex } from '../../support/vectors.js';

describe('GBA identifiers', () => {
  it('IMPI from an IMSI with a 2-digit MNC pads the MNC to 3 digits (TS 23.003)', () => {
    expect(impiFromImsi('001010123456789', 2)).to.equal('001010123456789@ims.mnc001.mcc001.3gppnetwork.org');
  });
  it('IMPI from an IMSI with a 3-digit MNC', () => {
    expect(impiFromImsi('310410123456789', 3)).to.equal('310410123456789@ims.mnc410.mcc310.3gppnetwork.org');
    expect(homeNetworkOfImsi('310410123456789', 3)).to.deep.equal({ mcc: '310', mnc: '410' });
  });
  it('finds the IMSI in an IMPI or an imsi- ueId, and nothing in other identities', () => {
    expect(imsiOfUserId('001010123456789@ims.mnc001.mcc001.3gppnetwork.org')).to.equal('001010123456789');
    expect(imsiOfUserId('imsi-001010123456789')).to.equal('001010123456789');
    expect(imsiOfUserId('alice@example.org')).to.equal(undefined);
    expect(imsiOfUserId('msisdn-4912345678')).to.equal(undefined);
  });
  it('BSF domain (TS 23.003 §16.2)', () => {
    expect(bsfDomain({ mcc: '001', mnc: '01' })).to.equal('bsf.mnc001.mcc001.pub.3gppnetwork.org');
    expect(bsfDomain({ mcc: '310', mnc: '410' })).to.equal('bsf.mnc410.mcc310.pub.3gppnetwork.org');
  });
  it('B-TID = base64(RAND)@domain, and back (TS 33.220 §4.5.2)', () => {
    const btid = btidFromRand(hex('23553cbe9637a89d218ae64dae47bf35'), 'bsf.mnc001.mcc001.pub.3gppnetwork.org');
    expect(btid).to.equal('I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org');
    expect(parseBtid(btid).rand.toString('hex')).to.equal('23553cbe9637a89d218ae64dae47bf35');
    for (const bad of [
      '',
      'I1U8vpY3qJ0hiuZNrke/NQ==',
      'I1U8vpY3qJ0hiuZNrke_NQ==@bsf',
      'I1U8vpY3qJ0hiuZNrke/NQ@bsf',
      'I1U8vpY3qJ0hiuZNrke/NR==@bsf',
      'x@y',
    ]) {
      expect(() => parseBtid(bad), bad).to.throw(InputError);
    }
  });
  it('PSK identity "3GPP-bootstrapping." ‖ B-TID, parsed back, bare B-TID accepted', () => {
    const btid = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
    expect(pskIdentityForBtid(btid)).to.equal(`3GPP-bootstrapping.${btid}`);
    expect(btidOfPskIdentity(`3GPP-bootstrapping.${btid}`)).to.equal(btid);
    expect(btidOfPskIdentity(btid)).to.equal(btid);
    expect(() => btidOfPskIdentity('3GPP-bootstrapping.nonsense')).to.throw(InputError);
  });
  it('NAF_Id = FQDN ‖ 5-octet Ua id', () => {
    expect(nafIdOctets('naf.example.org', hex('0100000002')).toString('hex')).to.equal(
      '6e61662e6578616d706c652e6f72670100000002',
    );
  });

  describe('Ua security protocol ids (Annex H)', () => {
    it('names fixed ids, TLS-suite ids and unknown ones without rejecting', () => {
      expect(describeUaId('0100000002')).to.match(/HTTP Digest/);
      expect(describeUaId('010001c0a8')).to.match(/TLS_PSK_WITH_AES_128_CCM_8/);
      expect(describeUaId('010002002f')).to.match(/Annex D.*TLS_RSA_WITH_AES_128_CBC_SHA/);
      expect(describeUaId('ff12345678')).to.match(/private/);
      expect(describeUaId('0900000000')).to.match(/organisation 0x09/);
    });
    it('01 00 01 yy zz from a cipher suite and back', () => {
      expect(uaIdForTlsSuite(0xc0a8)).to.equal('010001c0a8');
      expect(uaIdForTlsSuite(0x00a8)).to.equal('01000100a8');
      expect(tlsSuiteOfUaId('010001C0A8')).to.equal(0xc0a8);
      expect(tlsSuiteOfUaId('0100000002')).to.equal(undefined);
    });
    it('parses exactly 10 hex digits', () => {
      expect(parseUaId('0100000002').toString('hex')).to.equal('0100000002');
      for (const bad of ['010000000', '01000000020', 'zz00000002', ''])
        expect(() => parseUaId(bad)).to.throw(InputError);
    });
  });

  describe('LwM2M endpoint client names', () => {
    const secret = Buffer.alloc(32, 7);
    it('urn:imsi: form', () => expect(endpointImsiUrn('001010123456789')).to.equal('urn:imsi:001010123456789'));
    it('urn:uuid: form is an RFC 9562 UUIDv8 of HMAC-SHA-256(secret, IMSI)', () => {
      const ep = endpointUuidUrn(secret, '001010123456789');
      expect(ep).to.match(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // independent recomputation
      const h = createHmac('sha256', secret).update('001010123456789').digest('hex').slice(0, 32);
      const hexOf = ep.slice('urn:uuid:'.length).replace(/-/g, '');
      expect(hexOf.slice(0, 12)).to.equal(h.slice(0, 12));
      expect(parseInt(hexOf[12]!, 16)).to.equal(8);
      expect(hexOf.slice(13, 16)).to.equal(h.slice(13, 16));
      expect(parseInt(hexOf.slice(16, 18), 16)).to.equal((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80);
      expect(hexOf.slice(18)).to.equal(h.slice(18));
    });
    it('is stable for a tenant and differs across tenants and IMSIs', () => {
      expect(endpointName('uuid', '001010123456789', secret)).to.equal(
        endpointName('uuid', '001010123456789', Buffer.from(secret)),
      );
      expect(endpointName('uuid', '001010123456789', Buffer.alloc(32, 8))).to.not.equal(
        endpointName('uuid', '001010123456789', secret),
      );
      expect(endpointName('uuid', '001010123456780', secret)).to.not.equal(
        endpointName('uuid', '001010123456789', secret),
      );
      expect(endpointName('imsi', '001010123456789')).to.equal('urn:imsi:001010123456789');
      expect(() => endpointName('uuid', '001010123456789')).to.throw(InputError);
    });
  });
});

describe('shared/identifiers.ts normal form of a NAF FQDN and Ua id (issue 18 finding 8)', () => {
  it('lower-cases ASCII letters only and drops one trailing dot', () => {
    expect(normalizeFqdn('NAF.Example.ORG.')).to.equal('naf.example.org');
    expect(normalizeFqdn('naf.example.org')).to.equal('naf.example.org');
    expect(normalizeFqdn('XN--BCHER-KVA.Example')).to.equal('xn--bcher-kva.example');
    expect(normalizeUaSecProtId('010001C0A8')).to.equal('010001c0a8');
  });
});
