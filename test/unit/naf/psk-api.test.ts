/** The NAF's PSK lookup (contract C3) without sockets, over a fake key source. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { pskLookup, type PskApiDeps } from '../../../naf/psk-api.js';
import { HttpError } from '../../../shared/http/problem.js';
import type { HttpRequest } from '../../../shared/http/server.js';
import { silentLogger } from '../../../shared/log.js';
import { Counter } from '../../../shared/metrics.js';
import { BtidUnknown, NafNotAuthorized, PeerUnavailable } from '../../../shared/services/errors.js';
import type { NafKeyEntry } from '../../../shared/store/types.js';
import { PskLookupAnswerSchema } from '../../../shared/wire/sbi/psk-api.js';

const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const KEY = randomBytes(32).toString('hex');
const EXPIRES = Date.parse('2030-01-01T00:00:00Z');
const req = (json: unknown): HttpRequest =>
  ({
    method: 'POST',
    url: '/',
    path: '/',
    params: {},
    body: Buffer.from(JSON.stringify(json)),
    headers: { 'content-type': 'application/json' },
    remoteAddress: '',
    query: new URLSearchParams(),
  }) as unknown as HttpRequest;

describe('naf/psk-api.ts pskLookup (no sockets)', () => {
  let asked: string[];
  let keyError: Error | undefined;
  let deps: PskApiDeps;
  beforeEach(() => {
    asked = [];
    keyError = undefined;
    deps = {
      lwm2mFqdn: 'lwm2m.example.org',
      defaultUaSecProtId: '010001c0a8',
      key: async (btid, fqdn, ua): Promise<NafKeyEntry> => {
        asked.push(`${btid} ${fqdn} ${ua}`);
        if (keyError) throw keyError;
        return {
          btid,
          nafIdHex: '',
          keyHex: KEY,
          impi: 'u@ims',
          expiresAtMs: EXPIRES,
          createdAtMs: 0,
          gbaType: '3G_GBA',
        };
      },
      endpointOf: (impi) => `ep:${impi}`,
      log: silentLogger,
      lookups: new Counter('l', 'l', ['result']),
    };
  });
  const failure = (json: unknown) =>
    pskLookup(deps, req(json)).then(
      () => expect.fail('expected a problem'),
      (e: unknown) => e as HttpError,
    );

  it('answers the C3 shape for "3GPP-bootstrapping.<B-TID>" with the configured Ua id, and a bare B-TID with a named one', async () => {
    const r = await pskLookup(deps, req({ pskIdentity: `3GPP-bootstrapping.${BTID}` }));
    expect(r.status).to.equal(200);
    expect(PskLookupAnswerSchema.parse(r.json)).to.deep.equal({
      psk: KEY,
      endpoint: 'ep:u@ims',
      btid: BTID,
      impi: 'u@ims',
      expiresAt: new Date(EXPIRES).toISOString(),
      uaSecProtId: '010001c0a8',
    });
    await pskLookup(deps, req({ pskIdentity: BTID, uaSecProtId: '01000100A8' }));
    expect(asked).to.deep.equal([`${BTID} lwm2m.example.org 010001c0a8`, `${BTID} lwm2m.example.org 01000100a8`]);
    expect(deps.lookups.get({ result: 'ok' })).to.equal(2);
  });

  it('400 for a malformed body or identity, 404 unknown B-TID, 403 not authorised, 503 BSF down', async () => {
    expect((await failure({ pskIdentity: '' })).status).to.equal(400);
    expect((await failure({ pskIdentity: BTID, extra: 1 })).status).to.equal(400);
    expect((await failure({ pskIdentity: 'no-btid-here' })).status).to.equal(400);
    keyError = new BtidUnknown(BTID);
    const nf = await failure({ pskIdentity: BTID });
    expect([nf.status, nf.problemCause]).to.deep.equal([404, 'BTID_NOT_FOUND']);
    keyError = new NafNotAuthorized('no');
    expect((await failure({ pskIdentity: BTID })).status).to.equal(403);
    keyError = new PeerUnavailable('down');
    const down = await failure({ pskIdentity: BTID });
    expect(down.status).to.equal(503);
    expect(down.headers['Retry-After']).to.equal('5');
    expect(deps.lookups.get({ result: 'bad_request' })).to.equal(3);
  });
});
