import { expect } from 'chai';
import {
  Code,
  CoapExchangeError,
  type CoapMessage,
  decodeUint,
  encodeUint,
  getAccept,
  getOption,
  getUriPath,
  message,
  OptionNumber,
} from '../../../shared/coap/message.js';
import { InputError } from '../../../shared/errors.js';
import { silentLogger } from '../../../shared/log.js';
import { Registry } from '../../../shared/metrics.js';
import type { Lwm2mVersion } from '../../../shared/lwm2m/registration.js';
import { createLwm2mMetrics, type Lwm2mMetrics } from '../../../lwm2m/metrics.js';
import type { Lwm2mPeer, PeerRequest } from '../../../lwm2m/peer.js';
import { ClientReader, defaultAccept, parseLwm2mPath, UnknownEndpoint } from '../../../lwm2m/reads.js';
import { RegistrationHandler } from '../../../lwm2m/registration-handler.js';
import { ClientRegistry } from '../../../lwm2m/registry.js';
import { registerRequest } from '../../support/lwm2m.js';

const EP = 'urn:imsi:001010000000001';
const cf = (n: number) => ({ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(n) });

async function rejects<E extends Error>(p: Promise<unknown>, type: abstract new (...a: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return err as E;
  }
  return expect.fail(`expected ${type.name}, but the promise resolved`);
}

