/** Flight timer, RFC 6347 §4.2.4.1: doubling back-off with a cap. */
import { expect } from 'chai';
import { FlightTimer } from '../../../../../shared/psk-tls/dtls/retransmit.js';

describe('dtls flight retransmission timer (RFC 6347 §4.2.4.1)', () => {
  it('defaults to 1 s initial and 60 s maximum', () => {
    const t = new FlightTimer(
      {},
      () => undefined,
      () => undefined,
    );
    expect(t.timeoutMs).to.equal(1000);
  });

  it('fires after the initial timeout, doubles each time, caps at maxMs, then gives up', async () => {
    const fired: number[] = [];
    const start = Date.now();
    let gaveUp = 0;
    const t = new FlightTimer(
      { initialMs: 20, maxMs: 50, maxRetransmissions: 4 },
      () => fired.push(Date.now() - start),
      () => {
        gaveUp = Date.now() - start;
      },
    );
    t.start();
    const end = Date.now() + 3000;
    while (!gaveUp && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(fired).to.have.length(4);
    // expiries at 20, +40, +50, +50 ms, then give-up +50 ms: each gap at least the timer value (timers never fire early)
    const gaps = [...fired, gaveUp].map((at, i, all) => at - (i === 0 ? 0 : all[i - 1]!));
    [20, 40, 50, 50, 50].forEach((min, i) => expect(gaps[i]).to.be.at.least(min - 1));
    expect(gaveUp).to.be.below(210 + 500); // and not wildly late
    expect(t.running).to.equal(false);
  });

  it('stop() prevents further expiries and start() resets the back-off', async () => {
    let n = 0;
    const t = new FlightTimer(
      { initialMs: 10, maxMs: 100 },
      () => n++,
      () => undefined,
    );
    t.start();
    await new Promise((r) => setTimeout(r, 35));
    expect(n).to.be.greaterThan(0);
    t.start();
    expect(t.timeoutMs).to.equal(10);
    t.stop();
    const before = n;
    await new Promise((r) => setTimeout(r, 50));
    expect(n).to.equal(before);
    expect(t.running).to.equal(false);
  });

  it('may be stopped from inside the expiry callback', async () => {
    let n = 0;
    const t: FlightTimer = new FlightTimer(
      { initialMs: 5 },
      () => {
        n++;
        t.stop();
      },
      () => undefined,
    );
    t.start();
    await new Promise((r) => setTimeout(r, 60));
    expect(n).to.equal(1);
    expect(t.running).to.equal(false);
  });
});
