import { expect } from 'chai';
import { InputError } from '../../../../shared/errors.js';
import { Code, type CoapMessage, message, setContentFormat } from '../../../../shared/coap/message.js';
import { decodeUdp, encodeUdp } from '../../../../shared/coap/udp.js';
import { parseLinkFormat } from '../../../../shared/lwm2m/link-format.js';
import {
  buildRegisterQuery,
  buildRegisterRequest,
  buildUpdateQuery,
  buildUpdateRequest,
  isValidBinding,
  type Outcome,
  parseRegisterQuery,
  parseRegisterRequest,
  parseUpdateQuery,
  parseUpdateRequest,
} from '../../../../shared/lwm2m/registration.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

// Source: docs/standards-notes/lwm2m-coap-dtls.md §5.5 (the LwM2M Register plaintext, CON, MID 0x1234, token a1b2c3d4)
const REGISTER = hex(
  '44021234a1b2c3d4 b27264 1128 3d2365703d75726e3a696d65692d696d73693a3439303135343230333233373531382d303031303130313233343536373839' +
    '066c743d333030 096c776d326d3d312e31 03623d55 ff 3c2f3e3b72743d226f6d612e6c776d326d222c3c2f312f303e2c3c2f332f303e',
);
const EP = 'urn:imei-imsi:490154203237518-001010123456789';

function ok<T>(r: Outcome<T>): T {
  if (!r.ok) return expect.fail(`expected ok, got ${r.code.toString(16)} ${r.reason}`);
  return r.value;
}

describe('LwM2M Register query (Core 1.1 §6.2.1, docs/standards-notes/lwm2m-coap-dtls.md §3.1)', () => {
  it('applies the defaults: lt 86400, lwm2m 1.0, b U, no queue mode', () => {
    expect(ok(parseRegisterQuery(['ep=dev1']))).to.deep.equal({
      endpoint: 'dev1',
      lifetimeSec: 86400,
      lwm2mVersion: '1.0',
      binding: 'U',
      queueMode: false,
      extra: {},
    });
  });

  it('reads every parameter in any order, and keeps unknown ones', () => {
    expect(
      ok(parseRegisterQuery(['Q', 'sms=+15551234', 'b=UT', 'lwm2m=1.1', 'lt=300', 'ep=dev1', 'apn=iot', 'flag'])),
    ).to.deep.equal({
      endpoint: 'dev1',
      lifetimeSec: 300,
      lwm2mVersion: '1.1',
      binding: 'UT',
      queueMode: true,
      sms: '+15551234',
      extra: { apn: 'iot', flag: true },
    });
  });

  it('reads queue mode from b=UQ in LwM2M 1.0', () => {
    const q = ok(parseRegisterQuery(['ep=d', 'b=UQ']));
    expect([q.binding, q.queueMode]).to.deep.equal(['UQ', true]);
  });

  it('lets LwM2M 1.1 and 1.2 omit ep (Core 1.1.1: it may equal the security identity)', () => {
    expect(ok(parseRegisterQuery(['lwm2m=1.1'])).endpoint).to.equal(undefined);
    expect(ok(parseRegisterQuery(['lwm2m=1.2'])).lwm2mVersion).to.equal('1.2');
  });

  const OUTCOMES: [string, string[], number][] = [
    ['unsupported version 1.3', ['ep=d', 'lwm2m=1.3'], Code.PRECONDITION_FAILED],
    ['unsupported version 2.0', ['ep=d', 'lwm2m=2.0'], Code.PRECONDITION_FAILED],
    ['malformed version', ['ep=d', 'lwm2m=abc'], Code.BAD_REQUEST],
    ['version without a value', ['ep=d', 'lwm2m'], Code.BAD_REQUEST],
    ['missing ep in 1.0', ['lt=300'], Code.BAD_REQUEST],
    ['empty ep', ['ep=', 'lwm2m=1.1'], Code.BAD_REQUEST],
    ['empty lt', ['ep=d', 'lt='], Code.BAD_REQUEST],
    ['non-numeric lt', ['ep=d', 'lt=abc'], Code.BAD_REQUEST],
    ['negative lt', ['ep=d', 'lt=-5'], Code.BAD_REQUEST],
    ['zero lt', ['ep=d', 'lt=0'], Code.BAD_REQUEST],
    ['lt beyond 32 bits', ['ep=d', 'lt=4294967296'], Code.BAD_REQUEST],
    ['Q with a value', ['ep=d', 'lwm2m=1.1', 'Q=1'], Code.BAD_REQUEST],
    ['Q inside b in 1.1', ['ep=d', 'lwm2m=1.1', 'b=UQ'], Code.BAD_REQUEST],
    ['1.1 letter T in 1.0', ['ep=d', 'b=UT'], Code.BAD_REQUEST],
    ['unknown binding letter', ['ep=d', 'lwm2m=1.1', 'b=X'], Code.BAD_REQUEST],
    ['repeated binding letter', ['ep=d', 'lwm2m=1.1', 'b=UU'], Code.BAD_REQUEST],
    ['empty b', ['ep=d', 'b='], Code.BAD_REQUEST],
    ['empty sms', ['ep=d', 'sms='], Code.BAD_REQUEST],
    ['repeated ep', ['ep=a', 'ep=b'], Code.BAD_REQUEST],
    ['parameter without a name', ['ep=d', '=x'], Code.BAD_REQUEST],
  ];
  for (const [name, queries, code] of OUTCOMES) {
    it(`answers ${code === Code.BAD_REQUEST ? '4.00' : '4.12'} for ${name}`, () => {
      const r = parseRegisterQuery(queries);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.code).to.equal(code);
    });
  }

  const BINDINGS: [string, '1.0' | '1.1' | '1.2', boolean][] = [
    ['U', '1.0', true],
    ['UQ', '1.0', true],
    ['S', '1.0', true],
    ['SQ', '1.0', true],
    ['US', '1.0', true],
    ['UQS', '1.0', true],
    ['SU', '1.0', false],
    ['T', '1.0', false],
    ['U', '1.1', true],
    ['UT', '1.1', true],
    ['UN', '1.2', true],
    ['TSNU', '1.1', true],
    ['UQ', '1.1', false],
    ['', '1.1', false],
    ['u', '1.1', false],
  ];
  for (const [b, v, valid] of BINDINGS) {
    it(`binding '${b}' is ${valid ? 'valid' : 'invalid'} for LwM2M ${v}`, () =>
      expect(isValidBinding(b, v)).to.equal(valid));
  }
});

