/**
 * `gba-sim load` (issue 17, C8): a UE fleet from a `subscriber import` file against our BSF (`gba-sim up`,
 * real processes), open loop at a rate; outcomes counted by kind; each subscriber's SQN kept right.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runUp, type UpProcess } from '../support/up.js';
import { runCli } from '../support/cli.js';
import { freePortRange } from '../support/ports.js';
import { newImsi } from '../support/network.js';
import { tempDir } from '../support/nf.js';
import { runEngine, emptyDelta, mergeDelta } from '../../conform/load/engine.js';
import { impiFromImsi } from '../../shared/identifiers.js';

describe('gba-sim load: a UE fleet against gba-sim up (real processes)', function () {
  this.timeout(120_000);
  let up: UpProcess | undefined;
  let dir: string;
  const subs = Array.from({ length: 8 }, () => ({
    imsi: newImsi(),
    k: randomBytes(16).toString('hex'),
    opc: randomBytes(16).toString('hex'),
  }));
  before(async () => {
    dir = tempDir('gba-sim-load-');
    up = await runUp(['--base-port', String(await freePortRange(10)), '--store', 'memory'], {
      env: { REDIS_URL: '', GBA_STORE: '' },
      timeoutMs: 60_000,
    });
    writeFileSync(join(dir, 'fleet.csv'), `imsi,k,opc\n${subs.map((s) => `${s.imsi},${s.k},${s.opc}`).join('\n')}\n`);
    const imp = await runCli([
      'subscriber',
      'import',
      join(dir, 'fleet.csv'),
      '--endpoints',
      join(up.dir, 'endpoints.json'),
    ]);
    expect(imp.code, imp.stderr).to.equal(0);
  });
  after(async () => {
    await up?.stop('SIGTERM');
  });

  it("--rate starts that many bootstraps per second (open loop); every one ends in 200 with each USIM's SQN kept; C8 report; progress line", async () => {
    const json = join(dir, 'load.json');
    const r = await runCli(
      [
        'load',
        '--ub',
        up!.endpoints.bsf.ub,
        '--subscribers',
        join(dir, 'fleet.csv'),
        '--duration',
        '3',
        '--rate',
        '20',
        '--workers',
        '2',
        '--json',
        json,
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).to.equal(0);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number> & { outcomes: Record<string, number> };
    for (const k of ['attempted', 'succeeded', 'failed', 'per_s', 'p50_ms', 'p99_ms', 'outcomes'])
      expect(rep, k).to.have.property(k);
    // 3 s × 20/s, open loop: started, or skipped because all 8 subscribers were in flight on a slow machine.
    expect(rep.attempted + rep.not_started!).to.be.within(56, 60);
    expect(rep.attempted).to.be.greaterThan(20);
    expect(rep.failed, JSON.stringify(rep)).to.equal(0);
    expect(rep.succeeded).to.equal(rep.attempted);
    expect(rep.outcomes).to.deep.equal({ ok: rep.attempted });
    expect(rep.resyncs, 'each subscriber keeps its own SQN_MS across ~15 bootstraps').to.equal(0);
    expect(rep.p99_ms).to.be.greaterThan(0).and.at.least(rep.p50_ms);
    expect(JSON.parse(r.stdout)).to.deep.equal(rep);
    expect(r.stderr).to.match(/^load \d+s: \d+ attempted, \d+ ok, 0 errors, [\d.]+\/s, p99 [\d.]+ ms$/m);
  });

  it("outcomes by kind: a wrong K is a mac_failure, an unknown IMSI the BSF's 403; failed counts them; still exit 0", async () => {
    const file = join(dir, 'mixed.json');
    writeFileSync(
      file,
      JSON.stringify([
        { imsi: subs[0]!.imsi, k: subs[0]!.k, opc: subs[0]!.opc },
        { imsi: subs[1]!.imsi, k: randomBytes(16).toString('hex'), opc: subs[1]!.opc },
        { imsi: newImsi(), k: subs[2]!.k, opc: subs[2]!.opc },
      ]),
    );
    const r = await runCli(
      [
        'load',
        '--ub',
        up!.endpoints.bsf.ub,
        '--subscribers',
        file,
        '--duration',
        '1.5',
        '--concurrency',
        '3',
        '--workers',
        '1',
        '--no-progress',
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const rep = JSON.parse(r.stdout) as {
      attempted: number;
      succeeded: number;
      failed: number;
      outcomes: Record<string, number>;
    };
    expect(Object.keys(rep.outcomes).sort()).to.deep.equal(['http_403', 'mac_failure', 'ok']);
    expect(rep.failed).to.equal(rep.outcomes.http_403! + rep.outcomes.mac_failure!);
    expect(rep.succeeded).to.equal(rep.outcomes.ok);
    expect(rep.attempted).to.equal(rep.succeeded + rep.failed);
  });

  it('a USIM ahead of the HSS resynchronises once (AUTS) and then bootstraps normally', async () => {
    const s = subs[3]!;
    const total = emptyDelta();
    await runEngine(
      {
        ub: up!.endpoints.bsf.ub,
        durationMs: 800,
        timeoutMs: 5000,
        startAt: Date.now(),
        concurrency: 1,
        subscribers: [
          {
            impi: impiFromImsi(s.imsi, 2),
            realm: up!.endpoints.bsf.realm,
            keys: { algorithm: 'milenage', k: Buffer.from(s.k, 'hex'), opc: Buffer.from(s.opc, 'hex') },
            sqnMs: 2 ** 30,
          },
        ],
      },
      (d) => mergeDelta(total, d),
    );
    expect(total.resyncs).to.equal(1);
    expect(total.failed).to.equal(0);
    expect(total.succeeded).to.be.greaterThan(1);
  });

  it('bad arguments exit 2, one line per problem', async () => {
    const r = await runCli([
      'load',
      '--ub',
      'nope',
      '--duration',
      '0',
      '--rate',
      'x',
      '--subscribers',
      join(dir, 'missing.csv'),
    ]);
    expect(r.code).to.equal(2);
    for (const p of ['--ub', '--duration', '--rate']) expect(r.stderr).to.contain(p);
  });
});
