/** The bench's pure parts: latency histogram, measured window, and the load generator's HTTP framing. */
import { expect } from 'chai';
import { Histogram } from '../../../bench/histogram.js';
import { MeasureWindow } from '../../../bench/load/window.js';
import { buildRequest, responseEnd } from '../../../bench/load/raw-http.js';

describe('bench: latency histogram', () => {
  it('puts every value in a bucket whose bounds contain it, within 1/32 of its size', () => {
    for (const us of [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 1000, 12_345, 999_999, 5e7]) {
      const i = Histogram.index(us);
      const lo = i === 0 ? 0 : Histogram.upper(i - 1);
      const hi = Histogram.upper(i);
      expect(us, `bucket ${i}`).to.be.at.least(lo).and.below(hi);
      if (us >= 32) expect((hi - lo) / lo).to.be.at.most(1 / 32 + 1e-9);
    }
  });

  it('reports quantiles (never below the true value) and merges across workers', () => {
    const a = new Histogram(),
      b = new Histogram();
    for (let i = 1; i <= 500; i++) a.record(i * 10); // 10 µs … 5 ms
    for (let i = 501; i <= 1000; i++) b.record(i * 10); // 5.01 … 10 ms
    const merged = Histogram.from(a.toJSON());
    merged.merge(Histogram.from(b.toJSON()));
    expect(merged.total).to.equal(1000);
    expect(merged.quantileMs(0.5)).to.be.within(5, 5 * 1.04);
    expect(merged.quantileMs(0.99)).to.be.within(9.9, 9.9 * 1.04);
    expect(merged.meanMs()).to.be.closeTo(5.005, 1e-9);
    expect(new Histogram().quantileMs(0.5)).to.be.NaN;
  });
});

describe('bench: measured window', () => {
  it('counts only what starts after the warm-up and ends inside the window', () => {
    const w = new MeasureWindow(1000, 1000);
    expect(w.record(w.from - 1, w.from + 10, true)).to.equal(false); // started during warm-up
    expect(w.record(w.from, w.from + 10, true)).to.equal(true);
    expect(w.record(w.from + 5, w.to - 1, false)).to.equal(true);
    expect(w.record(w.from + 5, w.to + 1, true)).to.equal(false); // ran past the end
    expect([w.ok, w.errors]).to.deep.equal([1, 1]);
    expect(w.open(w.to + 1)).to.equal(false);
    expect(w.seconds()).to.equal(1);
  });

  it('with nothing done by the end, stays open for the first success and measures over the real length', () => {
    const w = new MeasureWindow(0, 100);
    expect(w.record(w.from + 1, w.to + 10, false)).to.equal(false); // a late failure does not close it
    expect(w.open(w.to + 50)).to.equal(true);
    expect(w.record(w.from + 1, w.to + 400, true)).to.equal(true);
    expect(w.open(w.to + 401)).to.equal(false);
    expect(w.ok).to.equal(1);
    expect(w.seconds()).to.be.closeTo(0.5, 1e-6);
  });
});

describe('bench: HTTP framing of the load generator', () => {
  it('builds requests with Host and Content-Length', () => {
    const r = buildRequest('127.0.0.1', 8080, {
      method: 'POST',
      path: '/x',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":"ä"}',
    });
    expect(r.toString('latin1')).to.match(
      /^POST \/x HTTP\/1\.1\r\nHost: 127\.0\.0\.1:8080\r\nContent-Type: application\/json\r\nContent-Length: 10\r\n\r\n/,
    );
    expect(buildRequest('h', 1, { method: 'GET', path: '/' }).toString()).to.equal(
      'GET / HTTP/1.1\r\nHost: h:1\r\n\r\n',
    );
  });

  it('finds where each response ends, waits for partial ones, and refuses what it cannot frame', () => {
    const one = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello';
    const two = Buffer.from(`${one}HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n`);
    expect(responseEnd(two)).to.deep.equal({ end: one.length, status: 200 });
    expect(responseEnd(two.subarray(one.length))).to.deep.equal({ end: two.length - one.length, status: 401 });
    expect(responseEnd(Buffer.from(one.slice(0, -1)))).to.equal(undefined);
    expect(responseEnd(Buffer.from('HTTP/1.1 200 OK\r\nContent-'))).to.equal(undefined);
    expect(responseEnd(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'))).to.deep.equal({ end: 27, status: 204 });
    expect(() => responseEnd(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'))).to.throw(/chunked/);
    expect(() => responseEnd(Buffer.from('SSH-2.0\r\n\r\n'))).to.throw(/not an HTTP response/);
  });
});
