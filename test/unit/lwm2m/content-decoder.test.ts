import { expect } from 'chai';
import { DecodeError } from '../../../shared/errors.js';
import { encodeSenmlJson } from '../../../shared/lwm2m/senml-json.js';
import {
  encodeTlv,
  tlvFloat,
  tlvInteger,
  tlvObjlnk,
  tlvResource,
  tlvResourceInstance,
  tlvString,
} from '../../../shared/lwm2m/tlv.js';
import { decodeContent } from '../../../lwm2m/content-decoder.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Source: docs/standards-notes/lwm2m-coap-dtls.md §3.4 (the OMA 1.0 TS §6.4.3 example: GET /3/0, resources 0–3, 65 bytes)
const DEVICE_0_TO_3 = hex(`
  c8 00 14 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65
  c8 01 16 4c 69 67 68 74 77 65 69 67 68 74 20 4d 32 4d 20 43 6c 69 65 6e 74
  c8 02 09 33 34 35 30 30 30 31 32 33
  c3 03 31 2e 30`);
// Same section: Error Code (11, multiple, instance 0 = 0), Supported Binding "U", Battery 100, Current Time 1367491215
const DEVICE_MORE = hex('83 0b 41 00 00  c1 10 55  c1 09 64  c4 0d 51 82 42 8f');
const DEVICE_JSON = {
  0: 'Open Mobile Alliance',
  1: 'Lightweight M2M Client',
  2: '345000123',
  3: '1.0',
  11: { 0: 0 },
  16: 'U',
  9: 100,
  13: 1367491215,
};

