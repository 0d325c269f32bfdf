/**
 * Ub end to end through real processes (hss-mock, bsf) and a real redis-server: TS 24.109 bootstrapping,
 * resynchronisation, every failure the issue names, shared state across BSF instances, and concurrency.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawnNf, type NfProcess } from '../support/nf.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { newImsi } from '../support/network.js';
import { referenceBootstrap } from '../support/ub-reference-client.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, UbError } from '../../device/ub-client.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { sqnFromBytes, makeSqn } from '../../shared/crypto/sqn.js';
import { openAutn } from '../../shared/crypto/aka-tokens.js';
import { createAkaAlgorithm } from '../../shared/crypto/aka-algorithm.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET1 = milenageSets()[0]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const ADMIN = 'admin-token-0123456789abcdef';
const ZH = 'zh-token-0123456789abcdef';
const NAF = 'naf-token-0123456789abcdef';

interface Core {
  hss: NfProcess;
  bsfs: NfProcess[];
  ub: string;
  zn: string;
  provisioning: string;
  redisUrl: string;
  prefix: string;
}

async function startCore(o: { bsfCount?: number; bsf?: Record<string, unknown> } = {}): Promise<Core> {
  const redisUrl = await testRedisUrl();
  const prefix = uniquePrefix('ub');
  const store = { kind: 'redis', redisUrl, prefix };
  const hss = await spawnNf('hss-mock', { store, hss: { port: 0, adminToken: ADMIN, zhTokens: [ZH] } });
  const bsfs = await Promise.all(
    Array.from({ length: o.bsfCount ?? 1 }, () =>
      spawnNf('bsf', {
        store,
        bsf: {
          ubPort: 0,
          znPort: 0,
          hssUrl: hss.listeners.hss,
          hssToken: ZH,
          nafs: [{ name: 'test-naf', token: NAF, fqdns: [{ fqdn: 'naf.example.org' }] }],
          ...o.bsf,
        },
      }),
    ),
  );
  return {
    hss,
    bsfs,
    ub: bsfs[0]!.listeners.ub!,
    zn: bsfs[0]!.listeners.zn!,
    provisioning: hss.listeners.provisioning!,
    redisUrl,
    prefix,
  };
}

async function provision(core: Core, imsi: string, doc: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${core.provisioning}/subscribers/${imsi}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  });
  expect(r.status, await r.text()).to.be.oneOf([200, 201]);
}

const metric = async (bsf: NfProcess, outcome: string): Promise<number> => {
  const text = await (await fetch(`${bsf.listeners.ub!.replace(/\/$/, '')}/metrics`)).text();
  const m = new RegExp(`gba_ub_outcomes_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : NaN;
};

const usimFor = (o: Partial<ConstructorParameters<typeof SoftUsim>[0]> = {}) =>
  new SoftUsim({ algorithm: 'milenage', k: hex(SET1.k), opc: hex(SET1.opc), ...o });

/** GET / with an Authorization header sent byte for byte (fetch refuses some of the malformed ones). */
async function rawGet(base: string, authorization: string): Promise<number> {
  const net = await import('node:net');
  const u = new URL(base);
  const reply = await new Promise<string>((resolve) => {
    const s = net.createConnection(Number(u.port), u.hostname, () =>
      s.write(
        `GET / HTTP/1.1\r\nHost: ${u.host}\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}Connection: close\r\n\r\n`,
        'latin1',
      ),
    );
    let d = '';
    s.on('data', (c) => {
      d += c;
    });
    s.on('close', () => resolve(d));
    s.on('error', () => resolve(d));
  });
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}

