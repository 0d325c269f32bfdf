/**
 * Zn and the NAF end to end through real processes (hss-mock, bsf, naf) and real Redis: the PSK API, the Ua
 * provisioning endpoint behind GBA HTTP Digest, Zn authorisation, expiry, and the push to a Leshan-shaped API.
 */
import { expect } from 'chai';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, type Bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { Milenage } from '../../shared/crypto/milenage.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[2]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const LWM2M_FQDN = 'lwm2m.mnc001.mcc001.pub.3gppnetwork.org';

/** Ks_NAF computed here from K/OPc and RAND with a hand-built S (TS 33.220 Annex B.3), not with shared/crypto/kdf. */
function independentKsNaf(rand: Buffer, impi: string, fqdn: string, uaIdHex: string): string {
  const m = new Milenage(hex(SET.k), hex(SET.opc));
  const { ck, ik } = m.f2345(rand);
  const len = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const nafId = Buffer.concat([Buffer.from(fqdn), Buffer.from(uaIdHex, 'hex')]);
  const s = Buffer.concat([
    Buffer.from([0x01]),
    Buffer.from('gba-me'),
    len(6),
    rand,
    len(16),
    Buffer.from(impi),
    len(impi.length),
    nafId,
    len(nafId.length),
  ]);
  return createHmac('sha256', Buffer.concat([ck, ik]))
    .update(s)
    .digest('hex');
}

