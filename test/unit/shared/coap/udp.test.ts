import { expect } from 'chai';
import { DecodeError, InputError } from '../../../../shared/errors.js';
import {
  Code,
  codeToString,
  type CoapMessage,
  decodeUint,
  encodeUint,
  getAccept,
  getContentFormat,
  getLocationPath,
  getOption,
  getUriPath,
  getUriQuery,
  message,
  OptionNumber,
  setAccept,
  setContentFormat,
  setLocationPath,
  setUriPath,
  setUriQuery,
  unknownCriticalOption,
  uriPathString,
  DEFAULT_KNOWN_CRITICAL,
} from '../../../../shared/coap/message.js';
import { decodeUdp, encodeUdp } from '../../../../shared/coap/udp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

// Source: docs/standards-notes/lwm2m-coap-dtls.md §1.3 (GET /3/0, Accept TLV, CON, MID 0x0001, token 01) [V]
const GET_3_0 = '41 01 00 01 01 | b1 33 | 01 30 | 62 2d 16';
// Source: docs/standards-notes/lwm2m-coap-dtls.md §5.5, the LwM2M Register plaintext (117 B) and the piggybacked 2.01 answer
const REGISTER =
  '44021234a1b2c3d4 b27264 1128 3d2365703d75726e3a696d65692d696d73693a3439303135343230333233373531382d303031303130313233343536373839' +
  '066c743d333030 096c776d326d3d312e31 03623d55 ff 3c2f3e3b72743d226f6d612e6c776d326d222c3c2f312f303e2c3c2f332f303e';
const CREATED_ACK = '64411234a1b2c3d4 827264 0435613366';

