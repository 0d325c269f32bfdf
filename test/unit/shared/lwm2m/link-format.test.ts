import { expect } from 'chai';
import { DecodeError, InputError } from '../../../../shared/errors.js';
import {
  DEFAULT_QUOTED,
  extractRegistrationLinks,
  parseLinkFormat,
  registrationLinks,
  serializeLinkFormat,
} from '../../../../shared/lwm2m/link-format.js';

// Source: docs/standards-notes/lwm2m-coap-dtls.md §3.1 (Register payload)
const REGISTER_PAYLOAD = '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>,</3303>;ver=1.1,</3303/0>';

describe('CoRE Link Format (RFC 6690)', () => {
  it('parses the docs/standards-notes/lwm2m-coap-dtls.md §3.1 Register payload', () => {
    expect(parseLinkFormat(REGISTER_PAYLOAD)).to.deep.equal([
      { path: '/', params: { rt: 'oma.lwm2m', ct: '11543' } },
      { path: '/1/0', params: {} },
      { path: '/3/0', params: {} },
      { path: '/5', params: {} },
      { path: '/3303', params: { ver: '1.1' } },
      { path: '/3303/0', params: {} },
    ]);
  });

  it('serializes it back to the same text', () => {
    expect(serializeLinkFormat(parseLinkFormat(REGISTER_PAYLOAD))).to.equal(REGISTER_PAYLOAD);
  });

  it('quotes ver when asked, as LwM2M 1.0 does', () => {
    const text = serializeLinkFormat([{ path: '/3303', params: { ver: '1.1' } }], {
      quoted: [...DEFAULT_QUOTED, 'ver'],
    });
    expect(text).to.equal('</3303>;ver="1.1"');
  });

  it('reads a UTF-8 payload buffer, parameters without a value, quoted strings with escapes and percent-encoded paths', () => {
    const links = parseLinkFormat(
      Buffer.from('</a%20b>;obs;title="say \\"hi\\", \\\\ ok";sz=1280,<coap://h:5683/x?q=1>;if="a b"'),
    );
    expect(links).to.deep.equal([
      { path: '/a%20b', params: { obs: true, title: 'say "hi", \\ ok', sz: '1280' } },
      { path: 'coap://h:5683/x?q=1', params: { if: 'a b' } },
    ]);
    expect(parseLinkFormat(serializeLinkFormat(links))).to.deep.equal(links);
  });

  it('parses an empty payload as no links', () => {
    expect(parseLinkFormat('')).to.deep.equal([]);
  });

  it('accepts ptokens containing < > = / and ext-name-star parameters', () => {
    expect(parseLinkFormat("</x>;a=b<c>d=e/f;title*=UTF-8'en'%c2%a3")[0]!.params).to.deep.equal({
      a: 'b<c>d=e/f',
      'title*': "UTF-8'en'%c2%a3",
    });
  });

  it('serializer rejects a path that is not a URI-Reference and a bad parameter name with InputError', () => {
    expect(() => serializeLinkFormat([{ path: '/a b', params: {} }])).to.throw(InputError);
    expect(() => serializeLinkFormat([{ path: '/a', params: { 'x y': true } }])).to.throw(InputError);
  });

  describe('malformed link-format each throws DecodeError', () => {
    const MALFORMED: [string, string | Buffer][] = [
      ['no angle bracket', '/1/0'],
      ['unterminated URI', '</1/0'],
      ['space in URI', '</1 0>'],
      ['bad percent-encoding', '</a%2>'],
      ['trailing comma', '</1/0>,'],
      ['leading comma', ',</1/0>'],
      ['empty link between commas', '</1>,,</2>'],
      ['space after comma', '</1>, </2>'],
      ['semicolon without a parameter', '</1>;'],
      ['parameter without a name', '</1>;=x'],
      ['empty value', '</1>;rt='],
      ['unterminated quoted string', '</1>;rt="oma'],
      ['junk after a quoted string', '</1>;rt="a"b'],
      ['control character in quoted string', '</1>;title="a\u0001b"'],
      ['comma inside an unquoted value', '</1>;ct=1 2'],
      ['repeated parameter', '</1>;ver=1.0;ver=1.1'],
      ['text after the link', '</1>x'],
      ['invalid UTF-8', Buffer.from([0x3c, 0x2f, 0xc3, 0x3e])],
    ];
    for (const [name, input] of MALFORMED) {
      it(`rejects: ${name}`, () => expect(() => parseLinkFormat(input)).to.throw(DecodeError));
    }
  });
});

