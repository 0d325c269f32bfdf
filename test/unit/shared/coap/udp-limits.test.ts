/**
 * Issue 18 finding 1, UDP side: no unbounded per-peer state in the CoAP-over-UDP endpoint. Requests beyond
 * maxRequestsInProgress get 5.03 + Max-Age (RFC 7252 §5.9.3.4) without running, and our own queue of requests
 * waiting for NSTART (§4.7) is capped.
 */
import { expect } from 'chai';
import { Code, CoapExchangeError, type CoapMessage, getOption, OptionNumber } from '../../../../shared/coap/message.js';
import { decodeUdp, encodeUdp } from '../../../../shared/coap/udp.js';
import { CoapUdpEndpoint } from '../../../../shared/coap/udp-endpoint.js';

const tick = () => new Promise<void>((r) => setImmediate(r));
const con = (mid: number): Buffer =>
  encodeUdp({
    type: 'CON',
    code: Code.GET,
    messageId: mid,
    token: Buffer.of(mid & 0xff, mid >> 8),
    options: [],
    payload: Buffer.alloc(0),
  });

describe('CoAP over UDP per-peer limits (issue 18 finding 1)', () => {
  it('runs at most maxRequestsInProgress handlers; the rest get 5.03 with Max-Age 1, and a retransmission gets the same', async () => {
    const sent: CoapMessage[] = [];
    const ep = new CoapUdpEndpoint({
      send: (d) => sent.push(decodeUdp(d)),
      maxRequestsInProgress: 4,
      piggybackWindowMs: 60_000,
    });
    let running = 0;
    const release: Array<() => void> = [];
    ep.onRequest(async () => {
      running++;
      await new Promise<void>((r) => release.push(r));
      running--;
      return { code: Code.CONTENT };
    });
    for (let mid = 1; mid <= 20; mid++) ep.receive(con(mid));
    await tick();
    expect(running).to.equal(4);
    const busy = sent.filter((m) => m.code === Code.SERVICE_UNAVAILABLE);
    expect(busy).to.have.length(16);
    expect(busy.every((m) => m.type === 'ACK' && getOption(m, OptionNumber.MAX_AGE)?.[0] === 1)).to.equal(true);
    ep.receive(con(20)); // a duplicate (§4.5) is answered from the cache, not run
    expect(sent.filter((m) => m.code === Code.SERVICE_UNAVAILABLE && m.messageId === 20)).to.have.length(2);
    for (const r of release.splice(0)) r();
    await tick();
    ep.receive(con(21)); // capacity is back
    await tick();
    expect(running).to.equal(1);
    for (const r of release.splice(0)) r();
    await tick();
    ep.close();
  });

  it('rejects a request when maxQueuedRequests already wait for an NSTART slot', async () => {
    const ep = new CoapUdpEndpoint({ send: () => undefined, nstart: 1, maxQueuedRequests: 8, ackTimeoutMs: 60_000 });
    const outcomes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 9; i++) outcomes.push(ep.request({ code: Code.GET }).catch((e: unknown) => e));
    const tenth = await ep.request({ code: Code.GET }).catch((e: unknown) => e);
    expect(tenth).to.be.instanceOf(CoapExchangeError);
    expect((tenth as CoapExchangeError).reason).to.equal('rejected');
    ep.close();
    const rest = await Promise.all(outcomes);
    expect(rest.every((e) => e instanceof CoapExchangeError && e.reason === 'closed')).to.equal(true);
  });
});