describe('NAF: Zn, PSK API, Ua provisioning (real processes, real Redis)', function () {
  this.timeout(60000);
  let net: RunningNetwork & { logs: () => string };
  let pushServer: Server;
  const pushes: Array<{ method: string; url: string; body: unknown }> = [];

  before(async () => {
    pushServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        pushes.push({ method: req.method!, url: req.url!, body: JSON.parse(body || 'null') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => pushServer.listen(0, '127.0.0.1', r));
    const pushUrl = `http://127.0.0.1:${(pushServer.address() as AddressInfo).port}`;
    net = await givenNetwork({
      nfs: ['hss-mock', 'bsf', 'naf'],
      config: { naf: { uaPort: 0, pskPort: 0, lwm2m: { push: [{ url: pushUrl, format: 'leshan2' }] } } },
    });
  });
  after(async () => {
    await net?.stop();
    pushServer?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });

  const e = () => net.endpoints;
  const device = async (imsi: string, usim?: SoftUsim): Promise<Bootstrap> =>
    bootstrap({
      bsfUrl: e().bsf.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: usim ?? new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) }),
    });
  const lookup = (body: unknown, token = e().naf!.pskApiToken) =>
    fetch(e().naf!.pskLookup, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('the PSK API returns Ks_NAF for lwm2m fqdn ‖ 010001c0a8, equal to an independent computation, for a device that never fetched its config', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await device(imsi);
    const r = await lookup({ pskIdentity: `3GPP-bootstrapping.${b.btid}` });
    const j = (await r.json()) as Record<string, string>;
    expect(r.status, JSON.stringify(j)).to.equal(200);
    expect(j.psk).to.equal(independentKsNaf(b.rand, b.impi, LWM2M_FQDN, '010001c0a8'));
    expect(j).to.include({ btid: b.btid, impi: impiFromImsi(imsi, 2), uaSecProtId: '010001c0a8' });
    expect(j.endpoint).to.match(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Date.parse(j.expiresAt!)).to.equal(b.lifetimeMs);
    // a bare B-TID and another Ua id (per-suite keys) work too
    const bare = (await (await lookup({ pskIdentity: b.btid, uaSecProtId: '01000100a8' })).json()) as Record<
      string,
      string
    >;
    expect(bare.psk).to.equal(independentKsNaf(b.rand, b.impi, LWM2M_FQDN, '01000100a8'));
    expect(bare.uaSecProtId).to.equal('01000100a8');
  });

  it('the provisioning endpoint: rejects a wrong digest password, accepts the right one without a 3gpp-gba User-Agent and with Host an IP', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await device(imsi);
    const url = new URL('device/v1/config', e().naf!.ua);
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const attempt = async (password: string) => {
      const ch = await fetch(url, { headers: { 'user-agent': 'curl/8', host: '10.1.2.3' } });
      expect(ch.status).to.equal(401);
      const wa = ch.headers.get('www-authenticate')!;
      expect(wa).to.match(
        /^Digest realm="3GPP-bootstrapping@naf\.mnc001\.mcc001\.pub\.3gppnetwork\.org", nonce="[^"]+", qop="auth-int", algorithm=MD5, opaque="[^"]+"$/,
      );
      const nonce = /nonce="([^"]+)"/.exec(wa)![1]!;
      const realm = /realm="([^"]+)"/.exec(wa)![1]!;
      const ha1 = md5(`${b.btid}:${realm}:${password}`);
      const ha2 = md5(`GET:/device/v1/config:${md5('')}`);
      const response = md5(`${ha1}:${nonce}:00000001:abcdef:auth-int:${ha2}`);
      return fetch(url, {
        headers: {
          'user-agent': 'curl/8',
          host: '10.1.2.3',
          authorization: `Digest username="${b.btid}", realm="${realm}", nonce="${nonce}", uri="/device/v1/config", qop=auth-int, nc=00000001, cnonce="abcdef", response="${response}"`,
        },
      });
    };
    const wrong = await attempt(randomBytes(32).toString('base64'));
    expect(wrong.status).to.equal(401);
    const right = await attempt(
      Buffer.from(
        independentKsNaf(b.rand, b.impi, 'naf.mnc001.mcc001.pub.3gppnetwork.org', '0100000002'),
        'hex',
      ).toString('base64'),
    );
    const cfg = (await right.json()) as Record<string, string>;
    expect(right.status, JSON.stringify(cfg)).to.equal(200);
    expect(cfg).to.include({
      serverFqdn: LWM2M_FQDN,
      pskIdentity: `3GPP-bootstrapping.${b.btid}`,
      uaSecProtId: '010001c0a8',
      serverUri: e().lwm2m!.uri,
    });
    expect(Object.keys(cfg)).to.include.members([
      'endpoint',
      'serverUri',
      'serverFqdn',
      'pskIdentity',
      'uaSecProtId',
      'expiresAt',
    ]);
    expect(right.headers.get('authentication-info')).to.match(/rspauth="[0-9a-f]{32}"/);
  });

  it("the device agent fetches its config; the endpoint equals the PSK API's; the push reached a Leshan 2.x-shaped API", async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await device(imsi);
    const cfg = await fetchDeviceConfig(e().naf!.ua, b);
    const psk = (await (await lookup({ pskIdentity: cfg.pskIdentity })).json()) as Record<string, string>;
    expect(cfg.endpoint).to.equal(psk.endpoint);
    const deadline = Date.now() + 5000;
    while (!pushes.some((p) => (p.body as { endpoint?: string }).endpoint === cfg.endpoint) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const push = pushes.find((p) => (p.body as { endpoint?: string }).endpoint === cfg.endpoint);
    expect(push).to.deep.equal({
      method: 'PUT',
      url: '/api/security/clients/',
      body: { endpoint: cfg.endpoint, tls: { mode: 'psk', details: { identity: cfg.pskIdentity, key: psk.psk } } },
    });
  });

  it('a re-bootstrapped device gets the same endpoint name and a new key', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const usim = new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) });
    const b1 = await device(imsi, usim);
    const b2 = await device(imsi, usim);
    expect(b2.btid).to.not.equal(b1.btid);
    const [l1, l2] = await Promise.all(
      [lookup({ pskIdentity: b1.btid }), lookup({ pskIdentity: b2.btid })].map(
        async (p) => (await p).json() as Promise<Record<string, string>>,
      ),
    );
    expect(l1!.endpoint).to.equal(l2!.endpoint);
    expect(l1!.psk).to.not.equal(l2!.psk);
    const c2 = await fetchDeviceConfig(e().naf!.ua, b2);
    expect(c2.endpoint).to.equal(l1!.endpoint);
  });

  it('missing or wrong token → 401 with WWW-Authenticate: Bearer, before the body is read', async () => {
    const none = await lookup({ pskIdentity: 'x' }, '');
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
    const wrong = await lookup({ pskIdentity: 'x' }, 'not-the-token-0123456789');
    expect(wrong.status).to.equal(401);
    const zn = await fetch(`${e().bsf.zn}/bootstrapping-info-retrieval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope-nope-nope-nope' },
      body: '{"btId":"x"}',
    });
    expect(zn.status).to.equal(401);
    expect(zn.headers.get('www-authenticate')).to.match(/^Bearer/);
    expect(zn.headers.get('content-type')).to.equal('application/problem+json');
  });

  it('a NAF asking Zn for a foreign FQDN gets 403', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await device(imsi);
    const token = net.config.naf.znToken!;
    const ask = (fqdn: string) =>
      fetch(`${e().bsf.zn}/bootstrapping-info-retrieval`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ btId: b.btid, nafId: { nafFqdn: fqdn, uaSecProtId: '0100000002' } }),
      });
    const foreign = await ask('evil.example.org');
    expect(foreign.status).to.equal(403);
    expect(((await foreign.json()) as { cause: string }).cause).to.equal('NAF_NOT_AUTHORIZED');
    expect((await ask(e().naf!.fqdn)).status).to.equal(200);
  });

  it('an unknown B-TID, a malformed identity and an expired B-TID: 404, 400, 404', async () => {
    expect(
      (await lookup({ pskIdentity: `3GPP-bootstrapping.${randomBytes(16).toString('base64')}@${REALM}` })).status,
    ).to.equal(404);
    expect((await lookup({ pskIdentity: 'hello' })).status).to.equal(400);
    expect((await lookup({ nope: 1 })).status).to.equal(400);
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, {
      k: SET.k,
      opc: SET.opc,
      guss: { bsfInfo: { lifeTime: 2 } },
    });
    // the GUSS cache of the BSF is keyed by IMPI; this IMPI is new, so lifeTime 2 applies now
    const b = await device(imsi);
    expect(b.lifetimeMs - Date.now()).to.be.below(2500);
    expect((await lookup({ pskIdentity: b.btid })).status).to.equal(200);
    await new Promise((r) => setTimeout(r, Math.max(0, b.lifetimeMs - Date.now()) + 300));
    expect((await lookup({ pskIdentity: `3GPP-bootstrapping.${b.btid}`, uaSecProtId: '01000100ae' })).status).to.equal(
      404,
    );
    const late = await lookup({ pskIdentity: `3GPP-bootstrapping.${b.btid}` });
    expect(late.status, 'the NAF cache expires with the key').to.equal(404);
  });

  it('serves its OpenAPI 3.1 document on both listeners', async () => {
    for (const base of [e().naf!.ua, e().naf!.pskLookup.replace(/naf\/v1\/psk-lookup$/, '')]) {
      const r = await fetch(new URL('naf/v1/openapi.yaml', base));
      expect(r.status).to.equal(200);
      const text = await r.text();
      expect(text).to.match(/^openapi: 3\.1\.0/);
      expect(text).to.contain('/naf/v1/psk-lookup').and.contain('/device/v1/config');
    }
  });
});