describe('Ub bootstrapping end to end (hss-mock + bsf processes, real Redis)', function () {
  this.timeout(60000);
  let core: Core;
  // 200 concurrent bootstraps of one IMPI (below) need more than the default 32 outstanding challenges.
  before(async () => {
    core = await startCore({ bsf: { maxOutstandingChallengesPerImpi: 256 } });
  });
  after(async () => {
    await Promise.all([core.hss.stop(), ...core.bsfs.map((b) => b.stop())]);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      for (const p of [core.hss, ...core.bsfs]) console.log(p.output.slice(-30).join('\n'));
  });

  it('bootstraps: B-TID = base64(RAND)@realm, lifetime an hour ahead, and Zn derives the same Ks_NAF', async () => {
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    const b = await bootstrap({ bsfUrl: core.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usimFor() });
    expect(b.btid).to.equal(`${b.rand.toString('base64')}@${REALM}`);
    expect(b.lifetimeMs - Date.now()).to.be.within(3595_000, 3601_000);
    const r = await fetch(`${core.zn}/bootstrapping-info-retrieval`, {
      method: 'POST',
      headers: { authorization: `Bearer ${NAF}`, 'content-type': 'application/json' },
      body: JSON.stringify({ btId: b.btid, nafId: { nafFqdn: 'naf.example.org', uaSecProtId: '0100000002' } }),
    });
    const body = (await r.json()) as Record<string, string>;
    expect(r.status).to.equal(200);
    const { ksNaf } = await import('../../shared/crypto/kdf.js');
    expect(body.meKeyMaterial).to.equal(
      ksNaf({
        ks: b.ks,
        rand: b.rand,
        impi: b.impi,
        nafFqdn: 'naf.example.org',
        uaSecProtId: hex('0100000002'),
      }).toString('hex'),
    );
    expect(body.impi).to.equal(impiFromImsi(imsi, 2));
    expect(body.gbaType).to.equal('3G_GBA');
  });

  it('an independent Ub client (written from the spec in the test) bootstraps with qop auth-int and auth', async () => {
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    for (const qop of ['auth-int', 'auth'] as const) {
      const r = await referenceBootstrap(core.ub, impiFromImsi(imsi, 2), hex(SET1.k), hex(SET1.opc), {
        qop,
        realm: '10.0.0.1',
      });
      expect(r.status, r.body).to.equal(200);
      expect(r.headers.get('content-type')).to.equal('application/vnd.3gpp.bsf+xml');
      expect(r.body).to.contain('<BootstrappingInfo xmlns="uri:3gpp-gba">');
      expect(r.btid).to.equal(`${r.rand!.toString('base64')}@${REALM}`);
      expect(r.lifetime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });

  it('sends exactly one WWW-Authenticate with realm, nonce=base64(RAND‖AUTN), AKAv1-MD5, qop="auth-int", opaque', async () => {
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc, sqn: '0000000000a0' });
    const r = await fetch(core.ub, {
      headers: {
        Authorization: `Digest username="${impiFromImsi(imsi, 2)}", realm="${REALM}", nonce="", uri="/", response=""`,
        Host: '192.0.2.7',
      },
    });
    expect(r.status).to.equal(401);
    const wa = r.headers.get('www-authenticate')!;
    expect(wa).to.match(
      /^Digest realm="bsf\.mnc001\.mcc001\.pub\.3gppnetwork\.org", nonce="[A-Za-z0-9+/]{43}=", algorithm=AKAv1-MD5, qop="auth-int", opaque="[^"]+"$/,
    );
    const raw = Buffer.from(/nonce="([^"]+)"/.exec(wa)![1]!, 'base64');
    expect(raw.length).to.equal(32);
    const o = openAutn(
      createAkaAlgorithm({ algorithm: 'milenage', k: hex(SET1.k), opc: hex(SET1.opc) }),
      raw.subarray(0, 16),
      raw.subarray(16),
    );
    expect(o.macOk).to.equal(true);
    expect(sqnFromBytes(o.sqn)).to.equal(makeSqn(6, 1)); // 0xa0 = SEQ 5 IND 0 → SEQ 6 IND 1
  });

  it('resynchronises when the USIM is ahead of the HSS (AUTS), then bootstraps', async () => {
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc, sqn: '000000000000' });
    const steps: string[] = [];
    const usim = usimFor({ sqnMs: makeSqn(1000, 3) });
    const b = await bootstrap({
      bsfUrl: core.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim,
      onStep: (s) => steps.push(s),
    });
    expect(steps).to.include('usim.sync_failure');
    expect(b.btid).to.match(/@bsf\./);
    const sub = (await (
      await fetch(`${core.provisioning}/subscribers/${imsi}`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as { sqn: string };
    expect(parseInt(sub.sqn, 16)).to.equal(makeSqn(1001, 4));
    expect(usim.highestAcceptedSqn()).to.equal(makeSqn(1001, 4));
  });

  it('a wrong K is caught by the device (MAC failure), and the BSF counts it', async () => {
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    const before = await metric(core.bsfs[0]!, 'mac_failure');
    const err = await bootstrap({
      bsfUrl: core.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: usimFor({ k: randomBytes(16) }),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UbError);
    expect((err as UbError).reason).to.equal('mac_failure');
    expect(await metric(core.bsfs[0]!, 'mac_failure')).to.equal(before + 1);
  });

  it('a wrong RES is caught by the BSF: 401 with a fresh challenge', async () => {
    const imsi = newImsi();
    const impi = impiFromImsi(imsi, 2);
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    const first = await fetch(core.ub, {
      headers: { Authorization: `Digest username="${impi}", realm="${REALM}", nonce="", uri="/", response=""` },
    });
    const nonce = /nonce="([^"]+)"/.exec(first.headers.get('www-authenticate')!)![1]!;
    const before = await metric(core.bsfs[0]!, 'wrong_res');
    const second = await fetch(core.ub, {
      headers: {
        Authorization: `Digest username="${impi}", realm="${REALM}", nonce="${nonce}", uri="/", qop=auth-int, nc=00000001, cnonce="abc", response="00000000000000000000000000000000"`,
      },
    });
    expect(second.status).to.equal(401);
    const fresh = /nonce="([^"]+)"/.exec(second.headers.get('www-authenticate')!)![1]!;
    expect(fresh).to.not.equal(nonce);
    expect(await metric(core.bsfs[0]!, 'wrong_res')).to.equal(before + 1);
  });

  it('an unknown IMSI gets 403', async () => {
    const r = await fetch(core.ub, {
      headers: {
        Authorization: `Digest username="${impiFromImsi('001019999999999', 2)}", realm="${REALM}", nonce="", uri="/", response=""`,
      },
    });
    expect(r.status).to.equal(403);
    expect(r.headers.get('content-type')).to.equal('application/problem+json');
    expect(((await r.json()) as { detail: string }).detail).to.match(/unknown IMPI/);
  });

  it('a replayed nonce gets 401 with a fresh challenge, and no second session', async () => {
    const imsi = newImsi();
    const impi = impiFromImsi(imsi, 2);
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    // capture the answer the device sends, then send it again
    const sent: string[] = [];
    const { Pool } = await import('undici');
    const url = new URL(core.ub);
    const pool = new Pool(url.origin);
    const orig = pool.request.bind(pool);
    (pool as unknown as { request: typeof orig }).request = ((opts: Parameters<typeof orig>[0]) => {
      sent.push(String((opts.headers as Record<string, string>).authorization));
      return orig(opts);
    }) as typeof orig;
    await bootstrap({ bsfUrl: core.ub, impi, realm: REALM, usim: usimFor(), pool });
    await pool.close();
    const replay = await fetch(core.ub, { headers: { Authorization: sent[1]! } });
    expect(replay.status).to.equal(401);
    expect(replay.headers.get('www-authenticate')).to.match(/nonce="/);
    expect(replay.headers.get('www-authenticate')).to.not.contain(/nonce="([^"]+)"/.exec(sent[1]!)![1]!);
  });

  it('a foreign nonce gets 401 with a fresh challenge', async () => {
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    const r = await fetch(core.ub, {
      headers: {
        Authorization: `Digest username="${impiFromImsi(imsi, 2)}", realm="${REALM}", nonce="${randomBytes(32).toString('base64')}", uri="/", qop=auth-int, nc=00000001, cnonce="x", response="00000000000000000000000000000000"`,
      },
    });
    expect(r.status).to.equal(401);
    expect(r.headers.get('www-authenticate')).to.match(/^Digest realm=/);
  });

  it('200 concurrent bootstraps of one subscriber: every one succeeds, SQNs strictly increase, no vector is used twice', async () => {
    const imsi = newImsi();
    const impi = impiFromImsi(imsi, 2);
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    const usim = usimFor();
    const { Pool } = await import('undici');
    const pool = new Pool(new URL(core.ub).origin, { connections: 32 });
    const seen: Array<{ rand: string; sqn: number }> = [];
    const alg = createAkaAlgorithm({ algorithm: 'milenage', k: hex(SET1.k), opc: hex(SET1.opc) });
    const recording = {
      authenticate: (rand: Uint8Array, autn: Uint8Array) => {
        seen.push({ rand: Buffer.from(rand).toString('hex'), sqn: sqnFromBytes(openAutn(alg, rand, autn).sqn) });
        return usim.authenticate(rand, autn);
      },
    } as unknown as SoftUsim;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => bootstrap({ bsfUrl: core.ub, impi, realm: REALM, usim: recording, pool })),
    );
    await pool.close();
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason))).to.deep.equal([]);
    const btids = results.map((r) => (r as PromiseFulfilledResult<{ btid: string }>).value.btid);
    expect(new Set(btids).size).to.equal(200);
    expect(new Set(seen.map((s) => s.rand)).size).to.equal(seen.length);
    const sqns = seen.map((s) => s.sqn).sort((a, b) => a - b);
    expect(new Set(sqns).size).to.equal(sqns.length);
    const sub = (await (
      await fetch(`${core.provisioning}/subscribers/${imsi}`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as { sqn: string };
    expect(parseInt(sub.sqn, 16)).to.equal(sqns[sqns.length - 1]);
  });

  const MALFORMED: string[] = [
    '',
    'Basic YTpi',
    'Bearer abc',
    'Digest',
    'Digest ',
    'Digest username',
    'Digest username=',
    'Digest username="',
    'Digest username="a',
    'Digest username="a\\',
    'Digest username="a", username="b"',
    'Digest username="a",',
    'Digest ,username="a"',
    'Digest username="a" realm="b"',
    'Digest username="a";realm="b"',
    'Digest realm="r", nonce=""',
    'Digest username=""',
    `Digest username="${'x'.repeat(300)}"`,
    `Digest username="a", realm="${'r'.repeat(5000)}"`,
    'Digest username="a", nonce="abc"',
    'Digest username="a", nonce="abc", uri="/"',
    'Digest username="a", nonce="abc", uri="/", response="x", qop=auth-int',
    'Digest username="a", nonce="abc", uri="/", response="x", qop=auth-conf, nc=00000001, cnonce="c"',
    `Digest username="a", realm="${REALM}", nonce="abc", uri="/", response="x", qop=auth, nc=zz, cnonce="c"`,
    `Digest username="a", realm="${REALM}", nonce="abc", uri="/other", response="x"`,
    'Digest username="a", realm="wrong", nonce="abc", uri="/", response="x"',
    `Digest username="a", realm="${REALM}", nonce="abc", uri="/", response="x", auts="not base64!"`,
    `Digest username="a", realm="${REALM}", nonce="abc", uri="/", response="x", auts="${Buffer.alloc(13).toString('base64')}"`,
    'Digest username="a", x=(y)',
    'Digest =',
    'Digest username="\u0001"',
    `Digest ${Array.from({ length: 40 }, (_, i) => `p${i}=1`).join(', ')}`,
  ];
  it(`answers ${MALFORMED.length} malformed Authorization headers with 4xx and stays up`, async () => {
    const statuses: number[] = [];
    for (const h of MALFORMED) {
      const status = await rawGet(core.ub, h);
      statuses.push(status);
      expect(status, `header ${JSON.stringify(h.slice(0, 80))}`).to.be.within(400, 499);
    }
    expect(statuses.filter((s) => s === 400).length).to.be.at.least(25);
    const imsi = newImsi();
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    expect(
      (await bootstrap({ bsfUrl: core.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usimFor() })).btid,
    ).to.match(/@/);
    expect(await metric(core.bsfs[0]!, 'malformed')).to.be.at.least(25);
  });

  it('a non-GET method gets 405 and a body-less garbage request line gets 400', async () => {
    const r = await fetch(core.ub, {
      method: 'POST',
      body: 'x',
      headers: { Authorization: 'Digest username="a", realm="b", nonce="", uri="/", response=""' },
    });
    expect(r.status).to.equal(405);
    const net = await import('node:net');
    const u = new URL(core.ub);
    const reply = await new Promise<string>((resolve) => {
      const s = net.createConnection(Number(u.port), u.hostname, () => s.write('GARBAGE\r\n\r\n'));
      let d = '';
      s.on('data', (c) => {
        d += c;
      });
      s.on('close', () => resolve(d));
      s.on('error', () => resolve(d));
    });
    expect(reply).to.match(/^HTTP\/1\.1 400/);
  });
});

