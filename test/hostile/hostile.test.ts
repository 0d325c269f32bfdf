/**
 * The seeded, bounded slice of the hostile-input campaign (issue 18): a real network (every NF a process, a real
 * Redis) gets a few thousand inputs across every listener; no server error, no NF restart, bounded memory.
 * The longer run is test/hostile/run.ts (README, "The hostile-input campaign").
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { givenNetwork } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { reportMarkdown, runCampaign, TARGETS } from './campaign.js';

const SEED = 18;
const COUNT = Number(process.env.GBA_HOSTILE_COUNT ?? 2700);
/** Growth allowed per NF over the slice (RSS; the V8 heap grows in steps before it collects). */
const MAX_GROWTH_BYTES = 150 * 2 ** 20;

describe('hostile inputs against a running network (seeded slice)', function () {
  this.timeout(120_000);
  let net: RunningNetwork & { logs: () => string };
  before(async () => {
    net = await givenNetwork();
  });
  after(async () => {
    await net?.stop();
  });

  it(`${COUNT} seeded inputs over ${TARGETS.length} targets: 0 server errors, 0 restarts, healthy, bounded memory`, async () => {
    const r = await runCampaign({ endpointsFile: net.endpointsFile, seed: SEED, count: COUNT, concurrency: 8 });
    const summary = reportMarkdown(r);
    for (const t of TARGETS) expect(r.targets[t]?.inputs ?? 0, `${t} got no inputs\n${summary}`).to.be.greaterThan(0);
    expect(r.serverErrors, `${JSON.stringify(r.serverErrorSamples)}\n${summary}`).to.equal(0);
    expect(r.restarts.after - r.restarts.before, summary).to.equal(0);
    expect(
      Object.values(net.restarts()).reduce((a, b) => a + b, 0),
      summary,
    ).to.equal(0);
    expect(r.healthyAfter, summary).to.equal(true);
    for (const [nf, m] of Object.entries(r.memory))
      expect(m.afterBytes - m.beforeBytes, `${nf}\n${summary}`).to.be.lessThan(MAX_GROWTH_BYTES);
    // Timeouts mean an input hung a listener.
    for (const t of ['ub', 'zn', 'psk'] as const)
      expect(r.targets[t]!.outcomes.timeout ?? 0, `${t} timeouts\n${summary}`).to.equal(0);
    expect(join(net.config.stateDir, 'endpoints.json')).to.equal(net.endpointsFile);
  });
});
