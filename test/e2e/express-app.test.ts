/**
 * examples/express-app (an Express app importing gbaAuth from 'gba-sim/naf') on a real network, reached by our
 * device agent (`gba-sim device fetch`) and by an independent client written here from the RFC 2617 / RFC 7616
 * formulas with node:crypto (not device/digest-client.ts), with Ks_NAF computed here too (Milenage + TS 33.220
 * Annex B.3 by hand). Also: gbaAuth in-process against a BSF that does not answer (503) and on an expired key.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, type Bootstrap } from '../../device/ub-client.js';
import { Milenage } from '../../shared/crypto/milenage.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { gbaAuth } from '../../naf/gba-auth.js';
import type { ZnService } from '../../shared/services/zn.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[2]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const APP_FQDN = 'app.example.org';
const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

function ksNafHere(rand: Buffer, impi: string, fqdn: string, uaIdHex: string): Buffer {
  const { ck, ik } = new Milenage(hex(SET.k), hex(SET.opc)).f2345(rand);
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
    .digest();
}

/** The first Digest challenge's parameters, parsed with a regular expression (quoted or token values). */
function challengeOf(h: string | null): Record<string, string> {
  expect(h, 'WWW-Authenticate').to.be.a('string');
  const out: Record<string, string> = {};
  for (const m of h!.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g))
    out[m[1]!.toLowerCase()] = m[2] ?? m[3]!;
  return out;
}

/** RFC 2617 §3.2.2 (MD5, qop auth or auth-int): the Authorization header and what rspauth must be. */
function answer(
  ch: Record<string, string>,
  o: { user: string; password: string; method: string; uri: string; body?: string; qop: 'auth' | 'auth-int' },
) {
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const ha1 = md5(`${o.user}:${ch.realm}:${o.password}`);
  const bodyHash = md5(o.body ?? '');
  const ha2 = md5(o.qop === 'auth-int' ? `${o.method}:${o.uri}:${bodyHash}` : `${o.method}:${o.uri}`);
  const response = md5(`${ha1}:${ch.nonce}:${nc}:${cnonce}:${o.qop}:${ha2}`);
  const rspauth = (respBody: string) =>
    md5(
      `${ha1}:${ch.nonce}:${nc}:${cnonce}:${o.qop}:${md5(o.qop === 'auth-int' ? `:${o.uri}:${md5(respBody)}` : `:${o.uri}`)}`,
    );
  const header = `Digest username="${o.user}", realm="${ch.realm}", nonce="${ch.nonce}", uri="${o.uri}", qop=${o.qop}, nc=${nc}, cnonce="${cnonce}", response="${response}", opaque="${ch.opaque}", algorithm=MD5`;
  return { header, rspauth };
}

