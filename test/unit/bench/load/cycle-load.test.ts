/** bench/load/cycle-load.ts: a cycle stuck past the window (a DTLS retransmission wait) does not stretch the phase. */
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCycleLoad } from '../../../../bench/load/cycle-load.js';
import { tempDir } from '../../../support/nf.js';

describe('bench: cycle load', () => {
  let dir: string;
  before(() => {
    dir = tempDir('gba-sim-cycle-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns soon after the window closes although one loop is stuck in a 60 s cycle', async function () {
    this.timeout(60_000);
    const mod = join(dir, 'stuck-cycle.mjs');
    // Loop 0 cycles every 5 ms; loop 1's third cycle hangs for 60 s (an unref'd timer: it never holds mocha).
    writeFileSync(
      mod,
      `export async function createCycle() {
      return { cycle: (loop, n) => new Promise((r) => { const t = setTimeout(r, loop === 1 && n === 2 ? 60000 : 5); if (loop === 1 && n === 2) t.unref(); }) };
    }`,
    );
    const started = performance.now();
    const r = await runCycleLoad({
      kind: 'cycle',
      module: pathToFileURL(mod).href,
      params: {},
      concurrency: 2,
      warmupMs: 100,
      durationMs: 400,
      drainMs: 200,
    });
    const elapsedMs = performance.now() - started;
    expect(r.ok).to.be.above(0);
    expect(r.errors).to.equal(0);
    expect(elapsedMs, 'the phase waited for the stuck cycle').to.be.below(20_000);
  });
});
