/** Bounded, rotated log files of `gba-sim up` (issue 18 finding 11). */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingLog } from '../../../bin/rotating-log.js';
import { loadConfig } from '../../../shared/config.js';

const dir = () => mkdtempSync(join(tmpdir(), 'rotlog-'));
const line = (i: number) => {
  const head = `{"n":${i},"msg":"`;
  return `${head}${'x'.repeat(100 - head.length - 3)}"}\n`;
}; // 100 octets

describe('RotatingLog', () => {
  it('keeps every file under maxBytes, rotates into .1 … .keep, drops the oldest, never splits a line', () => {
    const d = dir();
    const f = join(d, 'bsf.log');
    const log = new RotatingLog(f, { maxBytes: 1000, keep: 3 });
    for (let i = 0; i < 100; i++) log.write(line(i));
    log.close();
    expect(readdirSync(d).sort()).to.deep.equal(['bsf.log', 'bsf.log.1', 'bsf.log.2', 'bsf.log.3']);
    for (const n of readdirSync(d)) {
      expect(statSync(join(d, n)).size, n).to.be.at.most(1000);
      expect(statSync(join(d, n)).mode & 0o777, n).to.equal(0o600);
      expect(
        readFileSync(join(d, n), 'utf8')
          .split('\n')
          .slice(0, -1)
          .every((l) => JSON.parse(l) !== undefined),
        n,
      ).to.equal(true);
    }
    // Newest in bsf.log, then .1, .2, .3; 10 lines a file, so lines 60 … 99 survive.
    const first = (n: string) => (JSON.parse(readFileSync(join(d, n), 'utf8').split('\n')[0]!) as { n: number }).n;
    expect([first('bsf.log.3'), first('bsf.log.2'), first('bsf.log.1'), first('bsf.log')]).to.deep.equal([
      60, 70, 80, 90,
    ]);
  });

  it('continues an existing file (size counted), chmods it 0600, and cuts a line longer than the cap', () => {
    const d = dir();
    const f = join(d, 'naf.log');
    writeFileSync(f, 'x'.repeat(950), { mode: 0o644 });
    const log = new RotatingLog(f, { maxBytes: 1000, keep: 1 });
    expect(statSync(f).mode & 0o777).to.equal(0o600);
    log.write(line(1)); // would pass 1000: rotates first
    expect(statSync(`${f}.1`).size).to.equal(950);
    log.write(`${'y'.repeat(5000)}\n`);
    log.close();
    expect(statSync(f).size).to.be.at.most(1000);
    expect(readFileSync(f, 'utf8').endsWith('…\n')).to.equal(true);
  });

  it('keep 0 drops old lines; config defaults are 10 MiB and 5 files', () => {
    const d = dir();
    const log = new RotatingLog(join(d, 'x.log'), { maxBytes: 1000, keep: 0 });
    for (let i = 0; i < 30; i++) log.write(line(i));
    log.close();
    expect(readdirSync(d)).to.deep.equal(['x.log']);
    const c = loadConfig({ env: {} });
    expect(c.log).to.include({ maxFileBytes: 10 * 1024 * 1024, keepFiles: 5 });
    expect(loadConfig({ env: {}, flags: { 'log.maxFileBytes': 4096, 'log.keepFiles': 2 } }).log).to.include({
      maxFileBytes: 4096,
      keepFiles: 2,
    });
  });
});
