import { expect } from 'chai';
import { runCli, runCliMany, type CliResult } from '../support/cli.js';
import { milenageSets, loadVector } from '../support/vectors.js';

const s1 = milenageSets()[0]!;
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
const HEX = /^[0-9a-f]+$/;

/** Changes a hex argument's length by one octet in either direction. */
const longer = (h: string) => h + '00';
const shorter = (h: string) => h.slice(0, -2);

describe('gba-sim crypto (contract C4)', function () {
  this.timeout(60000);

  it('milenage prints every output of TS 35.208 set 1 as flat lower-case hex JSON', async () => {
    const r = await runCli([
      'crypto',
      'milenage',
      '--k',
      s1.k,
      '--opc',
      s1.opc.toUpperCase(),
      '--rand',
      s1.rand,
      '--sqn',
      s1.sqn,
      '--amf',
      s1.amf,
    ]);
    expect(r.code).to.equal(0);
    expect(json(r.stdout)).to.deep.equal({
      opc: s1.opc,
      mac_a: s1.mac_a,
      mac_s: s1.mac_s,
      res: s1.res,
      ck: s1.ck,
      ik: s1.ik,
      ak: s1.ak,
      ak_star: s1.ak_star,
      autn: s1.autn,
    });
  });

  it('milenage from OP for all 20 sets', async function () {
    this.timeout(180_000);
    const sets = milenageSets();
    const runs = await runCliMany(
      sets.map((v) => [
        'crypto',
        'milenage',
        '--k',
        v.k,
        '--op',
        v.op,
        '--rand',
        v.rand,
        '--sqn',
        v.sqn,
        '--amf',
        v.amf,
      ]),
    );
    for (const [i, r] of runs.entries()) {
      const v = sets[i]!;
      expect(r.code, `set ${v.set}`).to.equal(0);
      expect(json(r.stdout), `set ${v.set}`).to.deep.equal({
        opc: v.opc,
        mac_a: v.mac_a,
        mac_s: v.mac_s,
        res: v.res,
        ck: v.ck,
        ik: v.ik,
        ak: v.ak,
        ak_star: v.ak_star,
        autn: v.autn,
      });
    }
  });

  it('autn prints autn, ak, mac_a', async () => {
    const r = await runCli([
      'crypto',
      'autn',
      '--k',
      s1.k,
      '--op',
      s1.op,
      '--rand',
      s1.rand,
      '--sqn',
      s1.sqn,
      '--amf',
      s1.amf,
    ]);
    expect(json(r.stdout)).to.deep.equal({ autn: s1.autn, ak: s1.ak, mac_a: s1.mac_a });
  });

  it('auts builds AUTS from SQN_MS and opens it again', async () => {
    const built = await runCli([
      'crypto',
      'auts',
      '--k',
      s1.k,
      '--opc',
      s1.opc,
      '--rand',
      s1.rand,
      '--sqn-ms',
      'ff9bb4d0b608',
    ]);
    expect(json(built.stdout)).to.deep.equal({
      auts: 'ba853f3c12330010c1da38a75a31',
      ak_star: '451e8beca43b',
      mac_s: '0010c1da38a75a31',
    });
    const opened = await runCli([
      'crypto',
      'auts',
      '--k',
      s1.k,
      '--opc',
      s1.opc,
      '--rand',
      s1.rand,
      '--auts',
      'ba853f3c12330010c1da38a75a31',
    ]);
    expect(json(opened.stdout)).to.deep.equal({ sqn_ms: 'ff9bb4d0b608', mac_s_ok: true });
    const bad = await runCli([
      'crypto',
      'auts',
      '--k',
      s1.k,
      '--opc',
      s1.opc,
      '--rand',
      s1.rand,
      '--auts',
      'ba853f3c12330010c1da38a75a30',
    ]);
    expect(bad.code).to.equal(0);
    expect(json(bad.stdout)).to.deep.equal({ sqn_ms: 'ff9bb4d0b608', mac_s_ok: false });
  });

  it('--algorithm xor on milenage, autn and auts', async () => {
    const k = '000102030405060708090a0b0c0d0e0f';
    const r = await runCli([
      'crypto',
      'milenage',
      '--algorithm',
      'xor',
      '--k',
      k,
      '--rand',
      '00'.repeat(16),
      '--sqn',
      '000000000001',
      '--amf',
      '8000',
    ]);
    expect(r.code).to.equal(0);
    const o = json(r.stdout);
    expect(o).to.include({
      res: k,
      ck: '0102030405060708090a0b0c0d0e0f00',
      ik: '02030405060708090a0b0c0d0e0f0001',
      ak: '030405060708',
      mac_a: '0001020304048607',
    });
    const r8 = await runCli([
      'crypto',
      'autn',
      '--algorithm',
      'xor',
      '--res-length',
      '8',
      '--k',
      k,
      '--rand',
      '00'.repeat(16),
      '--sqn',
      '000000000001',
      '--amf',
      '8000',
    ]);
    expect(json(r8.stdout)).to.deep.equal({
      autn: '030405060709' + '8000' + '0001020304048607',
      ak: '030405060708',
      mac_a: '0001020304048607',
    });
    const auts = await runCli([
      'crypto',
      'auts',
      '--algorithm',
      'xor',
      '--k',
      k,
      '--rand',
      '00'.repeat(16),
      '--sqn-ms',
      '000000000020',
    ]);
    const back = await runCli([
      'crypto',
      'auts',
      '--algorithm',
      'xor',
      '--k',
      k,
      '--rand',
      '00'.repeat(16),
      '--auts',
      json(auts.stdout).auts as string,
    ]);
    expect(json(back.stdout)).to.deep.equal({ sqn_ms: '000000000020', mac_s_ok: true });
  });

  it('ks-naf for the TS 33.220 examples, any 5-octet Ua id accepted and named on stderr', async () => {
    const kdf = loadVector<{ ks_naf: Array<Record<string, string>> }>('ts33220-kdf-examples.json');
    for (const v of kdf.ks_naf) {
      const r = await runCli([
        'crypto',
        'ks-naf',
        '--ck',
        v.ck!,
        '--ik',
        v.ik!,
        '--rand',
        v.rand!,
        '--impi',
        v.impi!,
        '--naf-fqdn',
        v.naf_fqdn!,
        '--ua-id',
        v.ua_id!,
      ]);
      expect(json(r.stdout)).to.deep.equal({ ks_naf: v.ks_naf, ks_ext_naf: v.ks_ext_naf, ks_int_naf: v.ks_int_naf });
      // --ks = CK ‖ IK (what `device bootstrap --show-keys` prints) gives the same keys.
      const viaKs = await runCli([
        'crypto',
        'ks-naf',
        '--ks',
        `${v.ck!}${v.ik!}`,
        '--rand',
        v.rand!,
        '--impi',
        v.impi!,
        '--naf-fqdn',
        v.naf_fqdn!,
        '--ua-id',
        v.ua_id!,
      ]);
      expect(json(viaKs.stdout)).to.deep.equal({
        ks_naf: v.ks_naf,
        ks_ext_naf: v.ks_ext_naf,
        ks_int_naf: v.ks_int_naf,
      });
    }
    const both = await runCli([
      'crypto',
      'ks-naf',
      '--ks',
      `${s1.ck}${s1.ik}`,
      '--ck',
      s1.ck,
      '--ik',
      s1.ik,
      '--rand',
      s1.rand,
      '--impi',
      'x',
      '--naf-fqdn',
      'y',
      '--ua-id',
      '0100000002',
    ]);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.contain('--ks');
    const odd = await runCli([
      'crypto',
      'ks-naf',
      '--ck',
      s1.ck,
      '--ik',
      s1.ik,
      '--rand',
      s1.rand,
      '--impi',
      'x',
      '--naf-fqdn',
      'y',
      '--ua-id',
      'ff00abcdef',
    ]);
    expect(odd.code).to.equal(0);
    expect(odd.stderr).to.match(/private/);
    expect(json(odd.stdout).ks_naf).to.match(/^[0-9a-f]{64}$/);
  });

  it('digest reproduces the worked Ub example (AKAv1 and AKAv2)', async () => {
    const ex = loadVector<Record<string, string> & { akav2: Record<string, string> }>('ub-digest-example.json');
    const base = [
      '--username',
      ex.impi!,
      '--realm',
      ex.realm!,
      '--nonce',
      ex.nonce!,
      '--nc',
      ex.nc!,
      '--cnonce',
      ex.cnonce!,
      '--qop',
      'auth-int',
      '--method',
      'GET',
      '--uri',
      '/',
    ];
    const body = Buffer.from(ex.response_body_for_rspauth!).toString('hex');
    const r = await runCli(['crypto', 'digest', ...base, '--res', ex.res!, '--response-body-hex', body]);
    expect(json(r.stdout)).to.deep.equal({
      ha1: '18125006e2e00ff42c55d3caf6cff47a',
      ha2: '15df3e1aa09254633226c3d41891b148',
      response: ex.response_auth_int,
      rspauth: ex.rspauth_auth_int,
    });
    const v2 = await runCli([
      'crypto',
      'digest',
      ...base,
      '--res',
      ex.res!,
      '--algorithm',
      'AKAv2-MD5',
      '--ck',
      s1.ck,
      '--ik',
      s1.ik,
    ]);
    expect(json(v2.stdout)).to.include({
      ha1: '4292f6dd6ac59dafaac7c37edf165aac',
      response: ex.akav2.response_auth_int,
    });
  });

  describe('every hex input wrong by one octet, or not hex, exits 2 with one line naming it', () => {
    const milenageArgs: Record<string, string> = { k: s1.k, opc: s1.opc, rand: s1.rand, sqn: s1.sqn, amf: s1.amf };
    const cases: Array<{ cmd: string[]; args: Record<string, string> }> = [
      { cmd: ['crypto', 'milenage'], args: milenageArgs },
      { cmd: ['crypto', 'autn'], args: milenageArgs },
      { cmd: ['crypto', 'auts'], args: { k: s1.k, opc: s1.opc, rand: s1.rand, 'sqn-ms': 'ff9bb4d0b608' } },
      { cmd: ['crypto', 'auts'], args: { k: s1.k, opc: s1.opc, rand: s1.rand, auts: 'ba853f3c12330010c1da38a75a31' } },
      {
        cmd: ['crypto', 'ks-naf'],
        args: { ck: s1.ck, ik: s1.ik, rand: s1.rand, impi: 'x', 'naf-fqdn': 'y', 'ua-id': '0100000002' },
      },
    ];
    const argv = (a: Record<string, string>) =>
      Object.entries(a)
        .filter(([, v]) => v !== undefined)
        .flatMap(([k, v]) => [`--${k}`, v]);
    const runs: Array<{ title: string; name: string; args: string[]; result?: Promise<CliResult> }> = [];
    for (const c of cases) {
      for (const [name, value] of Object.entries(c.args)) {
        if (value === undefined || !HEX.test(value) || name === 'impi' || name === 'naf-fqdn') continue;
        const variants = [
          ['one octet longer', longer(value)],
          ['one octet shorter', shorter(value)],
          ['not hex', value.slice(0, -1) + 'g'],
        ] as const;
        for (const [why, bad] of c.cmd[1] === 'milenage'
          ? [...variants, ['odd length', value.slice(0, -1)] as const]
          : variants) {
          runs.push({
            title: `${c.cmd[1]} --${name} ${why}`,
            name,
            args: [...c.cmd, ...argv({ ...c.args, [name]: bad })],
          });
        }
      }
    }
    // The processes run 8 at a time in one hook; each case is still its own test.
    before(async function () {
      this.timeout(300_000); // ~70 processes; the machine may be busy
      const results = await runCliMany(runs.map((r) => r.args));
      runs.forEach((r, i) => {
        r.result = Promise.resolve(results[i]!);
      });
    });
    for (const run of runs) {
      it(run.title, async () => {
        const r = await run.result!;
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal('');
        const lines = r.stderr.trim().split('\n');
        expect(lines).to.have.length(1);
        expect(lines[0]).to.include(`--${run.name}`);
      });
    }
  });

  it('reports every problem at once, one line each', async () => {
    const r = await runCli([
      'crypto',
      'milenage',
      '--k',
      'abc',
      '--opc',
      s1.opc,
      '--rand',
      'zz',
      '--sqn',
      s1.sqn,
      '--amf',
      '0',
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(3);
  });

  it('unknown commands and options exit 2; --help exits 0', async () => {
    expect((await runCli(['crypto', 'nope'])).code).to.equal(2);
    expect((await runCli(['crypto', 'milenage', '--bogus'])).code).to.equal(2);
    const help = await runCli(['crypto', 'ks-naf', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('--ua-id');
  });
});
