/**
 * `gba-sim up --demo` (what `npm start` runs) as a user runs it in a terminal: the demo device registers, the
 * "try it yourself" line names a second subscriber, and Ctrl-C (SIGINT to the whole process group, as a
 * terminal sends it) stops the demo device first and quietly, then the network.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { CLI } from '../support/cli.js';
import { tempDir } from '../support/nf.js';
import { freePortRange } from '../support/ports.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const DEMO_IMSI = '001010123456789';

describe('gba-sim up --demo (real processes)', function () {
  this.timeout(120_000);

  it('suggests a second subscriber, claims no SNI over DTLS, and stops quietly on Ctrl-C', async () => {
    const dir = tempDir('gba-sim-demo-');
    const base = await freePortRange(12);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'up',
        '--demo',
        '--state-dir',
        dir,
        '--base-port',
        String(base),
        '--store',
        'redis',
        '--redis-url',
        await testRedisUrl(),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, GBA_STORE_PREFIX: uniquePrefix('demo') },
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!out.includes('The network keeps running')) {
        if (child.exitCode !== null) throw new Error(`gba-sim up exited ${child.exitCode}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`the demo did not finish:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).to.match(/registered as /);
      const connect = out.split('\n').find((l) => l.includes('LwM2M → CoAP over'))!;
      expect(connect, out).to.be.a('string');
      if (connect.includes('DTLS-PSK')) expect(connect).to.not.contain('SNI');
      const tryLine = out.split('\n').find((l) => l.includes('device run'))!;
      expect(tryLine, out).to.be.a('string');
      const imsi = /--imsi (\d+)/.exec(tryLine)?.[1];
      expect(imsi).to.match(/^\d{15}$/);
      expect(imsi).to.not.equal(DEMO_IMSI);
      expect(out).to.contain(`subscriber IMSI ${imsi} provisioned`);

      const before = out.length;
      process.kill(-child.pid!, 'SIGINT'); // the terminal's Ctrl-C: every process of the group
      expect(await exited).to.equal(0);
      const after = out.slice(before);
      expect(after).to.contain('stopping (SIGINT)');
      expect(after).to.contain('stopped');
      expect(after, after).to.not.match(/device agent stopped|error|ECONNREFUSED|connection_lost|retry/i);
    } finally {
      if (child.exitCode === null) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
