/**
 * `gba-sim conform bsf` (issue 17, C8): our own BSF (`gba-sim up`, real processes) passes every case; a
 * deliberately broken BSF proves each case can fail, and that one defect fails only the case about it.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance, CATALOGUE, type ConformReport, type ConformTarget } from '../../conform/bsf-cases.js';
import { BrokenBsf, BROKEN_DOMAIN, ZN_TOKEN, type Defects } from '../support/broken-bsf.js';
import { runUp, type UpProcess } from '../support/up.js';
import { runCli } from '../support/cli.js';
import { freePortRange } from '../support/ports.js';
import { newImsi, provision } from '../support/network.js';
import { tempDir } from '../support/nf.js';
import { milenageSets, hex } from '../support/vectors.js';
import { impiFromImsi } from '../../shared/identifiers.js';

const SET = milenageSets()[3]!;
const IDS = CATALOGUE.map((c) => c.id);
const failedIds = (r: ConformReport) => r.cases.filter((c) => c.result === 'fail').map((c) => c.id);

describe('conform bsf: against our own BSF (gba-sim up, real processes)', function () {
  this.timeout(120_000);
  let up: UpProcess | undefined;
  after(async () => {
    await up?.stop('SIGTERM');
  });

  it('passes every case (ZN with a NAF entry added through up --config); --json is the C8 shape, --junit has no failure', async () => {
    const dir = tempDir('gba-sim-conform-');
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        bsf: { nafs: [{ name: 'lab', token: 'lab-zn-token-0123456789abcdef', fqdns: [{ fqdn: 'naf.lab.example' }] }] },
      }),
    );
    up = await runUp(['--base-port', String(await freePortRange(10)), '--store', 'memory', '--config', config], {
      env: { REDIS_URL: '', GBA_STORE: '' },
      timeoutMs: 60_000,
    });
    const e = up.endpoints;
    const imsi = newImsi();
    await provision(e.hss.provisioning, e.hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const json = join(dir, 'report.json'),
      junit = join(dir, 'junit.xml');
    const r = await runCli(
      [
        'conform',
        'bsf',
        '--ub',
        e.bsf.ub,
        '--imsi',
        imsi,
        '--k',
        SET.k,
        '--opc',
        SET.opc,
        '--zn',
        e.bsf.zn,
        '--zn-token',
        'lab-zn-token-0123456789abcdef',
        '--naf-fqdn',
        'naf.lab.example',
        '--json',
        json,
        '--junit',
        junit,
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    for (const id of IDS)
      expect(
        lines.filter((l) => l.startsWith(`${id} pass `)),
        `${id} line\n${r.stdout}`,
      ).to.have.length(1);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown> & {
      cases: Array<Record<string, unknown>>;
    };
    expect(Object.keys(rep).sort()).to.deep.equal(['cases', 'failed', 'passed', 'skipped', 'target']);
    expect(rep).to.include({ target: e.bsf.ub, passed: IDS.length, failed: 0, skipped: 0 });
    expect(rep.cases.map((c) => c.id)).to.deep.equal(IDS);
    for (const c of rep.cases) {
      expect(Object.keys(c).sort()).to.deep.equal(['clause', 'detail', 'id', 'result', 'title']);
      expect(c.clause).to.be.a('string').and.not.equal('');
    }
    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)).to.have.length(IDS.length);
    expect(xml).to.not.contain('<failure');

    // Without --zn the ZN cases are skipped and the run still passes.
    const noZn = await runCli(['conform', 'bsf', '--ub', e.bsf.ub, '--imsi', imsi, '--k', SET.k, '--opc', SET.opc], {
      timeoutMs: 60_000,
    });
    expect(noZn.code, noZn.stdout + noZn.stderr).to.equal(0);
    expect(noZn.stdout)
      .to.match(/^ZN-01 skip .*--zn/m)
      .and.match(/^ZN-02 skip /m);
  });

  it('bad arguments exit 2 with one line per problem', async () => {
    const r = await runCli([
      'conform',
      'bsf',
      '--ub',
      'ftp://x',
      '--imsi',
      '12',
      '--k',
      'zz',
      '--opc',
      SET.opc,
      '--sqn-ms',
      'xyz',
      '--zn',
      'http://z/',
    ]);
    expect(r.code).to.equal(2);
    for (const p of ['--ub', '--imsi', '--k', '--sqn-ms', '--zn-token', '--naf-fqdn']) expect(r.stderr).to.contain(p);
  });
});

describe('conform bsf: against a deliberately broken BSF (each case can fail, independently)', function () {
  this.timeout(60_000);
  const imsi = '001010000012345';
  const impi = impiFromImsi(imsi, 2);
  const bsf = new BrokenBsf(impi, hex(SET.k), hex(SET.opc));
  let target: ConformTarget;
  before(async () => {
    const u = await bsf.start();
    target = {
      ub: u.ub,
      impi,
      imsi,
      realm: BROKEN_DOMAIN,
      keys: { algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) },
      sqnMs: 0,
      zn: { url: u.zn, token: ZN_TOKEN, nafFqdn: 'naf.lab.example' },
    };
  });
  after(() => bsf.stop());

  const run = async (defects: Defects) => {
    bsf.defects = defects;
    return runConformance(target);
  };

  it('a BSF without defects passes every case (the broken BSF itself is right when no switch is on)', async () => {
    const r = await run({});
    expect(failedIds(r), JSON.stringify(r.cases.filter((c) => c.result !== 'pass'))).to.deep.equal([]);
    expect(r.passed).to.equal(IDS.length);
  });

  // Each defect fails exactly these cases; everything else still passes.
  const single: Array<[keyof Defects, string[], RegExp]> = [
    ['realmFromHost', ['UB-01'], /realm "127\.0\.0\.1:\d+", expected the BSF realm .*Host header echoed/],
    ['qopAuthOnly', ['UB-01'], /qop "auth", expected it to offer auth-int/],
    ['wrongNamespace', ['UB-03'], /namespace "urn:example:not-gba", expected uri:3gpp-gba/],
    ['btidNotRand', ['UB-04'], /is not base64\(RAND\)/],
    ['lifetimePast', ['UB-05'], /is not in the future/],
    ['wrongRspauth', ['UB-06'], /rspauth [0-9a-f]{32} does not verify: expected [0-9a-f]{32}/],
    ['acceptWrongResponse', ['UB-07'], /a wrong digest response: expected a refusal, got 200/],
    ['acceptReplay', ['UB-08'], /the replayed final request: expected a refusal, got 200/],
    ['refuseResync', ['UB-09'], /expected 401 .* got 403/],
    ['acceptEmptyPassword', ['UB-10'], /the MAC failure report: expected a refusal, got 200/],
    ['unknownImpi500', ['UB-11'], /expected 4xx, got 500/],
    ['error500OnMalformed', ['UB-12'], /scheme only: expected 4xx, got 500/],
    ['sameRand', ['UB-13'], /RAND [0-9a-f]{32} repeated; B-TID .* repeated/],
    ['wrongKsNaf', ['ZN-01'], /meKeyMaterial "[0-9a-f]{64}", expected Ks_NAF/],
    ['znUnknown200', ['ZN-02'], /expected 404, got 200/],
  ];
  for (const [defect, ids, evidence] of single) {
    it(`${defect}: fails ${ids.join(', ')} only, naming the defect`, async () => {
      const r = await run({ [defect]: true });
      expect(failedIds(r), JSON.stringify(r.cases.filter((c) => c.result === 'fail'))).to.deep.equal(ids);
      for (const id of ids) expect(r.cases.find((c) => c.id === id)!.detail).to.match(evidence);
    });
  }

  it('no Authentication-Info: UB-06 is skip with a note, nothing fails', async () => {
    const r = await run({ noAuthInfo: true });
    expect(failedIds(r)).to.deep.equal([]);
    const c = r.cases.find((x) => x.id === 'UB-06')!;
    expect(c.result).to.equal('skip');
    expect(c.detail).to.match(/no Authentication-Info.*RFC 2617 §3\.2\.3/);
  });

  it('a 16-octet-only XRES (as fkgi/bag): every case that needs a 200 fails, saying the RES was refused', async () => {
    const r = await run({ xres16: true });
    expect(failedIds(r)).to.deep.equal(['UB-03', 'UB-04', 'UB-05', 'UB-06', 'UB-08', 'UB-09', 'UB-13', 'ZN-01']);
    expect(r.cases.find((c) => c.id === 'UB-03')!.detail).to.match(/RES of 8 octets.*got 401.*did not accept the RES/);
  });

  it('a wrong MAC-A fails UB-02 with the evidence (and the cases that need the USIM to accept a challenge)', async () => {
    const r = await run({ badMac: true });
    expect(failedIds(r)).to.deep.equal([
      'UB-02',
      'UB-03',
      'UB-04',
      'UB-05',
      'UB-06',
      'UB-08',
      'UB-09',
      'UB-13',
      'ZN-01',
    ]);
    expect(r.cases.find((c) => c.id === 'UB-02')!.detail).to.match(/MAC-A in AUTN [0-9a-f]{32} does not verify/);
  });

  it('several defects at once fail the union of their cases (fkgi/bag-like: realm from Host, B-TID not base64(RAND))', async () => {
    const r = await run({ realmFromHost: true, btidNotRand: true, noAuthInfo: true, sameRand: true });
    expect(failedIds(r)).to.deep.equal(['UB-01', 'UB-04', 'UB-13']);
  });

  it('the CLI against the broken BSF exits 1; --junit has one <failure> per failed case; every line names its case', async () => {
    bsf.defects = { wrongRspauth: true, acceptReplay: true };
    const dir = tempDir('gba-sim-conform-');
    const junit = join(dir, 'junit.xml'),
      json = join(dir, 'r.json');
    const r = await runCli([
      'conform',
      'bsf',
      '--ub',
      target.ub,
      '--imsi',
      imsi,
      '--k',
      SET.k,
      '--opc',
      SET.opc,
      '--junit',
      junit,
      '--json',
      json,
    ]);
    expect(r.code, r.stderr).to.equal(1);
    const caseLines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => /^(UB|ZN)-\d\d /.test(l));
    expect(caseLines).to.have.length(IDS.length);
    expect(r.stdout)
      .to.match(/^UB-06 FAIL .*rspauth/m)
      .and.match(/^UB-08 FAIL .*replayed/m)
      .and.match(/2 failed/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<failure /g)).to.have.length(2);
    expect(xml).to.match(/failures="2"/);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as {
      failed: number;
      cases: Array<{ result: string; detail: string }>;
    };
    expect(rep.failed).to.equal(2);
    for (const c of rep.cases.filter((x) => x.result === 'fail')) expect(c.detail).to.not.equal('');
  });
});
