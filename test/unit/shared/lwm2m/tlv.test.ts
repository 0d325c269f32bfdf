import { expect } from 'chai';
import { DecodeError, InputError } from '../../../../shared/errors.js';
import {
  decodeTlv,
  encodeTlv,
  readTlvBoolean,
  readTlvFloat,
  readTlvInteger,
  readTlvObjlnk,
  readTlvSafeInteger,
  readTlvString,
  readTlvTime,
  type Tlv,
  tlvBoolean,
  tlvFloat,
  tlvInteger,
  tlvObjlnk,
  tlvOpaque,
  tlvResource,
  tlvResourceInstance,
  tlvString,
  tlvTime,
} from '../../../../shared/lwm2m/tlv.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Source: docs/standards-notes/lwm2m-coap-dtls.md §3.4 — GET /3/0, Accept 11542, resources 0–3 (OMA LwM2M 1.0 TS §6.4.3 example)
const DEVICE_0_3 = hex(`
  c8 00 14 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65
  c8 01 16 4c 69 67 68 74 77 65 69 67 68 74 20 4d 32 4d 20 43 6c 69 65 6e 74
  c8 02 09 33 34 35 30 30 30 31 32 33
  c3 03 31 2e 30`);
/** The value of the single resource TLV in `tlvs`. */
function onlyValue(tlvs: Tlv[]): Buffer {
  expect(tlvs).to.have.length(1);
  const t = tlvs[0]!;
  if (t.type !== 'resource') return expect.fail(`expected a resource TLV, got ${t.type}`);
  return t.value;
}

const DEVICE_VALUES: [number, string][] = [
  [0, 'Open Mobile Alliance'],
  [1, 'Lightweight M2M Client'],
  [2, '345000123'],
  [3, '1.0'],
];

