/**
 * `gba-sim bench --scale` (issue 16) with a small --sessions, on its own redis-server and on its own 3-master
 * Redis Cluster: it fills the sessions, reports bytes per session, Zn/PSK p99 against the empty store and the
 * Redis commands per bootstrap, and stops everything it started.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/nf.js';
import type { ScaleResults } from '../../bench/sessions.js';

describe('gba-sim bench --scale (real processes)', function () {
  this.timeout(300_000);

  for (const cluster of [false, true]) {
    it(`--sessions 2000${cluster ? ' --redis-cluster' : ''}: sessions filled, bytes per session, p99 ratio and commands per bootstrap reported`, async () => {
      const json = join(tempDir('gba-sim-scale-'), 'scale.json');
      const r = await runCli(
        [
          'bench',
          '--scale',
          '--sessions',
          '2000',
          ...(cluster ? ['--redis-cluster'] : []),
          '--json',
          json,
          '--no-progress',
        ],
        { timeoutMs: 280_000 },
      );
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('bytes per session').and.contain('p99 ratio');
      const s = JSON.parse(readFileSync(json, 'utf8')) as ScaleResults;
      expect(s.sessions).to.equal(2000);
      expect(s.masters).to.equal(cluster ? 3 : 1);
      // A session is a key of about 60 octets and a value of about 90: a few hundred bytes with Redis's overhead.
      expect(s.bytes_per_session).to.be.within(100, 1000);
      expect(s.bootstrap.commands_per_bootstrap).to.be.within(5, 100);
      expect(s.bootstrap.commands).to.have.property('getdel'); // the challenge is consumed once
      expect(s.empty.zn.commands_per_request).to.be.within(0.9, 3);
      expect(s.full.zn.p99_ms).to.be.greaterThan(0);
      expect(s.ratio.zn_p99).to.be.greaterThan(0);
      expect(s.lwm2m.bytes_per_registration).to.be.within(200, 5000);
    });
  }
});