describe('CoAP over UDP codec (RFC 7252 §3)', () => {
  describe('worked examples of the digest', () => {
    it('encodes GET /3/0 with Accept 11542 to the §1.3 bytes', () => {
      const msg = setAccept(
        setUriPath(message({ type: 'CON', code: Code.GET, messageId: 1, token: hex('01') }), '/3/0'),
        11542,
      );
      expect(encodeUdp(msg).toString('hex')).to.equal(hex(GET_3_0).toString('hex'));
    });

    it('decodes the §1.3 GET /3/0', () => {
      const msg = decodeUdp(hex(GET_3_0));
      expect(msg.type).to.equal('CON');
      expect(msg.code).to.equal(Code.GET);
      expect(msg.messageId).to.equal(1);
      expect(msg.token.toString('hex')).to.equal('01');
      expect(getUriPath(msg)).to.deep.equal(['3', '0']);
      expect(getAccept(msg)).to.equal(11542);
      expect(msg.payload.length).to.equal(0);
    });

    it('decodes the §5.5 Register (117 bytes) and re-encodes it byte for byte', () => {
      const bytes = hex(REGISTER);
      expect(bytes.length).to.equal(117);
      const msg = decodeUdp(bytes);
      expect([msg.type, codeToString(msg.code), msg.messageId, msg.token.toString('hex')]).to.deep.equal([
        'CON',
        '0.02',
        0x1234,
        'a1b2c3d4',
      ]);
      expect(getUriPath(msg)).to.deep.equal(['rd']);
      expect(getContentFormat(msg)).to.equal(40);
      expect(getUriQuery(msg)).to.deep.equal([
        'ep=urn:imei-imsi:490154203237518-001010123456789',
        'lt=300',
        'lwm2m=1.1',
        'b=U',
      ]);
      expect(msg.payload.toString()).to.equal('</>;rt="oma.lwm2m",</1/0>,</3/0>');
      expect(encodeUdp(msg).equals(bytes)).to.equal(true);
    });

    it('encodes the 48-byte ep= Uri-Query after Content-Format as 3d 23 (delta 3, length 13 + 35)', () => {
      const enc = encodeUdp(decodeUdp(hex(REGISTER)));
      expect(enc.subarray(13, 15).toString('hex')).to.equal('3d23');
    });

    it('decodes and encodes the §5.5 piggybacked 2.01 with Location-Path rd, 5a3f', () => {
      const msg = decodeUdp(hex(CREATED_ACK));
      expect([msg.type, codeToString(msg.code), msg.messageId]).to.deep.equal(['ACK', '2.01', 0x1234]);
      expect(getLocationPath(msg)).to.deep.equal(['rd', '5a3f']);
      const built = setLocationPath(
        message({ type: 'ACK', code: Code.CREATED, messageId: 0x1234, token: hex('a1b2c3d4') }),
        ['rd', '5a3f'],
      );
      expect(encodeUdp(built).toString('hex')).to.equal(hex(CREATED_ACK).toString('hex'));
    });

    const EMPTY_FORMS: [string, string, CoapMessage['type']][] = [
      ['empty ACK', '60 00 12 34', 'ACK'],
      ['RST', '70 00 12 34', 'RST'],
      ['CoAP ping (empty CON)', '40 00 12 34', 'CON'],
    ];
    for (const [name, bytes, type] of EMPTY_FORMS) {
      it(`round-trips the ${name} ${bytes} (§1.1)`, () => {
        const msg = decodeUdp(hex(bytes));
        expect([msg.type, msg.code, msg.messageId, msg.token.length, msg.options.length]).to.deep.equal([
          type,
          0,
          0x1234,
          0,
          0,
        ]);
        expect(encodeUdp(msg).toString('hex')).to.equal(hex(bytes).toString('hex'));
      });
    }
  });

  describe('option encoding (RFC 7252 §3.1)', () => {
    it('uses a 2-byte extended delta (nibble 14) for a delta of 300', () => {
      const enc = encodeUdp(
        message({ type: 'NON', code: Code.GET, messageId: 7, options: [{ number: 300, value: Buffer.alloc(0) }] }),
      );
      expect(enc.subarray(4).toString('hex')).to.equal('e0001f');
    });

    it('uses a 2-byte extended length (nibble 14) for a 300-byte value and reads it back', () => {
      const value = Buffer.alloc(300, 0x61);
      const enc = encodeUdp(message({ type: 'NON', code: Code.GET, messageId: 7, options: [{ number: 11, value }] }));
      expect(enc.subarray(4, 7).toString('hex')).to.equal('be001f');
      expect(getOption(decodeUdp(enc), 11)!.equals(value)).to.equal(true);
    });

    it('sorts options by number and keeps repeated options in order', () => {
      const msg = message({
        type: 'CON',
        code: Code.POST,
        messageId: 9,
        options: [
          { number: 15, value: Buffer.from('b=U') },
          { number: 11, value: Buffer.from('rd') },
          { number: 15, value: Buffer.from('ep=x') },
        ],
      });
      expect(getUriQuery(decodeUdp(encodeUdp(msg)))).to.deep.equal(['b=U', 'ep=x']);
    });

    const LENGTHS = [0, 1, 12, 13, 268, 269, 270, 1000];
    for (const n of LENGTHS) {
      it(`round-trips a ${n}-byte payload with token, options at 0, 12, 13, 268, 269 and 2000`, () => {
        const msg: CoapMessage = {
          type: 'NON',
          code: Code.CONTENT,
          messageId: 0xfffe,
          token: hex('0102030405060708'),
          options: [0, 12, 13, 268, 269, 2000].map((number, i) => ({ number, value: Buffer.alloc(i * 5, i) })),
          payload: Buffer.alloc(n, 0x5a),
        };
        expect(decodeUdp(encodeUdp(msg))).to.deep.equal(msg);
      });
    }
  });

  describe('malformed datagrams each throw DecodeError', () => {
    const MALFORMED: [string, string][] = [
      ['empty datagram', ''],
      ['3-byte header', '40 01 00'],
      ['version 0', '00 01 00 01'],
      ['version 2', '80 01 00 01'],
      ['TKL 9', '49 01 00 01 010203040506070809'],
      ['TKL 15', '4f 01 00 01'],
      ['token shorter than TKL', '44 01 00 01 aa bb'],
      ['Empty message with a token', '41 00 00 01 aa'],
      ['Empty message with bytes after the MID', '40 00 00 01 ff 00'],
      ['RST that is not Empty', '70 45 00 01'],
      ['option delta nibble 15', '40 01 00 01 f1 00'],
      ['option length nibble 15', '40 01 00 01 bf'],
      ['payload marker with an empty payload', '40 01 00 01 ff'],
      ['payload marker after an option, empty payload', '40 01 00 01 b1 33 ff'],
      ['truncated option value', '40 01 00 01 b3 61 62'],
      ['truncated 1-byte extended delta', '40 01 00 01 d0'],
      ['truncated 2-byte extended delta', '40 01 00 01 e0 00'],
      ['truncated 1-byte extended length', '40 01 00 01 bd'],
      ['truncated 2-byte extended length', '40 01 00 01 be 01'],
      ['option number beyond 65535', '40 01 00 01 e0 ff ff'],
    ];
    for (const [name, bytes] of MALFORMED) {
      it(`rejects: ${name} (${bytes || 'no bytes'})`, () => {
        expect(() => decodeUdp(hex(bytes))).to.throw(DecodeError);
      });
    }
  });

  describe('encoder input checks throw InputError', () => {
    const BAD: [string, CoapMessage][] = [
      ['no type', message({ code: Code.GET, messageId: 1 })],
      ['no message ID', message({ type: 'CON', code: Code.GET })],
      ['message ID beyond 16 bits', message({ type: 'CON', code: Code.GET, messageId: 0x10000 })],
      ['9-byte token', message({ type: 'CON', code: Code.GET, messageId: 1, token: Buffer.alloc(9) })],
      ['Empty message with a token', message({ type: 'ACK', code: Code.EMPTY, messageId: 1, token: Buffer.of(1) })],
      ['Empty message with a payload', message({ type: 'ACK', code: Code.EMPTY, messageId: 1, payload: Buffer.of(1) })],
    ];
    for (const [name, msg] of BAD) {
      it(`rejects ${name}`, () => expect(() => encodeUdp(msg)).to.throw(InputError));
    }
  });
});