describe('LwM2M Register object links (Core 1.1 §6.2.1, docs/standards-notes/lwm2m-coap-dtls.md §3.1)', () => {
  it('extracts root path, supported Content-Formats, objects, instances and versions from the §3.1 payload', () => {
    expect(extractRegistrationLinks(parseLinkFormat(REGISTER_PAYLOAD))).to.deep.equal({
      rootPath: '/',
      contentFormats: [11543],
      objects: [
        { objectId: 1, instances: [0] },
        { objectId: 3, instances: [0] },
        { objectId: 5, instances: [] },
        { objectId: 3303, version: '1.1', instances: [0] },
      ],
      forbiddenObjects: [],
    });
  });

  it('takes the alternate path from the link whose rt is oma.lwm2m, and a quoted ct list', () => {
    const r = extractRegistrationLinks(
      parseLinkFormat('</lwm2m>;rt="oma.lwm2m";ct="110 11543",</lwm2m/3/0>,</lwm2m/1/1>,</lwm2m/1/0>'),
    );
    expect(r.rootPath).to.equal('/lwm2m/');
    expect(r.contentFormats).to.deep.equal([110, 11543]);
    expect(r.objects).to.deep.equal([
      { objectId: 3, instances: [0] },
      { objectId: 1, instances: [0, 1] },
    ]);
  });

  it('defaults the root path to / without a root link', () => {
    const r = extractRegistrationLinks(parseLinkFormat('</3/0>'));
    expect([r.rootPath, r.contentFormats]).to.deep.equal(['/', []]);
  });

  it('exposes a listed Security (0) or OSCORE (21) object without rejecting it (the server decides)', () => {
    const r = extractRegistrationLinks(parseLinkFormat('</0/0>,</1/0>,</21/0>,</3/0>'));
    expect(r.forbiddenObjects).to.deep.equal([0, 21]);
    expect(r.objects.map((o) => o.objectId)).to.deep.equal([0, 1, 21, 3]);
  });

  it('accepts ver on the instance link, and the quoted 1.0 form', () => {
    const r = extractRegistrationLinks(parseLinkFormat('</3303/0>;ver="1.1",</3303/1>'));
    expect(r.objects).to.deep.equal([{ objectId: 3303, version: '1.1', instances: [0, 1] }]);
  });

  describe('invalid object lists each throw DecodeError', () => {
    const INVALID: [string, string][] = [
      ['no object links at all', '</>;rt="oma.lwm2m"'],
      ['empty payload', ''],
      ['non-numeric object id', '</abc>'],
      ['resource link', '</3/0/1>'],
      ['object id 65535 (reserved)', '</65535>'],
      ['leading zero', '</03>'],
      ['empty segment', '</3//0>'],
      ['link outside the alternate root path', '</lwm2m>;rt="oma.lwm2m",</3/0>'],
      ['bad ver', '</3303>;ver=one'],
      ['ver without a value', '</3303>;ver'],
      ['conflicting ver', '</3303>;ver=1.1,</3303/0>;ver=1.2'],
      ['bad ct on the root link', '</>;rt="oma.lwm2m";ct=json,</3/0>'],
      ['ct beyond 65535', '</>;rt="oma.lwm2m";ct=70000,</3/0>'],
      ['relative root path', '<lwm2m>;rt="oma.lwm2m",<lwm2m/3/0>'],
    ];
    for (const [name, text] of INVALID) {
      it(`rejects: ${name}`, () => expect(() => extractRegistrationLinks(parseLinkFormat(text))).to.throw(DecodeError));
    }
  });

  it('registrationLinks builds a payload that extracts back to the same objects', () => {
    const objects = [
      { objectId: 1, instances: [0] },
      { objectId: 3, instances: [0] },
      { objectId: 5, instances: [] },
      { objectId: 3303, version: '1.1', instances: [0] },
    ];
    const text = serializeLinkFormat(registrationLinks(objects, { contentFormats: [110, 11542] }));
    expect(text).to.equal('</>;rt="oma.lwm2m";ct="110 11542",</1/0>,</3/0>,</5>,</3303/0>;ver=1.1');
    expect(extractRegistrationLinks(parseLinkFormat(text)).objects).to.deep.equal(objects);
    const alt = extractRegistrationLinks(
      parseLinkFormat(serializeLinkFormat(registrationLinks(objects, { path: '/lwm2m' }))),
    );
    expect([alt.rootPath, alt.objects]).to.deep.equal(['/lwm2m/', objects]);
  });
});
