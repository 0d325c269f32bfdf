/** The Diameter codec against the encoding examples of docs/standards-notes/gba.md §4.9, and hostile input. */
import { expect } from 'chai';
import {
  avp,
  checkAvps,
  decodeAvps,
  decodeMessage,
  DiameterDecodeError,
  encodeAvp,
  encodeMessage,
  FLAG_P,
  FLAG_R,
  messageLength,
  value,
} from '../../../../shared/diameter/codec.js';
import { APP_ZN, RC } from '../../../../shared/diameter/dictionary.js';
import { birAvps, readBir, MissingAvp, encodeNafId, gussFromXml, gussToXml } from '../../../../shared/diameter/gba.js';

const h = (s: string) => s.replace(/\s+/g, '');
const rc = (f: () => unknown): number => {
  try {
    f();
  } catch (e) {
    if (e instanceof DiameterDecodeError) return e.resultCode;
    throw e;
  }
  return -1;
};

describe('Diameter codec (RFC 6733 §3–4; docs/standards-notes/gba.md §4.9)', () => {
  it('encodes the §4.9 examples octet for octet', () => {
    expect(
      encodeAvp(
        avp('Vendor-Specific-Application-Id', [avp('Vendor-Id', 10415), avp('Auth-Application-Id', APP_ZN)]),
      ).toString('hex'),
    ).to.equal(h('00000104 40 000020 0000010a 40 00000c 000028af 00000102 40 00000c 01000004'));
    const tid = encodeAvp(
      avp('Transaction-Identifier', 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org'),
    );
    expect(tid.subarray(0, 12).toString('hex')).to.equal(h('00000191 c0 00004a 000028af'));
    expect(tid.length).to.equal(76);
    expect(tid.subarray(74).toString('hex')).to.equal('0000');
    expect(encodeAvp(avp('NAF-Id', encodeNafId('naf.example.org', '0100000002'))).toString('hex')).to.equal(
      h('00000192 c0 000020 000028af 6e61662e6578616d706c652e6f72670100000002'),
    );
    expect(
      encodeAvp(
        avp('ME-Key-Material', Buffer.from('7a205ce786b14dad6f28d1f8b39d74aba2a172a3c134043bb036912e2036b610', 'hex')),
      )
        .subarray(0, 12)
        .toString('hex'),
    ).to.equal(h('00000195 c0 00002c 000028af'));
    expect(encodeAvp(avp('Key-ExpiryTime', Date.parse('2030-01-01T00:00:00Z'))).toString('hex')).to.equal(
      h('00000194 c0 000010 000028af f4865700'),
    );
    expect(encodeAvp(avp('GBA_U-Awareness-Indicator', 1)).toString('hex')).to.equal(
      h('00000197 c0 000010 000028af 00000001'),
    );
    expect(encodeAvp(avp('GUSS-Timestamp', 0)).readUInt8(4)).to.equal(0x80); // V, not M (TS 29.109 §6.3.1.10)
  });

  it('round-trips a BIR and reads Time as NTP seconds and Address', () => {
    const avps = birAvps(
      { sessionId: 'naf;1;2', originHost: 'naf.x', originRealm: 'x', destinationRealm: 'bsf.x' },
      {
        btid: 'AAAAAAAAAAAAAAAAAAAAAA==@bsf.x',
        nafFqdn: 'naf.x',
        uaSecProtId: '010001c0a8',
        gbaUAware: true,
        gsIds: [1, 4],
      },
    );
    const wire = encodeMessage({
      flags: FLAG_R | FLAG_P,
      commandCode: 310,
      applicationId: APP_ZN,
      hopByHop: 1,
      endToEnd: 2,
      avps,
    });
    const m = decodeMessage(wire);
    expect(m).to.include({ commandCode: 310, applicationId: APP_ZN, hopByHop: 1, endToEnd: 2, flags: 0xc0 });
    checkAvps(m.avps);
    expect(readBir(m.avps)).to.deep.include({
      btid: 'AAAAAAAAAAAAAAAAAAAAAA==@bsf.x',
      nafFqdn: 'naf.x',
      uaSecProtId: '010001c0a8',
      gbaUAware: true,
      gsIds: [1, 4],
    });
    expect(value.timeMs(decodeAvps(encodeAvp(avp('Key-ExpiryTime', Date.parse('2030-01-01T00:00:00Z'))))[0]!)).to.equal(
      Date.parse('2030-01-01T00:00:00Z'),
    );
    expect(value.address(decodeAvps(encodeAvp(avp('Host-IP-Address', '192.0.2.2')))[0]!)).to.equal('192.0.2.2');
    expect(value.address(decodeAvps(encodeAvp(avp('Host-IP-Address', '2001:db8::1')))[0]!)).to.equal(
      '2001:db8:0:0:0:0:0:1',
    );
  });

  it('refuses hostile input with the RFC 6733 result code, never reading past the message', () => {
    const good = encodeMessage({
      flags: FLAG_R,
      commandCode: 280,
      applicationId: 0,
      hopByHop: 1,
      endToEnd: 1,
      avps: [avp('Origin-Host', 'a.b')],
    });
    expect(rc(() => decodeMessage(good.subarray(0, 12)))).to.equal(RC.INVALID_MESSAGE_LENGTH); // truncated header
    const wrongLen = Buffer.from(good);
    wrongLen.writeUIntBE(good.length + 4, 1, 3);
    expect(rc(() => decodeMessage(wrongLen))).to.equal(RC.INVALID_MESSAGE_LENGTH); // length ≠ octets
    const beyond = Buffer.from(good);
    beyond.writeUIntBE(0x100, 25, 3);
    expect(rc(() => decodeMessage(beyond))).to.equal(RC.INVALID_AVP_LENGTH); // AVP beyond the message
    const pad = Buffer.from(good);
    pad[pad.length - 1] = 1;
    expect(rc(() => decodeMessage(pad))).to.equal(RC.INVALID_AVP_LENGTH); // non-zero padding
    const v2 = Buffer.from(good);
    v2[0] = 2;
    expect(rc(() => decodeMessage(v2))).to.equal(RC.UNSUPPORTED_VERSION);
    const huge = Buffer.from([1, 0xff, 0xff, 0xfc]); // ~16 MiB length field
    expect(rc(() => messageLength(huge, 1 << 20))).to.equal(RC.INVALID_MESSAGE_LENGTH);
    const bits = Buffer.from(good);
    bits[4] = FLAG_R | 0x01;
    expect(rc(() => decodeMessage(bits))).to.equal(RC.INVALID_HDR_BITS);
  });

  it('an unknown AVP with the M bit is 5001 with that AVP as Failed-AVP; without M it is ignored', () => {
    const unknown = { code: 99999, flags: 0x40, vendorId: 0, data: Buffer.from('x') };
    const [a] = decodeAvps(encodeAvp(unknown));
    try {
      checkAvps([a!]);
      expect.fail('accepted');
    } catch (e) {
      expect((e as DiameterDecodeError).resultCode).to.equal(RC.AVP_UNSUPPORTED);
      expect((e as DiameterDecodeError).failedAvp?.readUInt32BE(0)).to.equal(99999);
    }
    checkAvps(decodeAvps(encodeAvp({ ...unknown, flags: 0 })));
  });

  it('a BIR without Transaction-Identifier is 5005 naming it', () => {
    const avps = birAvps(
      { sessionId: 's', originHost: 'n', originRealm: 'r', destinationRealm: 'r' },
      { btid: 'b@r', nafFqdn: 'n.x', uaSecProtId: '0100000002', gbaUAware: false },
    ).filter((x) => x.code !== 401);
    try {
      readBir(avps);
      expect.fail('accepted');
    } catch (e) {
      expect(e).to.be.instanceOf(MissingAvp);
      expect((e as MissingAvp).failedAvp.readUInt32BE(0)).to.equal(401);
    }
  });

  it('GUSS XML round-trips (TS 29.109 Annex A)', () => {
    const g = {
      bsfInfo: { uiccType: 'GBA' as const, lifeTime: 3600 },
      ussList: [{ uss: { gsId: 1, gsType: 0, nafGroup: 'lwm2m', ueIds: [{ ueId: 'sip:a@b' }], flags: [{ flag: 1 }] } }],
    };
    expect(gussFromXml(gussToXml(g, 'x'))).to.deep.equal(g);
  });
});
