import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { RestartPolicy, Supervisor } from '../../../bin/supervisor.js';

describe('bin/supervisor: restart policy', () => {
  it('backs off exponentially within the window, capped', () => {
    const p = new RestartPolicy({ maxDeaths: 10, windowMs: 60_000, baseDelayMs: 250, maxDelayMs: 1000 });
    const delays = [0, 1, 2, 3, 4].map((i) => p.onDeath(i * 100)).map((d) => (d.restart ? d.delayMs : -1));
    expect(delays).to.deep.equal([250, 500, 1000, 1000, 1000]);
  });

  it('gives up at the 5th death within a minute, not when deaths are spread out', () => {
    const p = new RestartPolicy();
    const burst = [0, 1, 2, 3, 4].map((i) => p.onDeath(i * 1000).restart);
    expect(burst).to.deep.equal([true, true, true, true, false]);
    const q = new RestartPolicy();
    const spread = [0, 1, 2, 3, 4, 5, 6].map((i) => q.onDeath(i * 20_000).restart);
    expect(spread.every(Boolean)).to.equal(true);
  });
});

describe('bin/supervisor: Supervisor', function () {
  this.timeout(20_000);
  it('restarts a killed child as the same command, then gives up when it keeps dying', async () => {
    const pids: number[] = [];
    let gaveUp = false;
    const restarts: number[] = [];
    const sup = new Supervisor({
      name: 'sleeper',
      spawn: () => {
        const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
        pids.push(c.pid!);
        return c;
      },
      policy: { maxDeaths: 3, windowMs: 60_000, baseDelayMs: 10, maxDelayMs: 50 },
      onRestart: (i) => restarts.push(i.restarts),
      onGiveUp: () => {
        gaveUp = true;
      },
    });
    sup.arm();
    const waitFor = async (cond: () => boolean) => {
      const t0 = Date.now();
      while (!cond()) {
        if (Date.now() - t0 > 10_000) throw new Error('timeout');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    for (let n = 1; n <= 2; n++) {
      sup.child.kill('SIGKILL');
      await waitFor(() => pids.length === n + 1);
    }
    expect(restarts).to.deep.equal([1, 2]);
    expect(sup.restarts).to.equal(2);
    sup.child.kill('SIGKILL');
    await waitFor(() => gaveUp);
    expect(pids).to.have.length(3);
    await sup.stop();
  });

  it('does not restart a child that dies before arm() (start-up failure), and stop() ends a live one', async () => {
    let early = '';
    new Supervisor({
      name: 'x',
      spawn: () => spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' }),
      onEarlyExit: (i) => {
        early = i.why;
      },
    });
    const t0 = Date.now();
    while (!early && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(early).to.equal('3');
    const live = new Supervisor({
      name: 'y',
      spawn: () => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }),
    });
    live.arm();
    await live.stop(2000);
    expect(live.child.exitCode !== null || live.child.signalCode !== null).to.equal(true);
  });
});
