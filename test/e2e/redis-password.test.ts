/**
 * Issue 18 finding 5: `gba-sim up` against a real redis-server started with `requirepass`. The URL's password
 * works (provisioning and a Ub bootstrap go through that Redis) and appears in none of up's output, logs/* or
 * effective-config.json; endpoints.json and run/config.json keep it, and every file in the state directory is
 * the owner's only (0600).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runUp } from '../support/up.js';
import { freePort, freePortRange } from '../support/ports.js';
import { referenceBootstrap } from '../support/ub-reference-client.js';
import { milenageSets, hex } from '../support/vectors.js';
import { redisAnswers } from '../../shared/store/open.js';

const SET = milenageSets()[1]!;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name)) : [join(dir, d.name)],
  );
}

describe('a Redis URL with a password (real redis-server with requirepass)', function () {
  this.timeout(150_000);
  const password = `pw-${randomBytes(12).toString('hex')}`;
  let redis: ChildProcess;
  let url: string;

  before(async () => {
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password],
      { stdio: 'ignore' },
    );
    url = `redis://:${password}@127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(url))) {
      if (Date.now() > deadline) throw new Error('redis-server with requirepass did not answer');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The password is really required: without it, no PONG.
    expect(await redisAnswers(`redis://127.0.0.1:${port}`)).to.equal(false);
  });
  after(() => {
    redis?.kill('SIGKILL');
  });

  it("works, and the password is in none of up's output, logs/* or effective-config.json; secrets files are 0600", async () => {
    const base = await freePortRange(10);
    const up = await runUp(
      ['--base-port', String(base), '--store', 'redis', '--redis-url', url, '--log-level', 'debug'],
      { timeoutMs: 80_000 },
    );
    try {
      const e = up.endpoints;
      const imsi = `00101${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
      const put = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${e.hss.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ k: SET.k, opc: SET.opc }),
      });
      expect(put.status).to.equal(201);
      const r = await referenceBootstrap(
        e.bsf.ub,
        `${imsi}@ims.mnc001.mcc001.3gppnetwork.org`,
        hex(SET.k),
        hex(SET.opc),
        { realm: e.bsf.realm },
      );
      expect(r.status, r.body).to.equal(200);

      // endpoints.json and run/config.json may keep it (clients and children need it) …
      expect(readFileSync(join(up.dir, 'endpoints.json'), 'utf8')).to.contain(password);
      expect(readFileSync(join(up.dir, 'run', 'config.json'), 'utf8')).to.contain(password);
      // … nothing else does.
      const effective = readFileSync(join(up.dir, 'effective-config.json'), 'utf8');
      expect(effective).to.not.contain(password);
      expect(effective).to.contain('redis://:[redacted]@127.0.0.1:');
      const logs = readdirSync(join(up.dir, 'logs'));
      expect(logs).to.include.members(['hss-mock.log', 'bsf.log', 'naf.log', 'lwm2m.log']);
      for (const f of logs) expect(readFileSync(join(up.dir, 'logs', f), 'utf8'), f).to.not.contain(password);
      expect(readFileSync(join(up.dir, 'logs', 'bsf.log'), 'utf8')).to.contain('Redis at redis://:[redacted]@');
      const out = up.output.join('');
      expect(out).to.contain('store: Redis at redis://:[redacted]@127.0.0.1:');
      expect(out).to.not.contain(password);
      // Every file, except the lab CA's and the NAF's certificates (public by nature; their keys are checked).
      const files = filesUnder(up.dir).filter((f) => !/[/\\]tls[/\\](ca|naf)\.pem$/.test(f));
      expect(files.some((f) => f.endsWith('naf-key.pem'))).to.equal(true);
      for (const f of files) expect(statSync(f).mode & 0o077, `${f} is readable by others`).to.equal(0);
    } finally {
      expect(await up.stop('SIGTERM')).to.equal(0);
    }
    expect(up.output.join('')).to.not.contain(password);
  });
});