describe('LwM2M server-initiated Read (Core 1.1 §6.3.1)', () => {
  let registry: ClientRegistry;
  let metrics: Lwm2mMetrics;
  let reader: ClientReader;
  let sent: PeerRequest[];
  let answer: (req: PeerRequest) => Promise<CoapMessage>;

  function registerClient(version: Lwm2mVersion, contentFormats?: number[]): void {
    const peer: Lwm2mPeer = {
      id: 'p1',
      transport: 'tcp',
      address: '127.0.0.1:1',
      closed: false,
      security: {
        pskIdentity: 'id',
        endpoint: EP,
        btid: 'b',
        impi: 'i',
        expiresAtMs: Date.now() + 3600_000,
        uaSecProtId: '010001c0a8',
      },
      request: (req) => {
        sent.push(req);
        return answer(req);
      },
      close: () => undefined,
    };
    const handler = new RegistrationHandler({ registry, log: silentLogger });
    const res = handler.handle(
      peer,
      message(
        registerRequest(
          { endpoint: EP, lwm2mVersion: version, ...(version === '1.0' ? {} : { binding: 'T' }) },
          contentFormats ? { contentFormats } : {},
        ),
      ),
    );
    expect(res.code).to.equal(Code.CREATED);
  }

  beforeEach(() => {
    registry = new ClientRegistry();
    metrics = createLwm2mMetrics(new Registry(), () => registry.size);
    reader = new ClientReader({ registry, log: silentLogger, metrics });
    sent = [];
    answer = async () => message({ code: Code.CONTENT, options: [cf(11542)], payload: Buffer.from('c10964', 'hex') });
  });

  describe('default Accept', () => {
    const cases: Array<[Lwm2mVersion, number[], number]> = [
      ['1.0', [], 11542],
      ['1.0', [110], 11542],
      ['1.1', [], 110],
      ['1.1', [11542], 11542],
      ['1.1', [11542, 110], 110],
      ['1.2', [112], 110],
    ];
    for (const [version, ct, expected] of cases) {
      it(`LwM2M ${version}, ct=[${ct.join(' ')}] → ${expected}`, () => {
        expect(defaultAccept({ lwm2mVersion: version, contentFormats: ct })).to.equal(expected);
      });
    }
  });

  it("sends GET /3/0/9 with Accept over the client's peer and decodes the answer", async () => {
    registerClient('1.0');
    const r = await reader.read(EP, '/3/0/9');
    expect(r).to.deep.equal({ code: Code.CONTENT, status: '2.05', contentFormat: 11542, content: 100 });
    expect(sent).to.have.length(1);
    expect(sent[0]!.code).to.equal(Code.GET);
    expect(getUriPath({ options: sent[0]!.options! })).to.deep.equal(['3', '0', '9']);
    expect(getAccept({ options: sent[0]!.options! })).to.equal(11542);
    expect(metrics.reads.get({ result: 'ok' })).to.equal(1);
  });

  it('asks again with TLV when a 1.1 client answers 4.06 to SenML JSON, but not when the caller chose', async () => {
    registerClient('1.1');
    answer = async (req) =>
      getAccept({ options: req.options! }) === 110
        ? message({ code: Code.NOT_ACCEPTABLE })
        : message({ code: Code.CONTENT, options: [cf(11542)], payload: Buffer.from('c10964', 'hex') });
    expect((await reader.read(EP, [3, 0, 9])).content).to.equal(100);
    expect(sent.map((s) => getAccept({ options: s.options! }))).to.deep.equal([110, 11542]);
    sent = [];
    const r = await reader.read(EP, [3, 0, 9], 110);
    expect(r).to.include({ status: '4.06', code: Code.NOT_ACCEPTABLE });
    expect(sent).to.have.length(1);
    expect(metrics.reads.get({ result: 'error_code' })).to.equal(1);
  });

  it('relays an error answer with its diagnostic', async () => {
    registerClient('1.1');
    answer = async () => message({ code: Code.NOT_FOUND, payload: Buffer.from('no such object') });
    expect(await reader.read(EP, '/9/0')).to.deep.equal({
      code: Code.NOT_FOUND,
      status: '4.04',
      contentFormat: null,
      content: 'no such object',
    });
  });

  it('fetches a Block2 answer whole (RFC 7959 §2.4)', async () => {
    registerClient('1.1');
    const body = Buffer.from(
      JSON.stringify([
        { bn: '/3/0/', n: '0', vs: 'Open Mobile Alliance' },
        { n: '1', vs: 'Lightweight M2M Client' },
      ]),
    );
    answer = async (req) => {
      const b2 = getOption({ options: req.options! }, OptionNumber.BLOCK2);
      const num = b2 === undefined ? 0 : decodeUint(b2) >> 4;
      const part = body.subarray(num * 16, num * 16 + 16);
      const more = (num + 1) * 16 < body.length ? 0x08 : 0;
      return message({
        code: Code.CONTENT,
        options: [cf(110), { number: OptionNumber.BLOCK2, value: encodeUint((num << 4) | more | 0) }],
        payload: part,
      });
    };
    const r = await reader.read(EP, '/3/0');
    expect(r.content).to.deep.equal({ 0: 'Open Mobile Alliance', 1: 'Lightweight M2M Client' });
    expect(sent).to.have.length(Math.ceil(body.length / 16));
  });

  it('rejects an unknown endpoint, a bad path and a bad Accept without sending anything', async () => {
    registerClient('1.1');
    await rejects(reader.read('urn:imsi:999', '/3/0'), UnknownEndpoint);
    await rejects(reader.read(EP, '/3/0/1/2/3'), InputError);
    await rejects(reader.read(EP, '/65535/0'), InputError);
    await rejects(reader.read(EP, '/3/x'), InputError);
    await rejects(reader.read(EP, '/3/0', 70000), InputError);
    expect(sent).to.deep.equal([]);
  });

  it('passes a timeout on as CoapExchangeError and counts it', async () => {
    registerClient('1.1');
    answer = () => Promise.reject(new CoapExchangeError('timeout', 'no response within the request timeout'));
    const err = await rejects(reader.read(EP, '/3/0'), CoapExchangeError);
    expect(err.reason).to.equal('timeout');
    expect(metrics.reads.get({ result: 'timeout' })).to.equal(1);
  });

  it('parses paths', () => {
    expect(parseLwm2mPath('/3/0/11/0')).to.deep.equal([3, 0, 11, 0]);
    expect(parseLwm2mPath('3')).to.deep.equal([3]);
    expect(() => parseLwm2mPath('/03/0')).to.throw(InputError);
    expect(() => parseLwm2mPath('')).to.throw(InputError);
  });
});
