/** The LwM2M server's PSK API client against a fake NAF PSK API on a real socket (docs/contracts.md C3). */
import { expect } from 'chai';
import { createLogger } from '../../shared/log.js';
import { Counter } from '../../shared/metrics.js';
import { PskSource, PskSourceError } from '../../lwm2m/psk-source.js';
import { startFakePskApi, type FakePskApi } from '../support/lwm2m.js';

const TOKEN = 'psk-api-token-0123456789abcdef';
const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const IDENTITY = `3GPP-bootstrapping.${BTID}`;
const KEY = Buffer.from('00112233445566778899aabbccddeeff0102030405060708090a0b0c0d0e0f10', 'hex');
const EP = 'urn:uuid:3f2a1c44-9d0e-8b7a-8c11-5e6f7a8b9c0d';
const LATER = () => new Date(Date.now() + 3600_000).toISOString();

async function rejects(p: Promise<unknown>): Promise<PskSourceError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(PskSourceError);
    return err as PskSourceError;
  }
  return expect.fail('expected a PskSourceError, but the promise resolved');
}

describe('LwM2M PSK source (client of the NAF PSK API)', () => {
  let api: FakePskApi;
  let sources: PskSource[];
  let logs: string[];
  let lookups: Counter;

  const source = (url = api.url, token = TOKEN, now?: () => number): PskSource => {
    const s = new PskSource(url, {
      token,
      log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
      lookups,
      ...(now ? { now } : {}),
    });
    sources.push(s);
    return s;
  };

  beforeEach(async () => {
    api = await startFakePskApi(
      TOKEN,
      new Map([
        [
          IDENTITY,
          {
            psk: KEY,
            endpoint: EP,
            btid: BTID,
            impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
            expiresAt: LATER,
          },
        ],
      ]),
    );
    sources = [];
    logs = [];
    lookups = new Counter('gba_lwm2m_psk_lookups_total', 'test', ['result']);
  });

  afterEach(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await api.close();
    for (const line of logs) {
      expect(line).not.to.include(KEY.toString('hex'));
      expect(line).not.to.include(KEY.toString('base64'));
    }
  });

  it('returns the key and what the NAF said, asking for the named Ua id with the bearer token', async () => {
    const s = source();
    const a = await s.lookup(IDENTITY, '010001C0A8');
    expect(a?.key.equals(KEY)).to.equal(true);
    expect(a?.security).to.deep.include({ pskIdentity: IDENTITY, endpoint: EP, btid: BTID, uaSecProtId: '010001c0a8' });
    expect(api.requests).to.deep.equal([{ pskIdentity: IDENTITY, uaSecProtId: '010001c0a8', authorized: true }]);
    expect(s.security(IDENTITY, '010001c0a8')?.endpoint).to.equal(EP);
    expect(s.security(IDENTITY, '01000100a8')).to.equal(undefined); // another Ua id is another key
    expect(lookups.get({ result: 'ok' })).to.equal(1);
  });

  it('reuses kept-alive connections for successive lookups', async () => {
    const s = source();
    for (let i = 0; i < 10; i++) expect(await s.resolvePsk(IDENTITY, '010001c0a8')).to.be.instanceOf(Buffer);
    expect(api.requests).to.have.length(10);
    // undici may open a second socket while the first is being returned to its pool; never one per request.
    expect(api.connections).to.be.within(1, 2);
  });

  it('404 and 400 mean no key (null), and forget what was known', async () => {
    const s = source();
    await s.lookup(IDENTITY, '010001c0a8');
    expect(await s.resolvePsk('3GPP-bootstrapping.unknown@bsf', '010001c0a8')).to.equal(null);
    api.forceStatus = 404;
    expect(await s.lookup(IDENTITY, '010001c0a8')).to.equal(null);
    expect(s.security(IDENTITY, '010001c0a8')).to.equal(undefined);
    api.forceStatus = 400;
    expect(await s.lookup(IDENTITY, '010001c0a8')).to.equal(null);
    expect(lookups.get({ result: 'unknown' })).to.equal(2);
    expect(lookups.get({ result: 'bad_identity' })).to.equal(1);
  });

  const failures: Array<[string, (a: FakePskApi) => void, string, PskSourceError['reason']]> = [
    ['401 (wrong token)', () => undefined, 'wrong-token-0123456789abcdef', 'unauthorized'],
    [
      '503',
      (a) => {
        a.forceStatus = 503;
      },
      TOKEN,
      'refused',
    ],
    [
      '403',
      (a) => {
        a.forceStatus = 403;
      },
      TOKEN,
      'refused',
    ],
  ];
  for (const [name, setup, token, reason] of failures) {
    it(`${name} rejects (a failure, not "unknown")`, async () => {
      setup(api);
      const err = await rejects(source(api.url, token).resolvePsk(IDENTITY, '010001c0a8'));
      expect(err.reason).to.equal(reason);
      expect(lookups.get({ result: 'error' })).to.equal(1);
    });
  }

  it('rejects when the PSK API does not answer', async () => {
    const url = api.url;
    await api.close();
    expect((await rejects(source(url).lookup(IDENTITY, '010001c0a8'))).reason).to.equal('unavailable');
  });

  it('rejects a 200 that does not follow C3, naming the member but never echoing the key', async () => {
    const shortKey = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex');
    api.entries.set('3GPP-bootstrapping.short@bsf', {
      psk: shortKey,
      endpoint: EP,
      btid: 'short@bsf',
      impi: 'i',
      expiresAt: LATER,
    });
    const err = await rejects(source().lookup('3GPP-bootstrapping.short@bsf', '010001c0a8'));
    expect(err.reason).to.equal('bad-answer');
    expect(err.message).to.include('psk');
    expect(err.message).not.to.include(shortKey.toString('hex'));
  });

  it('treats a key whose expiresAt has passed as no key', async () => {
    api.entries.get(IDENTITY)!.expiresAt = new Date(Date.now() - 1000).toISOString();
    expect(await source().lookup(IDENTITY, '010001c0a8')).to.equal(null);
    expect(lookups.get({ result: 'expired' })).to.equal(1);
  });

  it('describe() answers from memory, and asks the NAF only when it has nothing', async () => {
    const s = source();
    expect((await s.describe(IDENTITY, '010001c0a8'))?.endpoint).to.equal(EP);
    expect((await s.describe(IDENTITY, '010001c0a8'))?.endpoint).to.equal(EP);
    expect(api.requests).to.have.length(1);
    expect(await s.describe('3GPP-bootstrapping.unknown@bsf', '010001c0a8')).to.equal(null);
  });

  it('forgets entries once their key expires (security() and prune())', async () => {
    let now = Date.now();
    const s = source(api.url, TOKEN, () => now);
    await s.lookup(IDENTITY, '010001c0a8');
    expect(s.size).to.equal(1);
    now += 3600_000 + 1000;
    expect(s.prune()).to.equal(1);
    expect(s.security(IDENTITY, '010001c0a8')).to.equal(undefined);
  });

  it('refuses a malformed Ua id without asking', async () => {
    expect((await rejects(source().lookup(IDENTITY, 'c0a8'))).reason).to.equal('refused');
    expect(api.requests).to.deep.equal([]);
  });
});