describe('LwM2M TLV (docs/standards-notes/lwm2m-coap-dtls.md §3.4)', () => {
  describe('the OMA Device example', () => {
    it('is 65 bytes and decodes to resources 0–3 with their strings', () => {
      expect(DEVICE_0_3.length).to.equal(65);
      const tlvs = decodeTlv(DEVICE_0_3);
      expect(tlvs.map((t) => t.type)).to.deep.equal(['resource', 'resource', 'resource', 'resource']);
      expect(tlvs.map((t) => [t.id, readTlvString(onlyValue([t]))])).to.deep.equal(DEVICE_VALUES);
    });

    it('is what the encoder writes for those strings (c8 = 8-bit length, c3 = inline length 3)', () => {
      const enc = encodeTlv(DEVICE_VALUES.map(([id, s]) => tlvResource(id, tlvString(s))));
      expect(enc.toString('hex')).to.equal(DEVICE_0_3.toString('hex'));
    });

    it('is wrapped as object instance 0 with an 8-bit length 0x41 when reading /3', () => {
      const resources = DEVICE_VALUES.map(([id, v]) => tlvResource(id, tlvString(v)));
      const wrapped: Tlv = { type: 'objectInstance', id: 0, resources };
      const enc = encodeTlv([wrapped]);
      expect(enc.subarray(0, 6).toString('hex')).to.equal('080041c80014');
      expect(enc.length).to.equal(68);
      expect(decodeTlv(enc)).to.deep.equal([wrapped]);
    });
  });

  describe('other digest encodings', () => {
    it('83 0b 41 00 00: Error Code (11) as a multiple resource with instance 0 = 0', () => {
      const tlv: Tlv = { type: 'multipleResource', id: 11, instances: [tlvResourceInstance(0, tlvInteger(0))] };
      expect(encodeTlv([tlv]).toString('hex')).to.equal('830b410000');
      expect(decodeTlv(hex('830b410000'))).to.deep.equal([tlv]);
    });

    it('c1 10 55: Supported Binding (16) = "U"', () => {
      expect(encodeTlv([tlvResource(16, tlvString('U'))]).toString('hex')).to.equal('c11055');
    });

    it('c1 09 64: Battery Level (9) = 100', () => {
      expect(readTlvSafeInteger(onlyValue(decodeTlv(hex('c10964'))))).to.equal(100);
      expect(encodeTlv([tlvResource(9, tlvInteger(100))]).toString('hex')).to.equal('c10964');
    });

    it('c4 0d 51 82 42 8f: Current Time (13) = 1367491215', () => {
      expect(readTlvTime(onlyValue(decodeTlv(hex('c40d5182428f')))).toISOString()).to.equal(
        new Date(1367491215 * 1000).toISOString(),
      );
      expect(encodeTlv([tlvResource(13, tlvTime(new Date(1367491215 * 1000)))]).toString('hex')).to.equal(
        'c40d5182428f',
      );
    });
  });

  describe('header forms', () => {
    const FORMS: [string, Tlv, string][] = [
      ['16-bit identifier', tlvResource(300, Buffer.of(1)), 'e1012c01'],
      ['16-bit length', tlvResource(1, Buffer.alloc(256)), 'd0010100'],
      ['24-bit length', tlvResource(1, Buffer.alloc(65536)), 'd801010000'],
      ['empty value', tlvResource(5, Buffer.alloc(0)), 'c005'],
      ['7 bytes inline', tlvResource(5, Buffer.alloc(7)), 'c705'],
      ['8 bytes need an 8-bit length', tlvResource(5, Buffer.alloc(8)), 'c80508'],
      ['resource instance', tlvResourceInstance(2, Buffer.of(9)), '410209'],
    ];
    for (const [name, tlv, head] of FORMS) {
      it(`${name}: header ${head}, round trip`, () => {
        const enc = encodeTlv([tlv]);
        expect(enc.subarray(0, head.length / 2).toString('hex')).to.equal(head);
        expect(decodeTlv(enc)).to.deep.equal([tlv]);
      });
    }

    it('ignores the inline length bits when a length field follows (as Leshan)', () => {
      expect(decodeTlv(hex('cf 00 01 41'))).to.deep.equal([tlvResource(0, Buffer.from('A'))]);
    });

    it('rejects identifiers beyond 16 bits and values beyond 24-bit length with InputError', () => {
      expect(() => encodeTlv([tlvResource(65536, Buffer.alloc(0))])).to.throw(InputError);
      expect(() => encodeTlv([tlvResource(-1, Buffer.alloc(0))])).to.throw(InputError);
    });
  });

  describe('typed values', () => {
    const INTEGERS: [number | bigint, string][] = [
      [0, '00'],
      [127, '7f'],
      [-128, '80'],
      [128, '0080'],
      [-129, 'ff7f'],
      [32767, '7fff'],
      [32768, '00008000'],
      [-2147483648, '80000000'],
      [2147483648, '0000000080000000'],
      [-(2n ** 63n), '8000000000000000'],
      [2n ** 63n - 1n, '7fffffffffffffff'],
    ];
    for (const [n, h] of INTEGERS) {
      it(`Integer ${n} is ${h} (shortest of 1, 2, 4, 8 bytes) and reads back`, () => {
        expect(tlvInteger(n).toString('hex')).to.equal(h);
        expect(readTlvInteger(hex(h))).to.equal(BigInt(n));
      });
    }

    it('rejects integers that do not fit 64 bits, and unsafe numbers', () => {
      expect(() => tlvInteger(2n ** 63n)).to.throw(InputError);
      expect(() => tlvInteger(2 ** 60)).to.throw(InputError);
    });

    it('Float: 4 bytes when exactly a binary32, else 8', () => {
      expect(tlvFloat(1.5).toString('hex')).to.equal('3fc00000');
      expect(tlvFloat(3.3).toString('hex')).to.equal('400a666666666666');
      expect(readTlvFloat(hex('3fc00000'))).to.equal(1.5);
      expect(readTlvFloat(tlvFloat(-273.15))).to.equal(-273.15);
    });

    it('Boolean, Objlnk, Opaque and String round-trip', () => {
      expect([tlvBoolean(true).toString('hex'), tlvBoolean(false).toString('hex')]).to.deep.equal(['01', '00']);
      expect(readTlvBoolean(hex('01'))).to.equal(true);
      expect(tlvObjlnk({ objectId: 3, instanceId: 0 }).toString('hex')).to.equal('00030000');
      expect(readTlvObjlnk(hex('ffffffff'))).to.deep.equal({ objectId: 65535, instanceId: 65535 });
      expect(tlvOpaque(Uint8Array.of(1, 2)).toString('hex')).to.equal('0102');
      expect(readTlvString(tlvString('Zürich ✓'))).to.equal('Zürich ✓');
    });

    const BAD_VALUES: [string, () => unknown][] = [
      ['Integer of 3 bytes', () => readTlvInteger(hex('000001'))],
      ['Integer of 0 bytes', () => readTlvInteger(Buffer.alloc(0))],
      ['Integer beyond the safe range as a number', () => readTlvSafeInteger(hex('7fffffffffffffff'))],
      ['Float of 2 bytes', () => readTlvFloat(hex('3fc0'))],
      ['Boolean 2', () => readTlvBoolean(hex('02'))],
      ['Boolean of 2 bytes', () => readTlvBoolean(hex('0001'))],
      ['Objlnk of 3 bytes', () => readTlvObjlnk(hex('000300'))],
      ['String not UTF-8', () => readTlvString(hex('c3'))],
    ];
    for (const [name, read] of BAD_VALUES)
      it(`rejects ${name} with DecodeError`, () => expect(read).to.throw(DecodeError));
  });

  describe('malformed TLV each throws DecodeError', () => {
    const MALFORMED: [string, string, RegExp][] = [
      ['type byte only', 'c8', /truncated TLV header/],
      ['truncated 16-bit identifier', 'e1 01', /truncated TLV header/],
      ['truncated length field', 'd0 01 01', /truncated TLV header/],
      ['value shorter than its length', 'c8 00 14 4f 70', /overruns/],
      ['inline length past the end', 'c3 03 31 2e', /overruns/],
      ['resource instance directly in an object instance', '08 00 03 41 00 00', /not a Resource/],
      ['resource in a multiple resource', '83 0b c1 00 00', /not a Resource Instance/],
      ['child overruns its object instance', '08 00 03 c8 00 05 00 00 00 00 00', /overruns/],
      ['object instance in a multiple resource', '82 0b 00 00', /not a Resource Instance/],
    ];
    for (const [name, bytes, reason] of MALFORMED) {
      it(`rejects: ${name}`, () => expect(() => decodeTlv(hex(bytes))).to.throw(DecodeError, reason));
    }
  });
});