describe('Ub across BSF instances, expiry and HSS outage (real processes, real Redis)', function () {
  this.timeout(60000);

  it('a challenge issued by BSF instance 1 is answered at instance 2 (shared Redis)', async () => {
    const core = await startCore({ bsfCount: 2 });
    try {
      const imsi = newImsi();
      const impi = impiFromImsi(imsi, 2);
      await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
      const first = await fetch(core.bsfs[0]!.listeners.ub!, {
        headers: { Authorization: `Digest username="${impi}", realm="${REALM}", nonce="", uri="/", response=""` },
      });
      const wa = first.headers.get('www-authenticate')!;
      const nonce = /nonce="([^"]+)"/.exec(wa)![1]!,
        opaque = /opaque="([^"]+)"/.exec(wa)![1]!;
      const raw = Buffer.from(nonce, 'base64');
      const usim = usimFor();
      const a = usim.authenticate(raw.subarray(0, 16), raw.subarray(16, 32));
      if (a.kind !== 'ok') throw new Error(a.kind);
      const { computeDigest } = await import('../../shared/crypto/digest.js');
      const d = computeDigest({
        username: impi,
        realm: REALM,
        password: a.res,
        nonce,
        nc: '00000001',
        cnonce: 'c0ffee',
        qop: 'auth-int',
        method: 'GET',
        uri: '/',
      });
      const second = await fetch(core.bsfs[1]!.listeners.ub!, {
        headers: {
          Authorization: `Digest username="${impi}", realm="${REALM}", nonce="${nonce}", uri="/", qop=auth-int, nc=00000001, cnonce="c0ffee", response="${d.response}", opaque="${opaque}"`,
        },
      });
      expect(second.status, await second.clone().text()).to.equal(200);
      expect(await second.text()).to.contain(`<btid>${raw.subarray(0, 16).toString('base64')}@${REALM}</btid>`);
    } finally {
      await Promise.all([core.hss.stop(), ...core.bsfs.map((b) => b.stop())]);
    }
  });

  it('an expired challenge gets 401 with a fresh one; a session expires after its lifetime (Zn 404)', async () => {
    const core = await startCore({ bsf: { challengeTtlSec: 1, lifetimeSec: 2 } });
    try {
      const imsi = newImsi();
      const impi = impiFromImsi(imsi, 2);
      await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
      const first = await fetch(core.ub, {
        headers: { Authorization: `Digest username="${impi}", realm="${REALM}", nonce="", uri="/", response=""` },
      });
      const nonce = /nonce="([^"]+)"/.exec(first.headers.get('www-authenticate')!)![1]!;
      await new Promise((r) => setTimeout(r, 1300));
      const raw = Buffer.from(nonce, 'base64');
      const a = usimFor().authenticate(raw.subarray(0, 16), raw.subarray(16, 32));
      if (a.kind !== 'ok') throw new Error(a.kind);
      const { computeDigest } = await import('../../shared/crypto/digest.js');
      const d = computeDigest({
        username: impi,
        realm: REALM,
        password: a.res,
        nonce,
        nc: '00000001',
        cnonce: 'c',
        qop: 'auth-int',
        method: 'GET',
        uri: '/',
      });
      const late = await fetch(core.ub, {
        headers: {
          Authorization: `Digest username="${impi}", realm="${REALM}", nonce="${nonce}", uri="/", qop=auth-int, nc=00000001, cnonce="c", response="${d.response}"`,
        },
      });
      expect(late.status).to.equal(401);
      expect(/nonce="([^"]+)"/.exec(late.headers.get('www-authenticate')!)![1]).to.not.equal(nonce);

      const b = await bootstrap({ bsfUrl: core.ub, impi, realm: REALM, usim: usimFor({ sqnMs: 0 }) });
      const zn = () =>
        fetch(`${core.zn}/bootstrapping-info-retrieval`, {
          method: 'POST',
          headers: { authorization: `Bearer ${NAF}`, 'content-type': 'application/json' },
          body: JSON.stringify({ btId: b.btid, nafId: { nafFqdn: 'naf.example.org', uaSecProtId: '0100000002' } }),
        });
      expect((await zn()).status).to.equal(200);
      expect(b.lifetimeMs - Date.now()).to.be.below(2500);
      await new Promise((r) => setTimeout(r, Math.max(0, b.lifetimeMs - Date.now()) + 300));
      const gone = await zn();
      expect(gone.status).to.equal(404);
      expect(gone.headers.get('content-type')).to.equal('application/problem+json');
    } finally {
      await Promise.all([core.hss.stop(), ...core.bsfs.map((b) => b.stop())]);
    }
  });

  it('HSS unreachable → 503 with Retry-After, never 500', async () => {
    const redisUrl = await testRedisUrl();
    const bsf = await spawnNf('bsf', {
      store: { kind: 'redis', redisUrl, prefix: uniquePrefix('ub') },
      bsf: { ubPort: 0, znPort: 0, hssUrl: 'http://127.0.0.1:1', hssToken: ZH },
    });
    try {
      const r = await fetch(bsf.listeners.ub!, {
        headers: {
          Authorization: `Digest username="${impiFromImsi('001010000000001', 2)}", realm="${REALM}", nonce="", uri="/", response=""`,
        },
      });
      expect(r.status).to.equal(503);
      expect(r.headers.get('retry-after')).to.equal('5');
    } finally {
      await bsf.stop();
    }
  });

  it('SQN burn (issue 18 finding 10): past the per-IMPI cap and the per-source rate, 429 with Retry-After, counted in /metrics', async () => {
    const core = await startCore({
      bsf: { maxOutstandingChallengesPerImpi: 2, ubRatePerSource: 0.001, ubBurstPerSource: 4 },
    });
    const imsi = newImsi();
    const impi = impiFromImsi(imsi, 2);
    await provision(core, imsi, { k: SET1.k, opc: SET1.opc });
    const bsf = core.bsfs[0]!;
    try {
      const initial = (who: string) =>
        fetch(bsf.listeners.ub!, {
          headers: { Authorization: `Digest username="${who}", realm="${REALM}", nonce="", uri="/", response=""` },
        });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await initial(impi);
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get('retry-after')).to.equal('30');
      }
      expect(statuses).to.deep.equal([401, 401, 429]);
      // The bucket of 4 is spent (3 above + this one); the fifth is refused whoever it names.
      expect((await initial(impiFromImsi(newImsi(), 2))).status).to.be.oneOf([401, 403]);
      const over = await initial(impiFromImsi(newImsi(), 2));
      expect([over.status, over.headers.get('retry-after')]).to.deep.equal([429, '1']);
      const text = await (await fetch(`${bsf.listeners.ub!.replace(/\/$/, '')}/metrics`)).text();
      expect(text).to.match(/gba_ub_throttled_total\{reason="outstanding_challenges"\} 1\b/);
      expect(text).to.match(/gba_ub_throttled_total\{reason="source_rate"\} 1\b/);
    } finally {
      await Promise.all([core.hss.stop(), bsf.stop()]);
    }
  });
});