describe('examples/express-app: gbaAuth() from gba-sim/naf with our device agent and an independent client (C11)', function () {
  this.timeout(90000);
  let net: RunningNetwork & { logs: () => string };
  let app: ChildProcess;
  let appUrl: string;
  let znToken: string;

  before(async () => {
    net = await givenNetwork({ nfs: ['hss-mock', 'bsf', 'naf'] });
    const r = await fetch(`${net.endpoints.bsf.admin}/nafs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${net.endpoints.admin!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fqdn: APP_FQDN }),
    });
    expect(r.status).to.equal(201);
    znToken = ((await r.json()) as { token: string }).token;
    app = spawn(process.execPath, ['examples/express-app/server.mjs'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ZN_URL: net.endpoints.bsf.zn, ZN_TOKEN: znToken, APP_FQDN, PORT: '0' },
    });
    appUrl = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the example app did not start')), 20000);
      createInterface({ input: app.stdout! }).on('line', (l) => {
        try {
          const j = JSON.parse(l) as { url?: string };
          if (j.url) {
            clearTimeout(t);
            resolve(j.url);
          }
        } catch {
          /* not ours */
        }
      });
    });
  });
  after(async () => {
    app?.kill('SIGTERM');
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });

  const device = async (): Promise<{ imsi: string; b: Bootstrap }> => {
    const imsi = newImsi();
    await provision(net.endpoints.hss.provisioning, net.endpoints.hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await bootstrap({
      bsfUrl: net.endpoints.bsf.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) }),
    });
    return { imsi, b };
  };
  const uri = () => new URL(appUrl).pathname;

  it('our device agent: `gba-sim device fetch` bootstraps and gets the greeting by IMPI', async () => {
    const imsi = newImsi();
    await provision(net.endpoints.hss.provisioning, net.endpoints.hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const r = await runCli(
      [
        'device',
        'fetch',
        appUrl,
        '--endpoints',
        `${net.config.stateDir}/endpoints.json`,
        '--imsi',
        imsi,
        '--k',
        SET.k,
        '--opc',
        SET.opc,
      ],
      { timeoutMs: 30000 },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ greeting: `Hello, ${impiFromImsi(imsi, 2)}` });
    expect(r.stderr).to.match(/rspauth=verified/);
  });

  it('independent client: no credentials → 401 challenge; correct auth-int → 200 with req.gba and a verifying rspauth; the nonce is single use', async () => {
    const { b } = await device();
    const first = await fetch(appUrl);
    expect(first.status).to.equal(401);
    expect(first.headers.get('content-type')).to.match(/application\/problem\+json/);
    const ch = challengeOf(first.headers.get('www-authenticate'));
    expect(ch.realm).to.equal(`3GPP-bootstrapping@${APP_FQDN}`);
    expect(ch.qop!.split(',')).to.include.members(['auth-int', 'auth']);
    const password = ksNafHere(b.rand, b.impi, APP_FQDN, '0100000002').toString('base64');
    const a = answer(ch, { user: b.btid, password, method: 'GET', uri: uri(), qop: 'auth-int' });
    const ok = await fetch(appUrl, { headers: { authorization: a.header } });
    const body = await ok.text();
    expect(ok.status, body).to.equal(200);
    const j = JSON.parse(body) as Record<string, string>;
    expect(j).to.include({
      greeting: `Hello, ${b.impi}`,
      btid: b.btid,
      expiresAt: new Date(b.lifetimeMs).toISOString(),
    });
    const info = ok.headers.get('authentication-info') ?? '';
    expect(/rspauth="([0-9a-f]{32})"/.exec(info)?.[1]).to.equal(a.rspauth(body));
    // The same Authorization again: a replayed nonce gets a fresh challenge.
    const replay = await fetch(appUrl, { headers: { authorization: a.header } });
    expect(replay.status).to.equal(401);
    expect(challengeOf(replay.headers.get('www-authenticate')).nonce).to.not.equal(ch.nonce);
    // qop=auth works too.
    const ch2 = challengeOf((await fetch(appUrl)).headers.get('www-authenticate'));
    const a2 = answer(ch2, { user: b.btid, password, method: 'GET', uri: uri(), qop: 'auth' });
    const ok2 = await fetch(appUrl, { headers: { authorization: a2.header } });
    const body2 = await ok2.text();
    expect(ok2.status).to.equal(200);
    expect(/rspauth="([0-9a-f]{32})"/.exec(ok2.headers.get('authentication-info') ?? '')?.[1]).to.equal(
      a2.rspauth(body2),
    );
  });

  it("independent client: a wrong password, another NAF's key and an unknown B-TID each get 401 with a fresh challenge", async () => {
    const { b } = await device();
    const tries = [
      { user: b.btid, password: Buffer.alloc(32, 1).toString('base64') },
      { user: b.btid, password: ksNafHere(b.rand, b.impi, net.endpoints.naf!.fqdn, '0100000002').toString('base64') },
      {
        user: `AAAAAAAAAAAAAAAAAAAAAA==@${REALM}`,
        password: ksNafHere(b.rand, b.impi, APP_FQDN, '0100000002').toString('base64'),
      },
    ];
    for (const t of tries) {
      const ch = challengeOf((await fetch(appUrl)).headers.get('www-authenticate'));
      const r = await fetch(appUrl, {
        headers: { authorization: answer(ch, { ...t, method: 'GET', uri: uri(), qop: 'auth-int' }).header },
      });
      expect(r.status).to.equal(401);
      expect(r.headers.get('content-type')).to.match(/application\/problem\+json/);
      const fresh = challengeOf(r.headers.get('www-authenticate'));
      expect(fresh.nonce).to.be.a('string').and.not.equal(ch.nonce);
      expect(((await r.json()) as { status: number }).status).to.equal(401);
    }
  });

  it('in-process: a POST with qop=auth-int covers the request body (a changed body is refused); rspauth also when the handler writes the head itself; Zn down → 503; an expired key → 401', async () => {
    const { b } = await device();
    const mw = gbaAuth({ znUrl: net.endpoints.bsf.zn, znToken, fqdn: APP_FQDN });
    const down = gbaAuth({ znUrl: 'http://127.0.0.1:9/nbsp-gba/v1', znToken, fqdn: APP_FQDN });
    const expiredZn: ZnService = {
      bootstrappingInfo: async (btid) => ({
        btid,
        impi: b.impi,
        meKey: ksNafHere(b.rand, b.impi, APP_FQDN, '0100000002'),
        expiresAtMs: Date.now() - 1000,
        createdAtMs: Date.now() - 5000,
        gbaType: '3G_GBA',
      }),
      close: async () => {},
    };
    const expired = gbaAuth({ zn: expiredZn, fqdn: APP_FQDN });
    const ex = express();
    ex.post('/a', mw, express.json(), (req, res) => {
      res.json({ got: req.body as unknown, impi: req.gba?.impi });
    });
    ex.get('/down', down, (_req, res) => {
      res.send('never');
    });
    ex.get('/raw', mw, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('raw ');
      res.end(req.gba!.btid);
    });
    ex.get('/expired', expired, (_req, res) => {
      res.send('never');
    });
    const server = ex.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const password = ksNafHere(b.rand, b.impi, APP_FQDN, '0100000002').toString('base64');
      const data = JSON.stringify({ reading: 42 });
      let ch = challengeOf(
        (
          await fetch(`${base}/a`, { method: 'POST', body: data, headers: { 'content-type': 'application/json' } })
        ).headers.get('www-authenticate'),
      );
      const a = answer(ch, { user: b.btid, password, method: 'POST', uri: '/a', body: data, qop: 'auth-int' });
      const ok = await fetch(`${base}/a`, {
        method: 'POST',
        body: data,
        headers: { 'content-type': 'application/json', authorization: a.header },
      });
      const body = await ok.text();
      expect(ok.status, body).to.equal(200);
      expect(JSON.parse(body)).to.deep.equal({ got: { reading: 42 }, impi: b.impi });
      expect(/rspauth="([0-9a-f]{32})"/.exec(ok.headers.get('authentication-info') ?? '')?.[1]).to.equal(
        a.rspauth(body),
      );
      ch = challengeOf((await fetch(`${base}/a`, { method: 'POST' })).headers.get('www-authenticate'));
      const signed = answer(ch, { user: b.btid, password, method: 'POST', uri: '/a', body: data, qop: 'auth-int' });
      const tampered = await fetch(`${base}/a`, {
        method: 'POST',
        body: JSON.stringify({ reading: 43 }),
        headers: { 'content-type': 'application/json', authorization: signed.header },
      });
      expect(tampered.status).to.equal(401);

      // A handler that calls writeHead and write itself still gets rspauth over what it wrote.
      ch = challengeOf((await fetch(`${base}/raw`)).headers.get('www-authenticate'));
      const ar = answer(ch, { user: b.btid, password, method: 'GET', uri: '/raw', qop: 'auth-int' });
      const raw = await fetch(`${base}/raw`, { headers: { authorization: ar.header } });
      const rawBody = await raw.text();
      expect(rawBody).to.equal(`raw ${b.btid}`);
      expect(/rspauth="([0-9a-f]{32})"/.exec(raw.headers.get('authentication-info') ?? '')?.[1]).to.equal(
        ar.rspauth(rawBody),
      );

      ch = challengeOf((await fetch(`${base}/down`)).headers.get('www-authenticate'));
      const d = await fetch(`${base}/down`, {
        headers: {
          authorization: answer(ch, { user: b.btid, password, method: 'GET', uri: '/down', qop: 'auth-int' }).header,
        },
      });
      expect(d.status).to.equal(503);
      expect(d.headers.get('content-type')).to.match(/application\/problem\+json/);
      expect(d.headers.get('retry-after')).to.match(/^\d+$/);

      ch = challengeOf((await fetch(`${base}/expired`)).headers.get('www-authenticate'));
      const e = await fetch(`${base}/expired`, {
        headers: {
          authorization: answer(ch, { user: b.btid, password, method: 'GET', uri: '/expired', qop: 'auth-int' }).header,
        },
      });
      expect(e.status).to.equal(401);
      expect(challengeOf(e.headers.get('www-authenticate')).nonce).to.not.equal(ch.nonce);
    } finally {
      server.close();
      await Promise.all([mw.close(), down.close(), expired.close()]);
    }
  });
});
