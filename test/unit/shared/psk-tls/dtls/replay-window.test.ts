/** Anti-replay window, RFC 6347 §4.1.2.6 (64 entries). */
import { expect } from 'chai';
import { ReplayWindow } from '../../../../../shared/psk-tls/dtls/record.js';

describe('dtls anti-replay window (RFC 6347 §4.1.2.6)', () => {
  it('accepts a fresh window, then rejects duplicates', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).to.equal(true);
    w.mark(0);
    expect(w.check(0)).to.equal(false);
    expect(w.check(1)).to.equal(true);
  });

  it('accepts out-of-order records inside the window exactly once', () => {
    const w = new ReplayWindow();
    for (const s of [10, 7, 9]) {
      expect(w.check(s)).to.equal(true);
      w.mark(s);
    }
    expect(w.check(8)).to.equal(true);
    for (const s of [10, 7, 9]) expect(w.check(s)).to.equal(false);
    expect(w.highest).to.equal(10);
  });

  it('rejects anything left of the 64-entry window', () => {
    const w = new ReplayWindow();
    w.mark(100);
    expect(w.check(37)).to.equal(true); // 100 − 63: the oldest slot still inside
    expect(w.check(36)).to.equal(false);
    w.mark(37);
    expect(w.check(37)).to.equal(false);
  });

  it('slides on a new maximum and forgets bits that fall out', () => {
    const w = new ReplayWindow();
    w.mark(5);
    w.mark(6);
    w.mark(5 + 64); // shift by 63 from 6: 6 stays (offset 63), 5 drops out
    expect(w.check(6)).to.equal(false);
    expect(w.check(5)).to.equal(false); // now left of the window
    expect(w.check(7)).to.equal(true);
    w.mark(1000); // a jump larger than the window clears everything
    expect(w.check(999)).to.equal(true);
    expect(w.check(1000)).to.equal(false);
  });

  it('handles 48-bit sequence numbers', () => {
    const w = new ReplayWindow();
    const top = 2 ** 48 - 1;
    w.mark(top);
    expect(w.check(top)).to.equal(false);
    expect(w.check(top - 1)).to.equal(true);
    expect(w.check(top - 64)).to.equal(false);
  });

  it('only moves when marked, so unauthenticated checks change nothing', () => {
    const w = new ReplayWindow();
    w.mark(3);
    for (let i = 0; i < 5; i++) expect(w.check(500)).to.equal(true);
    expect(w.highest).to.equal(3);
  });
});