describe('LwM2M read content → plain JSON (Core 1.1 §7.4)', () => {
  describe('TLV (11542)', () => {
    it("decodes the digest's /3/0 example with types from the Device object model", () => {
      expect(DEVICE_0_TO_3.length).to.equal(65);
      expect(decodeContent(11542, Buffer.concat([DEVICE_0_TO_3, DEVICE_MORE]), [3, 0])).to.deep.equal(DEVICE_JSON);
    });

    it('unwraps an Object Instance TLV answering /3/0, and nests instances answering /3', () => {
      const wrapped = Buffer.concat([hex('08 00 41'), DEVICE_0_TO_3]); // docs/standards-notes/lwm2m-coap-dtls.md §3.4: object instance 0, length 0x41
      expect(decodeContent(11542, wrapped, [3, 0])).to.deep.equal({
        0: 'Open Mobile Alliance',
        1: 'Lightweight M2M Client',
        2: '345000123',
        3: '1.0',
      });
      expect(decodeContent(11542, wrapped, [3])).to.deep.equal({
        0: { 0: 'Open Mobile Alliance', 1: 'Lightweight M2M Client', 2: '345000123', 3: '1.0' },
      });
    });

    it('gives a resource read its bare value', () => {
      expect(
        decodeContent(11542, hex('c8 00 14 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65'), [3, 0, 0]),
      ).to.equal('Open Mobile Alliance');
      expect(decodeContent(11542, hex('c1 09 64'), [3, 0, 9])).to.equal(100);
    });

    it('reads a multiple resource as instance id → value, wrapped or as bare Resource Instances', () => {
      expect(decodeContent(11542, hex('83 0b 41 00 00'), [3, 0, 11])).to.deep.equal({ 0: 0 });
      const bare = encodeTlv([tlvResourceInstance(0, tlvInteger(1)), tlvResourceInstance(1, tlvInteger(5))]);
      expect(decodeContent(11542, bare, [3, 0, 6])).to.deep.equal({ 0: 1, 1: 5 });
      expect(decodeContent(11542, bare.subarray(0, 3), [3, 0, 6, 0])).to.equal(1);
    });

    it('types Server object values (Integer, Boolean, String) and Objlnk', () => {
      const server = encodeTlv([
        tlvResource(0, tlvInteger(1)),
        tlvResource(1, tlvInteger(86400)),
        tlvResource(6, Buffer.of(0)),
        tlvResource(7, tlvString('T')),
        tlvResource(10, tlvObjlnk({ objectId: 11, instanceId: 0 })),
      ]);
      expect(decodeContent(11542, server, [1, 0])).to.deep.equal({
        0: 1,
        1: 86400,
        6: false,
        7: 'T',
        10: { objectId: 11, instanceId: 0 },
      });
    });

    it('types Temperature (3303) values from the OMA model; resources without a model come as hex', () => {
      const tlv = encodeTlv([tlvResource(5700, tlvFloat(21.5)), tlvResource(5701, tlvString('Cel'))]);
      expect(decodeContent(11542, tlv, [3303, 0])).to.deep.equal({ 5700: 21.5, 5701: 'Cel' });
      expect(decodeContent(11542, encodeTlv([tlvResource(9999, tlvString('x'))]), [3303, 0])).to.deep.equal({
        9999: { hex: '78' },
      });
    });

    it('reads the legacy 1542 number as TLV', () => {
      expect(decodeContent(1542, hex('c1 09 64'), [3, 0, 9])).to.equal(100);
    });

    it('gives an empty instance and an empty multiple resource as {}', () => {
      expect(decodeContent(11542, Buffer.alloc(0), [3, 0])).to.deep.equal({});
      expect(decodeContent(11542, hex('80 0b'), [3, 0])).to.deep.equal({ 11: {} }); // Multiple Resource 11, length 0
    });

    const bad: Array<[string, Buffer, number[]]> = [
      ['a truncated TLV', hex('c8 00 14 4f 70'), [3, 0]],
      ['an answer for another resource', hex('c1 09 64'), [3, 0, 10]],
      ['an answer for another instance', hex('08 01 03 c1 09 64'), [3, 0]],
      ['Resource TLVs answering an object read', hex('c1 09 64'), [3]],
      ['a resource twice', hex('c1 09 64 c1 09 63'), [3, 0]],
      ['an Integer of 3 bytes', hex('c3 09 00 00 64'), [3, 0]],
      ['a String that is not UTF-8', hex('c1 00 ff'), [3, 0]],
      ['a Boolean of value 2', hex('c1 06 02'), [1, 0]],
      ['a resource-instance read without a value', Buffer.alloc(0), [3, 0, 11, 0]],
    ];
    for (const [name, payload, path] of bad) {
      it(`rejects ${name} with a DecodeError`, () => {
        expect(() => decodeContent(11542, payload, path)).to.throw(DecodeError);
      });
    }
  });

  describe('SenML JSON (110)', () => {
    it("decodes the digest's /3/0 pack", () => {
      const pack =
        '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"}]';
      expect(decodeContent(110, Buffer.from(pack), [3, 0])).to.deep.equal({
        0: 'Open Mobile Alliance',
        1: 'Lightweight M2M Client',
        2: '345000123',
        3: '1.0',
      });
    });

    it('nests resource instances and maps opaque and Objlnk values', () => {
      const pack = encodeSenmlJson(
        [
          { path: '/3/0/9', value: 100 },
          { path: '/3/0/11/0', value: 0 },
          { path: '/3/0/11/1', value: 7 },
          { path: '/3/0/22/0', value: { objectId: 4, instanceId: 0 } },
          { path: '/3/0/99', value: Buffer.from([1, 2, 3]) },
          { path: '/3/0/98', value: true },
        ],
        '/3/0/',
      );
      expect(decodeContent(110, Buffer.from(pack), [3, 0])).to.deep.equal({
        9: 100,
        11: { 0: 0, 1: 7 },
        22: { 0: { objectId: 4, instanceId: 0 } },
        99: { base64: 'AQID' },
        98: true,
      });
      expect(decodeContent(110, Buffer.from('[{"n":"/3/0/9","v":100}]'), [3, 0, 9])).to.equal(100);
    });

    it('rejects a record outside the path read, and malformed packs', () => {
      expect(() => decodeContent(110, Buffer.from('[{"n":"/3/1/9","v":1}]'), [3, 0])).to.throw(DecodeError);
      expect(() => decodeContent(110, Buffer.from('{"n":"/3/0/9"}'), [3, 0])).to.throw(DecodeError);
      expect(() => decodeContent(110, Buffer.from('[{"n":"/3/0/9","v":1},{"n":"/3/0/9","v":2}]'), [3, 0])).to.throw(
        DecodeError,
      );
    });
  });

  describe('text, opaque, link-format and the rest', () => {
    it("reads text by the model's type", () => {
      expect(decodeContent(0, Buffer.from('100'), [3, 0, 9])).to.equal(100);
      expect(decodeContent(0, Buffer.from('Open Mobile Alliance'), [3, 0, 0])).to.equal('Open Mobile Alliance');
      expect(decodeContent(0, Buffer.from('1'), [1, 0, 6])).to.equal(true);
      expect(decodeContent(0, Buffer.from('11:0'), [1, 0, 10])).to.deep.equal({ objectId: 11, instanceId: 0 });
      expect(decodeContent(0, Buffer.from('21.5'), [3303, 0, 5700])).to.equal(21.5);
      expect(decodeContent(0, Buffer.from('21.5'), [3303, 0, 9999])).to.equal('21.5');
    });

    it('rejects text that does not fit the type, or answering an instance read', () => {
      expect(() => decodeContent(0, Buffer.from('full'), [3, 0, 9])).to.throw(DecodeError);
      expect(() => decodeContent(0, Buffer.from('yes'), [1, 0, 6])).to.throw(DecodeError);
      expect(() => decodeContent(0, Buffer.from('x'), [3, 0])).to.throw(DecodeError);
      expect(() => decodeContent(0, Buffer.from([0xc3, 0x28]), [3, 0, 0])).to.throw(DecodeError);
    });

    it('gives opaque, unknown formats and a format-less payload as base64; an empty one as null', () => {
      expect(decodeContent(42, Buffer.from([0, 1, 2]), [5, 0, 0])).to.deep.equal({ base64: 'AAEC' });
      expect(decodeContent(112, Buffer.from([0x80]), [3, 0])).to.deep.equal({ base64: 'gA==' });
      expect(decodeContent(undefined, Buffer.from('hi'), [3, 0])).to.deep.equal({ base64: 'aGk=' });
      expect(decodeContent(undefined, Buffer.alloc(0), [3, 0])).to.equal(null);
    });

    it('lists link-format answers', () => {
      expect(decodeContent(40, Buffer.from('</3/0>;pmin=10,</3/0/9>'), [3, 0])).to.deep.equal([
        { url: '/3/0', attributes: { pmin: '10' } },
        { url: '/3/0/9', attributes: {} },
      ]);
    });
  });
});
