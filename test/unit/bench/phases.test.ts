/** bench/phases.ts: a phase lasts --duration in all, warm-up included. */
import { expect } from 'chai';
import { timing } from '../../../bench/phases.js';

describe('bench: phase timing', () => {
  it('fits warm-up and measured window into --duration (3 s → 0.75 s + 2.25 s)', () => {
    expect(timing(3)).to.deep.equal({ warmupMs: 750, durationMs: 2250 });
  });

  it('caps the warm-up at 3 s and gives the rest to the measurement', () => {
    expect(timing(60)).to.deep.equal({ warmupMs: 3000, durationMs: 57_000 });
  });

  it('keeps tiny durations tiny (the e2e test runs 0.5 s phases)', () => {
    const t = timing(0.5);
    expect(t.warmupMs + t.durationMs).to.equal(500);
    expect(t.durationMs).to.be.above(0);
  });
});