describe('CoAP message helpers', () => {
  const CODES: [number, string][] = [
    [0x00, '0.00'],
    [0x01, '0.01'],
    [0x41, '2.01'],
    [0x45, '2.05'],
    [0x5f, '2.31'],
    [0x84, '4.04'],
    [0x8c, '4.12'],
    [0xa0, '5.00'],
    [0xe1, '7.01'],
    [0xe5, '7.05'],
  ];
  for (const [c, s] of CODES)
    it(`codeToString(0x${c.toString(16)}) is ${s}`, () => expect(codeToString(c)).to.equal(s));

  const UINTS: [number, string][] = [
    [0, ''],
    [40, '28'],
    [255, 'ff'],
    [256, '0100'],
    [1152, '0480'],
    [11542, '2d16'],
    [0x800100, '800100'],
    [0xffffffff, 'ffffffff'],
  ];
  for (const [n, h] of UINTS) {
    it(`encodes uint ${n} as '${h}' without leading zeros and reads it back`, () => {
      expect(encodeUint(n).toString('hex')).to.equal(h);
      expect(decodeUint(hex(h))).to.equal(n);
    });
  }

  it('reads uint values with leading zeros (RFC 7252 §3.2) and rejects 5-byte values', () => {
    expect(decodeUint(hex('000028'))).to.equal(40);
    expect(() => decodeUint(hex('0100000000'))).to.throw(DecodeError);
  });

  it('sets and gets Uri-Path, Uri-Query, Location-Path, Content-Format and Accept, replacing earlier values', () => {
    const msg = message({ code: Code.POST, options: [{ number: OptionNumber.URI_PATH, value: Buffer.from('old') }] });
    setUriPath(msg, '/rd/5a3f');
    setUriQuery(msg, ['lt=300', 'b=U']);
    setContentFormat(msg, 40);
    setAccept(msg, 0);
    setLocationPath(msg, ['rd', 'x']);
    expect(getUriPath(msg)).to.deep.equal(['rd', '5a3f']);
    expect(uriPathString(msg)).to.equal('/rd/5a3f');
    expect(getUriQuery(msg)).to.deep.equal(['lt=300', 'b=U']);
    expect(getContentFormat(msg)).to.equal(40);
    expect(getAccept(msg)).to.equal(0);
    expect(getOption(msg, OptionNumber.ACCEPT)!.length).to.equal(0); // 0 is the empty uint
    expect(getLocationPath(msg)).to.deep.equal(['rd', 'x']);
    expect(msg.options.map((o) => o.number)).to.deep.equal([8, 8, 11, 11, 12, 15, 15, 17]);
    setUriPath(msg, '/');
    expect(uriPathString(msg)).to.equal('/');
  });

  it('rejects a relative path string with InputError', () => {
    expect(() => setUriPath(message({ code: Code.GET }), 'rd')).to.throw(InputError);
  });

  it('throws DecodeError for a Uri-Path that is not UTF-8', () => {
    const msg = message({ code: Code.GET, options: [{ number: OptionNumber.URI_PATH, value: hex('c3') }] });
    expect(() => getUriPath(msg)).to.throw(DecodeError);
  });

  it('finds the first unknown critical option and ignores elective ones', () => {
    const withOptions = (...numbers: number[]) =>
      message({ code: Code.GET, options: numbers.map((number) => ({ number, value: Buffer.alloc(0) })) });
    expect(unknownCriticalOption(withOptions(11, 12, 17), DEFAULT_KNOWN_CRITICAL)).to.equal(undefined);
    expect(unknownCriticalOption(withOptions(10, 11, 2050), DEFAULT_KNOWN_CRITICAL)).to.equal(undefined);
    expect(unknownCriticalOption(withOptions(9, 11, 35), DEFAULT_KNOWN_CRITICAL)).to.equal(9);
  });
});
