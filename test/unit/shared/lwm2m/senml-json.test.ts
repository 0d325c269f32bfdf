import { expect } from 'chai';
import { DecodeError, InputError } from '../../../../shared/errors.js';
import { ContentFormat, contentFormatName } from '../../../../shared/lwm2m/content-formats.js';
import {
  decodeSenmlJson,
  encodeSenmlJson,
  isObjectLink,
  type SenmlEntry,
} from '../../../../shared/lwm2m/senml-json.js';

// Source: docs/standards-notes/lwm2m-coap-dtls.md §3.4, SenML JSON (CF 110) for GET /3/0 resources 0–3
const DEVICE_JSON =
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
  '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"}]';
const DEVICE_ENTRIES: SenmlEntry[] = [
  { path: '/3/0/0', value: 'Open Mobile Alliance' },
  { path: '/3/0/1', value: 'Lightweight M2M Client' },
  { path: '/3/0/2', value: '345000123' },
  { path: '/3/0/3', value: '1.0' },
];

describe('SenML JSON (RFC 8428, CF 110)', () => {
  it('encodes the docs/standards-notes/lwm2m-coap-dtls.md §3.4 Device read exactly', () => {
    expect(encodeSenmlJson(DEVICE_ENTRIES, '/3/0/')).to.equal(DEVICE_JSON);
  });

  it('decodes it, resolving bn on every record', () => {
    expect(decodeSenmlJson(DEVICE_JSON)).to.deep.equal(DEVICE_ENTRIES);
    expect(decodeSenmlJson(Buffer.from(DEVICE_JSON))).to.deep.equal(DEVICE_ENTRIES);
  });

  it('writes full names without a base path', () => {
    expect(encodeSenmlJson([{ path: '/3/0/9', value: 100 }])).to.equal('[{"n":"/3/0/9","v":100}]');
  });

  it('round-trips every value kind: number, string, boolean, opaque, Objlnk, and resource instances', () => {
    const entries: SenmlEntry[] = [
      { path: '/3/0/9', value: 100 },
      { path: '/3303/0/5700', value: -12.5 },
      { path: '/3/0/15', value: 'Europe/Berlin' },
      { path: '/1/0/6', value: false },
      { path: '/0/0/5', value: Buffer.from([0xfb, 0xff, 0x00, 0x3e]) },
      { path: '/3/0/22/0', value: { objectId: 3303, instanceId: 1 } },
      { path: '/3/0/11/1', value: 0 },
    ];
    const json = encodeSenmlJson(entries, '/');
    expect(json).to.contain('"vd":"-_8APg"'); // base64url, no padding
    expect(json).to.contain('"vlo":"3303:1"');
    expect(decodeSenmlJson(json)).to.deep.equal(entries);
    expect(isObjectLink(entries[5]!.value)).to.equal(true);
    expect(isObjectLink(entries[4]!.value)).to.equal(false);
  });

  it('carries bn and bt over to later records until replaced, adds bv to v and resolves time as bt + t', () => {
    const pack =
      '[{"bn":"/3303/0/","bt":1700000000,"n":"5700","v":20.5,"t":-10},{"n":"5700","v":21},' +
      '{"bn":"/3/0/","bv":10,"n":"9","v":90}]';
    expect(decodeSenmlJson(pack)).to.deep.equal([
      { path: '/3303/0/5700', value: 20.5, timeSec: 1699999990 },
      { path: '/3303/0/5700', value: 21, timeSec: 1700000000 },
      { path: '/3/0/9', value: 100, timeSec: 1700000000 },
    ]);
  });

  it('writes t when an entry has a time', () => {
    expect(encodeSenmlJson([{ path: '/3/0/13', value: 5, timeSec: 1367491215 }])).to.equal(
      '[{"n":"/3/0/13","v":5,"t":1367491215}]',
    );
  });

  it('ignores unknown labels that need not be understood', () => {
    expect(decodeSenmlJson('[{"n":"/3/0/9","v":1,"u":"%","bver":10}]')).to.deep.equal([{ path: '/3/0/9', value: 1 }]);
  });

  describe('malformed packs each throw DecodeError', () => {
    const MALFORMED: [string, string | Buffer][] = [
      ['not JSON', '[{"n":'],
      ['not UTF-8', Buffer.from([0x5b, 0xc3, 0x5d])],
      ['not an array', '{"n":"/3/0/0","vs":"x"}'],
      ['record not an object', '["x"]'],
      ['record is an array', '[[]]'],
      ['no value', '[{"n":"/3/0/0"}]'],
      ['two values', '[{"n":"/3/0/0","v":1,"vs":"1"}]'],
      ['v is a string', '[{"n":"/3/0/0","v":"1"}]'],
      ['vs is a number', '[{"n":"/3/0/0","vs":1}]'],
      ['vb is a number', '[{"n":"/3/0/0","vb":1}]'],
      ['vd with standard-alphabet characters', '[{"n":"/0/0/5","vd":"+/8="}]'],
      ['vd of impossible length', '[{"n":"/0/0/5","vd":"abcde"}]'],
      ['vlo not oid:iid', '[{"n":"/3/0/22/0","vlo":"a:b"}]'],
      ['vlo id beyond 65535', '[{"n":"/3/0/22/0","vlo":"70000:0"}]'],
      ['bn not a string', '[{"bn":3,"n":"0","vs":"x"}]'],
      ['bt not a number', '[{"bt":"now","n":"/3/0/0","vs":"x"}]'],
      ['t not a number', '[{"n":"/3/0/0","vs":"x","t":"1"}]'],
      ['name resolves to an object instance', '[{"n":"/3/0","vs":"x"}]'],
      ['name resolves to a relative path', '[{"n":"3/0/0","vs":"x"}]'],
      ['name with a leading zero', '[{"n":"/3/0/01","vs":"x"}]'],
      ['id beyond 65535', '[{"n":"/3/0/70000","v":1}]'],
      ['unknown must-understand label', '[{"n":"/3/0/0","vs":"x","foo_":1}]'],
    ];
    for (const [name, input] of MALFORMED) {
      it(`rejects: ${name}`, () => expect(() => decodeSenmlJson(input)).to.throw(DecodeError));
    }
  });

  it('encoder refuses non-resource paths, paths outside the base, non-finite numbers and bad Objlnk ids with InputError', () => {
    expect(() => encodeSenmlJson([{ path: '/3/0', value: 1 }])).to.throw(InputError);
    expect(() => encodeSenmlJson([{ path: '/3/0/1', value: 1 }], '/4/')).to.throw(InputError);
    expect(() => encodeSenmlJson([{ path: '/3/0/1', value: Number.NaN }])).to.throw(InputError);
    expect(() => encodeSenmlJson([{ path: '/3/0/22/0', value: { objectId: -1, instanceId: 0 } }])).to.throw(InputError);
  });
});

describe('LwM2M Content-Formats', () => {
  const TABLE: [number, number, string][] = [
    [ContentFormat.TEXT, 0, 'text/plain;charset=utf-8'],
    [ContentFormat.LINK_FORMAT, 40, 'application/link-format'],
    [ContentFormat.OPAQUE, 42, 'application/octet-stream'],
    [ContentFormat.CBOR, 60, 'application/cbor'],
    [ContentFormat.SENML_JSON, 110, 'application/senml+json'],
    [ContentFormat.SENML_CBOR, 112, 'application/senml+cbor'],
    [ContentFormat.LWM2M_TLV, 11542, 'application/vnd.oma.lwm2m+tlv'],
    [ContentFormat.LWM2M_JSON, 11543, 'application/vnd.oma.lwm2m+json'],
  ];
  for (const [constant, number, name] of TABLE) {
    it(`${number} is ${name}`, () => {
      expect(constant).to.equal(number);
      expect(contentFormatName(number)).to.equal(name);
    });
  }

  it('has no name for a number LwM2M does not use', () => expect(contentFormatName(50)).to.equal(undefined));
});
