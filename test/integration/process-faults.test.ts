/**
 * Issue 18 finding 7 in a real NF process (hss-mock, started as users start it): the fault handlers come from the
 * NF's own runtime (shared/nf/runtime.ts); a preloaded script (test/support/fixtures/fault-trigger.mjs, loaded
 * with NODE_OPTIONS=--import) only causes the faults, on a signal, after the NF is ready.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { spawnNf, type NfProcess } from '../support/nf.js';

const TRIGGER = fileURLToPath(new URL('../support/fixtures/fault-trigger.mjs', import.meta.url));
const ADMIN = 'admin-token-0123456789abcdef';
const ZH = 'zh-token-0123456789abcdef';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('NF process faults (issue 18 finding 7, real process)', function () {
  this.timeout(30_000);
  let nf: NfProcess | undefined;
  const start = () =>
    spawnNf(
      'hss-mock',
      { store: { kind: 'memory' }, hss: { port: 0, adminToken: ADMIN, zhTokens: [ZH] } },
      { env: { NODE_OPTIONS: `--import=${TRIGGER}` } },
    );
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && nf) console.log(nf.output.join('\n'));
    await nf?.stop();
    nf = undefined;
  });

  it('an unhandled rejection is logged (no secrets) and counted in /metrics; the NF keeps answering /healthz', async () => {
    nf = await start();
    const base = nf.listeners.hss!.replace(/\/$/, '');
    const logged = () => nf!.output.filter((l) => l.includes('process.unhandled-rejection')).length;
    for (let i = 1; i <= 3; i++) {
      nf.child.kill('SIGUSR2');
      const end = Date.now() + 5000;
      while (logged() < i && Date.now() < end) await sleep(50);
    }
    expect(nf.child.exitCode, 'still running').to.equal(null);
    const h = await fetch(`${base}/healthz`);
    expect(h.status).to.equal(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).to.match(/^process_unhandled_errors_total\{kind="unhandledRejection"\} 3$/m);
    expect(logged()).to.equal(3);
    expect(nf.output.join('\n')).to.not.include('s3cret-pw').and.not.include('abcdefghijklmnop0123');
  });

  it('an uncaught exception is logged (no secrets) and the NF exits non-zero for its supervisor to restart it', async () => {
    nf = await start();
    const exited = new Promise<number | null>((r) => nf!.child.once('exit', (code) => r(code)));
    nf.child.kill('SIGWINCH');
    const code = await exited;
    expect(code).to.equal(70);
    expect(nf.output.some((l) => l.includes('process.uncaught-exception'))).to.equal(true);
    expect(nf.output.join('\n')).to.not.include('s3cret-pw');
  });
});
