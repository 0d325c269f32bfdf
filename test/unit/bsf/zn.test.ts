/** The BSF's Zn decision (ZnCore) and its N66 binding (ZnHandler), without sockets. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ZnCore, ZnHandler, type NafAccess } from '../../../bsf/zn.js';
import { ksIntNaf, ksNaf } from '../../../shared/crypto/kdf.js';
import { btidFromRand } from '../../../shared/identifiers.js';
import { HttpError } from '../../../shared/http/problem.js';
import type { HttpRequest } from '../../../shared/http/server.js';
import { silentLogger } from '../../../shared/log.js';
import { Counter } from '../../../shared/metrics.js';
import { BtidUnknown, NafNotAuthorized } from '../../../shared/services/errors.js';
import type { ZhService } from '../../../shared/services/zh.js';
import { createMemoryStores } from '../../../shared/store/memory.js';
import type { Guss, Stores } from '../../../shared/store/types.js';
import { BootstrappingInfoSchema } from '../../../shared/wire/sbi/zn.js';
import { birHandler } from '../../../bsf/zn-diameter.js';
import {
  decodeMessage,
  encodeMessage,
  FLAG_P,
  FLAG_R,
  type Avp,
  type DiameterMessage,
} from '../../../shared/diameter/codec.js';
import { APP_ZN, CMD, RC } from '../../../shared/diameter/dictionary.js';
import { birAvps, readBia } from '../../../shared/diameter/gba.js';
import type { Connection } from '../../../shared/diameter/peer.js';

const DOMAIN = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const NAF: NafAccess = {
  name: 'naf1',
  token: 't'.repeat(20),
  group: 'g1',
  fqdns: [{ fqdn: 'naf.example.org' }, { fqdn: 'lwm2m.example.org', uaSecProtId: '010001c0a8' }],
};
const NOW = Date.parse('2030-01-01T00:00:00Z');
const GUSS: Guss = {
  ussList: [
    { uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: 'a' }], nafGroup: 'g1' } },
    { uss: { gsId: 2, gsType: 1, ueIds: [{ ueId: 'a' }], nafGroup: 'g2' } },
    { uss: { gsId: 3, gsType: 1, ueIds: [{ ueId: 'a' }] } },
  ],
};

const zh: ZhService = {
  authVector: () => Promise.reject(new Error('unused')),
  guss: async () => GUSS,
  close: async () => {},
};
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

describe('bsf/zn.ts ZnCore and the N66 handler (no sockets)', () => {
  let stores: Stores;
  let core: ZnCore;
  let handler: ZnHandler;
  let requests: Counter;
  const rand = randomBytes(16);
  const ks = randomBytes(32);
  const btid = btidFromRand(rand, DOMAIN);
  beforeEach(async () => {
    stores = createMemoryStores();
    requests = new Counter('zn', 'zn', ['result']);
    core = new ZnCore({ sessions: stores.sessions, zh, log: silentLogger, requests, now: () => NOW });
    handler = new ZnHandler({ nafs: [NAF], provider: core, requests });
    await stores.sessions.create({
      btid,
      impi: 'u@ims',
      ks,
      createdAtMs: NOW - 1000,
      expiresAtMs: NOW + 3600_000,
      gbaU: true,
    });
  });
  afterEach(() => stores.close());

  it('derives Ks_NAF (and Ks_int_NAF for a GBA_U-aware NAF) for the NAF_Id and selects the USSs of its group', async () => {
    const info = await core.retrieve(NAF, btid, { fqdn: 'naf.example.org', uaSecProtId: '0100000002' }, true);
    const input = {
      ks,
      rand,
      impi: 'u@ims',
      nafFqdn: 'naf.example.org',
      uaSecProtId: Buffer.from('0100000002', 'hex'),
    };
    expect(info.meKey.equals(ksNaf(input))).to.equal(true);
    expect(info.uiccKey?.equals(ksIntNaf(input))).to.equal(true);
    expect(info).to.include({ impi: 'u@ims', expiresAtMs: NOW + 3600_000, createdAtMs: NOW - 1000, gbaType: '3G_GBA' });
    expect(info.ussList?.map((u) => u.uss.gsId)).to.deep.equal([1, 3]);
    const narrowed = await core.retrieve(NAF, btid, { fqdn: 'naf.example.org', uaSecProtId: '0100000002' }, false, [3]);
    expect(narrowed.uiccKey).to.equal(undefined);
    expect(narrowed.ussList?.map((u) => u.uss.gsId)).to.deep.equal([3]);
    expect(requests.get({ result: 'ok' })).to.equal(2);
  });

  it('refuses NAF_Ids the NAF is not configured for (NafNotAuthorized), by FQDN or by Ua id', async () => {
    for (const nafId of [
      { fqdn: 'other.example.org', uaSecProtId: '0100000002' },
      { fqdn: 'lwm2m.example.org', uaSecProtId: '01000100a8' },
    ]) {
      const err = await core.retrieve(NAF, btid, nafId, false).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(NafNotAuthorized);
    }
    expect(requests.get({ result: 'forbidden' })).to.equal(2);
  });

  it('an unknown, malformed or expired B-TID is BtidUnknown', async () => {
    const expired = btidFromRand(randomBytes(16), DOMAIN);
    await stores.sessions.create({
      btid: expired,
      impi: 'u@ims',
      ks,
      createdAtMs: NOW - 7200_000,
      expiresAtMs: NOW,
      gbaU: false,
    });
    for (const b of [btidFromRand(randomBytes(16), DOMAIN), 'not-a-btid', expired]) {
      const err = await core.retrieve(NAF, b, { fqdn: 'naf.example.org', uaSecProtId: '0100000002' }, false).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, b).to.be.instanceOf(BtidUnknown);
    }
  });

  it('the handler answers the TS 29.309 shape and maps domain errors to 403/404 problems with their cause', async () => {
    const ok = await handler.handle(
      req({ btId: btid, nafId: { nafFqdn: 'naf.example.org', uaSecProtId: '0100000002' } }),
      NAF,
    );
    expect(ok.status).to.equal(200);
    const body = BootstrappingInfoSchema.parse(ok.json);
    expect(Object.keys(ok.json as object).slice(0, 5)).to.deep.equal([
      'meKeyMaterial',
      'keyExpiryTime',
      'bootstrappingInfoCreationTime',
      'gbaType',
      'impi',
    ]);
    expect(body.keyExpiryTime).to.equal(new Date(NOW + 3600_000).toISOString());
    expect(body.uiccKeyMaterial).to.equal(undefined);
    const thrown = async (json: unknown) =>
      handler.handle(req(json), NAF).then(
        () => expect.fail('expected a problem'),
        (e: unknown) => e as HttpError,
      );
    const forbidden = await thrown({ btId: btid, nafId: { nafFqdn: 'evil.example.org', uaSecProtId: '0100000002' } });
    expect([forbidden.status, forbidden.problemCause]).to.deep.equal([403, 'NAF_NOT_AUTHORIZED']);
    const notFound = await thrown({ btId: 'x', nafId: { nafFqdn: 'naf.example.org', uaSecProtId: '0100000002' } });
    expect([notFound.status, notFound.problemCause]).to.deep.equal([404, 'BTID_NOT_FOUND']);
    const bad = await thrown({ btId: btid, nafId: { nafFqdn: 'naf.example.org', uaSecProtId: 'zz' } });
    expect(bad.status).to.equal(400);
    expect(bad.invalidParams?.[0]?.param).to.equal('nafId.uaSecProtId');
    expect(requests.get({ result: 'bad_request' })).to.equal(1);
  });

  it('nafOf finds the NAF by its bearer token only', () => {
    expect(handler.nafOf(NAF.token)?.name).to.equal('naf1');
    expect(handler.nafOf('u'.repeat(20))).to.equal(undefined);
  });
});

describe('bsf/zn.ts NAF_Id normal form on both Zn bindings (issue 18 finding 8)', () => {
  const UPPER_NAF: NafAccess = {
    name: 'naf2',
    token: 'u'.repeat(20),
    fqdns: [{ fqdn: 'NAF.Example.ORG', uaSecProtId: '010001C0A8' }],
  };
  let stores: Stores;
  let core: ZnCore;
  const rand = randomBytes(16);
  const ks = randomBytes(32);
  const btid = btidFromRand(rand, DOMAIN);
  const normalKey = () =>
    ksNaf({ ks, rand, impi: 'u@ims', nafFqdn: 'naf.example.org', uaSecProtId: Buffer.from('010001c0a8', 'hex') });
  beforeEach(async () => {
    stores = createMemoryStores();
    core = new ZnCore({
      sessions: stores.sessions,
      zh,
      log: silentLogger,
      requests: new Counter('zn', 'zn', ['result']),
      now: () => NOW,
    });
    await stores.sessions.create({
      btid,
      impi: 'u@ims',
      ks,
      createdAtMs: NOW - 1000,
      expiresAtMs: NOW + 3600_000,
      gbaU: false,
    });
  });
  afterEach(() => stores.close());

  it('N66: any spelling of the FQDN (case, trailing dot) and of the Ua id gets the key of the normal form', async () => {
    for (const [fqdn, ua] of [
      ['NAF.EXAMPLE.ORG', '010001c0a8'],
      ['naf.example.org.', '010001C0A8'],
      ['Naf.Example.Org.', '010001c0A8'],
    ] as const) {
      const info = await core.retrieve(UPPER_NAF, btid, { fqdn, uaSecProtId: ua }, false);
      expect(info.meKey.toString('hex'), `${fqdn} ${ua}`).to.equal(normalKey().toString('hex'));
    }
  });

  it('Diameter BIR: the same core gives the same key for a NAF-Id written in capitals with a trailing dot', async () => {
    const handle = birHandler({ provider: core, nafByHost: () => UPPER_NAF, realm: DOMAIN, log: silentLogger });
    const wire = encodeMessage({
      flags: FLAG_R | FLAG_P,
      commandCode: CMD.BI,
      applicationId: APP_ZN,
      hopByHop: 1,
      endToEnd: 1,
      avps: birAvps(
        { sessionId: 'naf;1;1', originHost: 'naf.host', originRealm: 'example.org', destinationRealm: DOMAIN },
        { btid, nafFqdn: 'NAF.Example.Org.', uaSecProtId: '010001c0a8', gbaUAware: false },
      ),
    });
    const conn = {
      peerHost: 'naf.host',
      answer: (_req: DiameterMessage, rc: number | { experimental: number }, avps: Avp[]) => ({ rc, avps }),
      errorAnswer: (_req: DiameterMessage, rc: number) => ({ rc, avps: [] }),
    };
    const a = (await handle(decodeMessage(wire), conn as unknown as Connection)) as unknown as {
      rc: unknown;
      avps: Avp[];
    };
    expect(a.rc).to.equal(RC.SUCCESS);
    expect(readBia(a.avps).meKey.toString('hex')).to.equal(normalKey().toString('hex'));
  });
});
