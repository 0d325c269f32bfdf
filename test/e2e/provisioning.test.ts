/** The HSS-mock's provisioning API (contract C3) and Zh, through a real process and real Redis, and the `subscriber` CLI. */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnNf, tempDir, type NfProcess } from '../support/nf.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { runCli } from '../support/cli.js';
import { milenageSets } from '../support/vectors.js';
import { buildAuts } from '../../shared/crypto/aka-tokens.js';
import { createAkaAlgorithm } from '../../shared/crypto/aka-algorithm.js';

const S = milenageSets();
const ADMIN = 'admin-token-0123456789abcdef';
const ZH = 'zh-token-0123456789abcdef';

describe('HSS-mock provisioning API and Zh (real process, real Redis)', function () {
  this.timeout(60000);
  let hss: NfProcess;
  let base: string;
  const api = (method: string, path: string, body?: unknown, token = ADMIN, ct = 'application/json') =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': ct } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const zh = (ueId: string, body: unknown = {}) =>
    fetch(`${hss.listeners.hss}/nhss-gba-ueau/v1/${encodeURIComponent(ueId)}/security-information/generate-auth-data`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ZH}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    hss = await spawnNf('hss-mock', {
      store: { kind: 'redis', redisUrl: await testRedisUrl(), prefix: uniquePrefix('prov') },
      hss: { port: 0, adminToken: ADMIN, zhTokens: [ZH] },
    });
    base = hss.listeners.provisioning!;
  });
  after(async () => {
    await hss?.stop();
  });

  it('create (201) → replace (200) → read without and with secrets → delete (204) → 404', async () => {
    const c = await api('PUT', '/subscribers/001010000000101', {
      k: S[0]!.k,
      op: S[0]!.op,
      amf: 'b9b9',
      sqn: '0000000000ff',
    });
    expect(c.status).to.equal(201);
    expect(c.headers.get('location')).to.equal('/provisioning/v1/subscribers/001010000000101');
    const body = (await c.json()) as Record<string, unknown>;
    expect(body).to.include({
      imsi: '001010000000101',
      impi: '001010000000101@ims.mnc001.mcc001.3gppnetwork.org',
      algorithm: 'milenage',
      amf: 'b9b9',
      sqn: '0000000000ff',
    });
    expect(body).to.not.have.any.keys('k', 'opc', 'op');
    expect((await api('PUT', '/subscribers/001010000000101', { k: S[0]!.k, opc: S[0]!.opc })).status).to.equal(200);
    const plain = (await (await api('GET', '/subscribers/001010000000101')).json()) as Record<string, unknown>;
    expect(plain).to.not.have.any.keys('k', 'opc', 'op');
    expect(plain.sqn).to.equal('000000000000');
    const secret = (await (await api('GET', '/subscribers/001010000000101?includeSecrets=true')).json()) as Record<
      string,
      unknown
    >;
    expect(secret).to.include({ k: S[0]!.k, opc: S[0]!.opc });
    expect((await api('DELETE', '/subscribers/001010000000101')).status).to.equal(204);
    const gone = await api('GET', '/subscribers/001010000000101');
    expect(gone.status).to.equal(404);
    expect(gone.headers.get('content-type')).to.equal('application/problem+json');
  });

  it('rejects bad documents with every reason (400), and bad IMSIs', async () => {
    const r = await api('PUT', '/subscribers/001010000000102', {
      k: 'zz',
      opc: S[0]!.opc,
      op: S[0]!.op,
      amf: '1',
      sqn: '00',
      algorithm: 'comp128',
      extra: 1,
    });
    expect(r.status).to.equal(400);
    const p = (await r.json()) as { invalidParams: Array<{ param: string }> };
    expect(p.invalidParams.map((i) => i.param)).to.include.members(['k', 'amf', 'sqn', 'algorithm']);
    expect((await api('PUT', '/subscribers/12', { k: S[0]!.k, opc: S[0]!.opc })).status).to.equal(400);
    expect((await api('PUT', '/subscribers/001010000000102', 'not json')).status).to.equal(400);
    expect((await api('PUT', '/subscribers/001010000000102', { k: S[0]!.k })).status).to.equal(400); // neither op nor opc
    expect(
      (await api('PUT', '/subscribers/001010000000102', { k: S[0]!.k, opc: S[0]!.opc, resLength: 8 })).status,
    ).to.equal(400); // XOR only
  });

  it('missing or wrong admin token → 401 with WWW-Authenticate: Bearer', async () => {
    for (const t of ['', 'wrong-token-0123456789abcdef']) {
      const r = await api('GET', '/subscribers', undefined, t);
      expect(r.status).to.equal(401);
      expect(r.headers.get('www-authenticate')).to.match(/^Bearer/);
    }
    expect(
      (
        await fetch(`${hss.listeners.hss}/nhss-gba-sdm/v1/imsi-001010000000001/subscriber-data`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).status,
    ).to.equal(401);
  });

  it('pages in IMSI order with a next link', async () => {
    for (const i of [5, 3, 4])
      expect((await api('PUT', `/subscribers/00101000000020${i}`, { k: S[1]!.k, opc: S[1]!.opc })).status).to.equal(
        201,
      );
    const p1 = (await (await api('GET', '/subscribers?limit=2&after=001010000000200')).json()) as {
      items: Array<{ imsi: string }>;
      next?: string;
      total: number;
    };
    expect(p1.items.map((i) => i.imsi)).to.deep.equal(['001010000000203', '001010000000204']);
    expect(p1.next).to.equal('/provisioning/v1/subscribers?limit=2&after=001010000000204');
    // The last page has no next link (and one whose size is exactly the limit neither).
    const all = (await (await api('GET', '/subscribers?limit=1000')).json()) as {
      items: unknown[];
      next?: string;
      total: number;
    };
    expect(all.items.length).to.equal(all.total);
    expect(all).to.not.have.property('next');
    const exact = (await (await api('GET', `/subscribers?limit=${all.total}`)).json()) as { next?: string };
    expect(exact).to.not.have.property('next');
    expect((await api('GET', '/subscribers?limit=0')).status).to.equal(400);
  });

  it('bulk import: JSON and CSV; one bad row and nothing is written', async () => {
    const json = await api('POST', '/subscribers:import', [
      { imsi: '001010000000301', k: S[2]!.k, opc: S[2]!.opc },
      { imsi: '001010000000302', k: S[3]!.k, op: S[3]!.op, algorithm: 'milenage' },
    ]);
    expect(await json.json()).to.deep.equal({ imported: 2, created: 2, replaced: 0 });
    const csv = `imsi,k,opc,op,amf,sqn,algorithm,resLength,impi\n001010000000303,${S[4]!.k},${S[4]!.opc},,8000,000000000010,,,\n001010000000304,${S[5]!.k},,,,,xor,8,isim-user@ims.example.org\n`;
    expect(await (await api('POST', '/subscribers:import', csv, ADMIN, 'text/csv')).json()).to.deep.equal({
      imported: 2,
      created: 2,
      replaced: 0,
    });
    const xor = (await (await api('GET', '/subscribers/001010000000304')).json()) as Record<string, unknown>;
    expect(xor).to.include({
      algorithm: 'xor',
      resLength: 8,
      impi: 'isim-user@ims.example.org',
      impiProvisioned: true,
    });
    const bad = await api('POST', '/subscribers:import', [
      { imsi: '001010000000305', k: S[0]!.k, opc: S[0]!.opc },
      { imsi: '001010000000306', k: 'nothex' },
    ]);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { detail: string }).detail).to.contain('nothing was imported');
    expect((await api('GET', '/subscribers/001010000000305')).status).to.equal(404);
    expect((await api('POST', '/subscribers:import', 'imsi,k,bogus\n1,2,3\n', ADMIN, 'text/csv')).status).to.equal(400);
  });

  it('Zh: a vector by IMPI, by imsi- ueId and by a custom IMPI; unknown user → 404 USER_NOT_FOUND', async () => {
    const s = S[6]!;
    await api('PUT', '/subscribers/001010000000401', { k: s.k, opc: s.opc });
    await api('PUT', '/subscribers/001010000000402', { k: s.k, opc: s.opc, impi: 'alice@ims.example.org' });
    for (const ueId of [
      '001010000000401@ims.mnc001.mcc001.3gppnetwork.org',
      'imsi-001010000000401',
      'alice@ims.example.org',
    ]) {
      const r = await zh(ueId, { authenticationScheme: 'DIGEST_AKAV1_MD5' });
      const b = (await r.json()) as { impi: string; '3gAkaAv': Record<string, string> };
      expect(r.status, ueId).to.equal(200);
      expect(b['3gAkaAv'].autn).to.match(/^[0-9a-f]{32}$/);
      expect(b['3gAkaAv'].xres).to.match(/^[0-9a-f]{16}$/);
    }
    const unknown = await zh('imsi-001019999999999');
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as { cause: string }).cause).to.equal('USER_NOT_FOUND');
  });

  it('Zh resynchronisation: a valid AUTS moves SQN_HE to SQN_MS; a bad MAC-S is refused (403) and changes nothing', async () => {
    const s = S[7]!;
    await api('PUT', '/subscribers/001010000000501', { k: s.k, opc: s.opc });
    const alg = createAkaAlgorithm({
      algorithm: 'milenage',
      k: Buffer.from(s.k, 'hex'),
      opc: Buffer.from(s.opc, 'hex'),
    });
    const rand = Buffer.from(s.rand, 'hex');
    const { auts } = buildAuts(alg, rand, Buffer.from('000000100000', 'hex'));
    const bad = Buffer.from(auts);
    bad[13] ^= 1;
    const refused = await zh('imsi-001010000000501', {
      resynchronizationInfo: { rand: s.rand, auts: bad.toString('hex') },
    });
    expect(refused.status).to.equal(403);
    expect(((await (await api('GET', '/subscribers/001010000000501')).json()) as { sqn: string }).sqn).to.equal(
      '000000000000',
    );
    const ok = await zh('imsi-001010000000501', {
      resynchronizationInfo: { rand: s.rand, auts: auts.toString('hex') },
    });
    expect(ok.status).to.equal(200);
    // SQN_MS = 0x100000 (SEQ 0x8000, IND 0) → next vector SEQ 0x8001, IND 1
    expect(((await (await api('GET', '/subscribers/001010000000501')).json()) as { sqn: string }).sqn).to.equal(
      '000000100021',
    );
    expect((await zh('imsi-001010000000501', { resynchronizationInfo: { rand: 'xx', auts: '00' } })).status).to.equal(
      400,
    );
  });

  it('Zh subscriber-data returns the GUSS (or {})', async () => {
    const guss = {
      bsfInfo: { uiccType: 'GBA_U', lifeTime: 600 },
      ussList: [{ uss: { gsId: 1, gsType: 0, ueIds: [{ ueId: 'sip:a@b' }], nafGroup: 'lwm2m' } }],
    };
    await api('PUT', '/subscribers/001010000000601', { k: S[8]!.k, opc: S[8]!.opc, guss });
    await api('PUT', '/subscribers/001010000000602', { k: S[8]!.k, opc: S[8]!.opc });
    const get = (id: string) =>
      fetch(`${hss.listeners.hss}/nhss-gba-sdm/v1/${id}/subscriber-data`, {
        headers: { authorization: `Bearer ${ZH}` },
      });
    expect(await (await get('imsi-001010000000601')).json()).to.deep.equal({ guss });
    expect(await (await get('imsi-001010000000602')).json()).to.deep.equal({});
    expect((await get('imsi-001010000000699')).status).to.equal(404);
  });

  it('the `gba-sim subscriber` CLI: add, get, list, import, delete', async () => {
    const dir = tempDir();
    const common = ['--url', base, '--token', ADMIN];
    const add = await runCli([
      'subscriber',
      'add',
      ...common,
      '--imsi',
      '001010000000701',
      '--k',
      S[9]!.k,
      '--opc',
      S[9]!.opc,
      '--amf',
      '8001',
    ]);
    expect(add.code, add.stderr).to.equal(0);
    expect(JSON.parse(add.stdout)).to.include({ imsi: '001010000000701', amf: '8001' });
    const get = await runCli(['subscriber', 'get', ...common, '--imsi', '001010000000701', '--include-secrets']);
    expect(JSON.parse(get.stdout)).to.include({ k: S[9]!.k, opc: S[9]!.opc });
    const csv = join(dir, 'subs.csv');
    writeFileSync(csv, `imsi,k,opc\n001010000000702,${S[10]!.k},${S[10]!.opc}\n`);
    const imp = await runCli(['subscriber', 'import', ...common, csv]);
    expect(JSON.parse(imp.stdout)).to.deep.equal({ imported: 1, created: 1, replaced: 0 });
    const list = await runCli(['subscriber', 'list', ...common, '--after', '001010000000700', '--limit', '2']);
    expect((JSON.parse(list.stdout) as { items: Array<{ imsi: string }> }).items.map((i) => i.imsi)).to.deep.equal([
      '001010000000701',
      '001010000000702',
    ]);
    expect((await runCli(['subscriber', 'delete', ...common, '--imsi', '001010000000701'])).code).to.equal(0);
    const missing = await runCli(['subscriber', 'get', ...common, '--imsi', '001010000000701']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('404');
    const bad = await runCli(['subscriber', 'add', ...common, '--imsi', 'x', '--k', 'abc']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim().split('\n').length).to.be.at.least(2);
  });
});
