/** UaHandler without sockets: a fake key source, the in-memory nonce store, and the device's Digest client flow. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { UaHandler, type UaDeps } from '../../../naf/ua.js';
import { DigestAnswer, findDigestChallenge } from '../../../device/digest-client.js';
import type { HttpRequest, HttpResponse } from '../../../shared/http/server.js';
import { silentLogger } from '../../../shared/log.js';
import { Counter } from '../../../shared/metrics.js';
import { BtidUnknown, PeerUnavailable } from '../../../shared/services/errors.js';
import { createMemoryStores } from '../../../shared/store/memory.js';
import type { NafKeyEntry, Stores } from '../../../shared/store/types.js';
import { DeviceConfigSchema } from '../../../shared/wire/sbi/ua.js';

const FQDN = 'naf.mnc001.mcc001.pub.3gppnetwork.org';
const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const URI = '/device/v1/config';
const KEY = randomBytes(32);
const EXPIRES = Date.parse('2030-01-01T00:00:00Z');

const req = (authorization?: string, url = URI): HttpRequest =>
  ({
    method: 'GET',
    url,
    path: url,
    params: {},
    body: Buffer.alloc(0),
    headers: authorization ? { authorization } : {},
    remoteAddress: '127.0.0.1',
    query: new URLSearchParams(),
  }) as unknown as HttpRequest;
const header = (r: HttpResponse, name: string) =>
  r.headers?.[name] === undefined ? undefined : String(r.headers[name]);

describe('naf/ua.ts UaHandler (no sockets)', () => {
  let stores: Stores;
  let deps: UaDeps;
  let ua: UaHandler;
  let keyError: Error | undefined;
  const asked: string[] = [];
  const provisioned: string[] = [];
  beforeEach(() => {
    stores = createMemoryStores();
    keyError = undefined;
    asked.length = 0;
    provisioned.length = 0;
    deps = {
      fqdn: FQDN,
      nonceTtlMs: 30_000,
      nonces: stores.nonces,
      key: async (btid, fqdn, uaId): Promise<NafKeyEntry> => {
        asked.push(`${btid} ${fqdn} ${uaId}`);
        if (keyError) throw keyError;
        return {
          btid,
          nafIdHex: '',
          keyHex: KEY.toString('hex'),
          impi: 'x@ims',
          expiresAtMs: EXPIRES,
          createdAtMs: 0,
          gbaType: '3G_GBA',
        };
      },
      deviceConfig: (btid, impi, expiresAtMs) => ({
        endpoint: `ep-${impi}`,
        serverUri: 'coaps+tcp://127.0.0.1:5684',
        serverFqdn: 'lwm2m.example',
        pskIdentity: `3GPP-bootstrapping.${btid}`,
        uaSecProtId: '010001c0a8',
        expiresAt: new Date(expiresAtMs).toISOString(),
      }),
      onProvisioned: (c) => provisioned.push(c.endpoint),
      log: silentLogger,
      outcomes: new Counter('ua', 'ua', ['outcome']),
    };
    ua = new UaHandler(deps);
  });
  afterEach(() => stores.close());

  const challenge = async () => {
    const r = await ua.handle(req());
    expect(r.status).to.equal(401);
    return new DigestAnswer(findDigestChallenge(header(r, 'WWW-Authenticate'))!, {
      username: BTID,
      method: 'GET',
      uri: URI,
      algorithm: 'MD5',
    });
  };

  it('challenges with realm 3GPP-bootstrapping@<fqdn>, qop auth-int, MD5, opaque', async () => {
    const r = await ua.handle(req());
    const ch = findDigestChallenge(header(r, 'WWW-Authenticate'))!;
    expect(ch.get('realm')).to.equal(`3GPP-bootstrapping@${FQDN}`);
    expect(ch.get('qop')).to.equal('auth-int');
    expect(ch.get('algorithm')).to.equal('MD5');
    expect(ch.get('opaque')).to.be.a('string');
    expect(deps.outcomes.get({ outcome: 'challenge' })).to.equal(1);
  });

  it('password base64(Ks_NAF) for NAF_Id = fqdn ‖ 0100000002 → 200 config with a verifying rspauth; the nonce is single use', async () => {
    const a = await challenge();
    const { header: auth, ha1 } = a.authorization(KEY.toString('base64'));
    const r = await ua.handle(req(auth));
    expect(r.status).to.equal(200);
    expect(asked).to.deep.equal([`${BTID} ${FQDN} 0100000002`]);
    expect(a.checkRspauth(header(r, 'Authentication-Info'), ha1, String(r.body))).to.equal('verified');
    const cfg = DeviceConfigSchema.parse(JSON.parse(String(r.body)));
    expect(cfg.expiresAt).to.equal(new Date(EXPIRES).toISOString());
    expect(provisioned).to.deep.equal(['ep-x@ims']);
    expect((await ua.handle(req(auth))).status).to.equal(401);
    expect(deps.outcomes.get({ outcome: 'stale_nonce' })).to.equal(1);
  });

  it('a wrong password is a fresh challenge', async () => {
    const a = await challenge();
    const r = await ua.handle(req(a.authorization(randomBytes(32).toString('base64')).header));
    expect(r.status).to.equal(401);
    expect(deps.outcomes.get({ outcome: 'wrong_response' })).to.equal(1);
  });

  it('an unknown B-TID is a fresh challenge (bootstrap again); an unreachable BSF 503', async () => {
    keyError = new BtidUnknown(BTID);
    const a = await challenge();
    expect((await ua.handle(req(a.authorization('x').header))).status).to.equal(401);
    expect(deps.outcomes.get({ outcome: 'btid_unknown' })).to.equal(1);
    keyError = new PeerUnavailable('down');
    const b = await challenge();
    const r = await ua.handle(req(b.authorization('x').header));
    expect(r.status).to.equal(503);
    expect(header(r, 'Retry-After')).to.equal('5');
  });

  it('malformed credentials are 400: bad syntax, missing response, a uri that is not the request URI', async () => {
    expect((await ua.handle(req('Digest username='))).status).to.equal(400);
    expect(
      (await ua.handle(req(`Digest username="${BTID}", realm="3GPP-bootstrapping@${FQDN}", nonce="n", uri="${URI}"`)))
        .status,
    ).to.equal(400);
    const a = await challenge();
    expect((await ua.handle(req(a.authorization('x').header, `${URI}?x=1`))).status).to.equal(400);
    expect(deps.outcomes.get({ outcome: 'malformed' })).to.equal(3);
  });
});