describe('LwM2M Update query (Core 1.1 §6.2.2, docs/standards-notes/lwm2m-coap-dtls.md §3.2)', () => {
  it('takes every parameter as optional, absent meaning unchanged', () => {
    expect(ok(parseUpdateQuery([], '1.1'))).to.deep.equal({ extra: {} });
    expect(ok(parseUpdateQuery(['lt=600', 'b=T', 'sms=123'], '1.1'))).to.deep.equal({
      lifetimeSec: 600,
      binding: 'T',
      sms: '123',
      extra: {},
    });
  });

  it('validates the binding against the registered version', () => {
    expect(parseUpdateQuery(['b=UQ'], '1.1').ok).to.equal(false);
    expect(ok(parseUpdateQuery(['b=UQ'], '1.0'))).to.deep.equal({ binding: 'UQ', queueMode: true, extra: {} });
  });

  it('answers 4.00 for a malformed lt', () => {
    const r = parseUpdateQuery(['lt=x'], '1.1');
    expect(r.ok ? 0 : r.code).to.equal(Code.BAD_REQUEST);
  });
});

describe('LwM2M Register and Update requests', () => {
  it('parses the §5.5 Register request', () => {
    const r = ok(parseRegisterRequest(decodeUdp(REGISTER)));
    expect(r.query).to.deep.equal({
      endpoint: EP,
      lifetimeSec: 300,
      lwm2mVersion: '1.1',
      binding: 'U',
      queueMode: false,
      extra: {},
    });
    expect(r.links.objects).to.deep.equal([
      { objectId: 1, instances: [0] },
      { objectId: 3, instances: [0] },
    ]);
  });

  it('builds the §5.5 Register request byte for byte', () => {
    const req = buildRegisterRequest(
      { endpoint: EP, lifetimeSec: 300, lwm2mVersion: '1.1', binding: 'U' },
      parseLinkFormat('</>;rt="oma.lwm2m",</1/0>,</3/0>'),
    );
    const bytes = encodeUdp({ ...req, type: 'CON', messageId: 0x1234, token: hex('a1b2c3d4') });
    expect(bytes.toString('hex')).to.equal(REGISTER.toString('hex'));
  });

  const register = (fields: Partial<CoapMessage>): CoapMessage => ({ ...decodeUdp(REGISTER), ...fields });
  const REQUEST_OUTCOMES: [string, CoapMessage, number][] = [
    ['a NON Register', register({ type: 'NON' }), Code.BAD_REQUEST],
    ['Content-Format 11542', setContentFormat(register({}), 11542), Code.BAD_REQUEST],
    ['a malformed payload', register({ payload: Buffer.from('</1/0') }), Code.BAD_REQUEST],
    ['an empty object list', register({ payload: Buffer.from('</>;rt="oma.lwm2m"') }), Code.BAD_REQUEST],
    ['no payload', register({ payload: Buffer.alloc(0) }), Code.BAD_REQUEST],
    [
      'an unsupported version (even with a bad payload)',
      {
        ...message({ type: 'CON', code: Code.POST, messageId: 1, payload: Buffer.from('junk') }),
        options: [
          { number: 15, value: Buffer.from('ep=x') },
          { number: 15, value: Buffer.from('lwm2m=9.9') },
        ],
      },
      Code.PRECONDITION_FAILED,
    ],
  ];
  for (const [name, msg, code] of REQUEST_OUTCOMES) {
    it(`answers ${code === Code.BAD_REQUEST ? '4.00' : '4.12'} for ${name}`, () => {
      const r = parseRegisterRequest(msg);
      expect(r.ok ? 0 : r.code).to.equal(code);
    });
  }

  it('accepts a Register without Content-Format over TCP (no type)', () => {
    const { type: _t, messageId: _m, ...tcp } = decodeUdp(REGISTER);
    const r = parseRegisterRequest({ ...tcp, options: tcp.options.filter((o) => o.number !== 12) });
    expect(r.ok).to.equal(true);
  });

  it('builds and parses an Update with and without a new object list', () => {
    const bare = buildUpdateRequest(['rd', '5a3f'], { lifetimeSec: 600 }, '1.1');
    const bareMsg = decodeUdp(encodeUdp({ ...bare, type: 'CON', messageId: 2, token: hex('01') }));
    expect(ok(parseUpdateRequest(bareMsg, '1.1'))).to.deep.equal({ query: { lifetimeSec: 600, extra: {} } });
    expect(bare.options.map((o) => o.value.toString())).to.deep.equal(['rd', '5a3f', 'lt=600']);

    const withLinks = buildUpdateRequest(['rd', '5a3f'], {}, '1.1', parseLinkFormat('</3/0>,</3303/0>'));
    const r = ok(parseUpdateRequest({ ...withLinks, token: hex('02') }, '1.1'));
    expect(r.links?.objects.map((o) => o.objectId)).to.deep.equal([3, 3303]);
  });

  it('builders refuse invalid values with InputError', () => {
    expect(() => buildRegisterQuery({ lwm2mVersion: '1.0' })).to.throw(InputError);
    expect(() => buildRegisterQuery({ endpoint: 'd', lwm2mVersion: '1.1', binding: 'UQ' })).to.throw(InputError);
    expect(() => buildRegisterQuery({ endpoint: 'd', lwm2mVersion: '1.0', queueMode: true })).to.throw(InputError);
    expect(() => buildRegisterQuery({ endpoint: '', lwm2mVersion: '1.1' })).to.throw(InputError);
    expect(() => buildUpdateQuery({ lifetimeSec: 0 }, '1.1')).to.throw(InputError);
  });

  it('builds a query that parses back to the same values', () => {
    const query = buildRegisterQuery({
      endpoint: 'dev',
      lifetimeSec: 120,
      lwm2mVersion: '1.2',
      binding: 'UT',
      queueMode: true,
      sms: '4917',
    });
    expect(query).to.deep.equal(['ep=dev', 'lt=120', 'lwm2m=1.2', 'b=UT', 'Q', 'sms=4917']);
    expect(ok(parseRegisterQuery(query))).to.deep.equal({
      endpoint: 'dev',
      lifetimeSec: 120,
      lwm2mVersion: '1.2',
      binding: 'UT',
      queueMode: true,
      sms: '4917',
      extra: {},
    });
  });
});
