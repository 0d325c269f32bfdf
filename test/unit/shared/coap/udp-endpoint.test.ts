import { expect } from 'chai';
import {
  Code,
  CoapExchangeError,
  type CoapMessage,
  type CoapResponse,
  getUriPath,
  message,
  OptionNumber,
  setUriPath,
} from '../../../../shared/coap/message.js';
import { decodeUdp, encodeUdp } from '../../../../shared/coap/udp.js';
import { CoapUdpEndpoint, type UdpEndpointOptions } from '../../../../shared/coap/udp-endpoint.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise<void>((r) => setImmediate(r));

/** No jitter; ACK_TIMEOUT long enough that no retransmission happens in tests that expect none, even on a busy machine. */
const FAST: Partial<UdpEndpointOptions> = { ackTimeoutMs: 500, random: () => 0, responseTimeoutMs: 2_000 };
/** For the retransmission tests: ACK_TIMEOUT 20 ms, so copies go at 0, 20, 60, 140, 300 ms. */
const RETRANSMIT: Partial<UdpEndpointOptions> = { ackTimeoutMs: 20 };

interface Sent {
  from: 'a' | 'b';
  msg: CoapMessage;
  bytes: Buffer;
  dropped: boolean;
  atMs: number;
}

/**
 * Two endpoints wired to each other through a fake link. `drop(from, n)` decides whether the n-th datagram (0-based)
 * sent by that side is lost. Delivery is asynchronous, like a socket.
 */
function wire(
  drop: (from: 'a' | 'b', n: number) => boolean = () => false,
  aOpts: Partial<UdpEndpointOptions> = {},
  bOpts: Partial<UdpEndpointOptions> = {},
) {
  const log: Sent[] = [];
  const count = { a: 0, b: 0 };
  const start = Date.now();
  const endpoints: Record<'a' | 'b', CoapUdpEndpoint> = {} as never;
  const make = (from: 'a' | 'b', to: 'a' | 'b', opts: Partial<UdpEndpointOptions>) =>
    new CoapUdpEndpoint({
      ...FAST,
      ...opts,
      send: (bytes) => {
        const dropped = drop(from, count[from]++);
        log.push({ from, msg: decodeUdp(bytes), bytes, dropped, atMs: Date.now() - start });
        if (!dropped) setImmediate(() => endpoints[to].receive(bytes));
      },
    });
  endpoints.a = make('a', 'b', aOpts);
  endpoints.b = make('b', 'a', bOpts);
  const sentBy = (from: 'a' | 'b') => log.filter((s) => s.from === from);
  return {
    a: endpoints.a,
    b: endpoints.b,
    log,
    sentBy,
    close: () => {
      endpoints.a.close();
      endpoints.b.close();
    },
  };
}

const GET_3_0 = {
  code: Code.GET,
  options: [
    { number: OptionNumber.URI_PATH, value: Buffer.from('3') },
    { number: OptionNumber.URI_PATH, value: Buffer.from('0') },
  ],
};

function countingHandler(res: CoapResponse = { code: Code.CONTENT, payload: Buffer.from('hello') }, delayMs = 0) {
  const calls: CoapMessage[] = [];
  const handler = async (req: CoapMessage) => {
    calls.push(req);
    if (delayMs) await sleep(delayMs);
    return res;
  };
  return { calls, handler };
}

async function rejection(p: Promise<unknown>): Promise<CoapExchangeError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(CoapExchangeError);
    return err as CoapExchangeError;
  }
  return expect.fail('expected the request to be rejected, but it resolved');
}

/** A lone endpoint whose sent datagrams are collected, fed by hand. */
function lone(opts: Partial<UdpEndpointOptions> = {}) {
  const out: CoapMessage[] = [];
  const raw: Buffer[] = [];
  const ep = new CoapUdpEndpoint({
    ...FAST,
    ...opts,
    send: (d) => {
      raw.push(d);
      out.push(decodeUdp(d));
    },
  });
  return { ep, out, raw, close: () => ep.close() };
}

describe('CoAP-over-UDP endpoint (RFC 7252 §4, §5)', () => {
  let cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup) c();
    cleanup = [];
  });
  const track = <T extends { close(): void }>(x: T): T => {
    cleanup.push(() => x.close());
    return x;
  };

  it('answers a CON request with a piggybacked response carrying the same MID and token', async () => {
    const net = track(wire());
    const h = countingHandler();
    net.b.onRequest(h.handler);
    const res = await net.a.request(GET_3_0);
    expect([res.type, res.code, res.payload.toString()]).to.deep.equal(['ACK', Code.CONTENT, 'hello']);
    expect(getUriPath(h.calls[0]!)).to.deep.equal(['3', '0']);
    expect(net.log.map((s) => [s.from, s.msg.type])).to.deep.equal([
      ['a', 'CON'],
      ['b', 'ACK'],
    ]);
    expect(net.log[1]!.msg.messageId).to.equal(net.log[0]!.msg.messageId);
    expect(res.token.equals(net.log[0]!.msg.token)).to.equal(true);
    expect(res.token.length).to.equal(4);
  });

  it('retransmits a CON whose first two copies are lost, and the handler runs once', async () => {
    const net = track(wire((from, n) => from === 'a' && n < 2, RETRANSMIT));
    const h = countingHandler();
    net.b.onRequest(h.handler);
    const res = await net.a.request(GET_3_0);
    expect(res.code).to.equal(Code.CONTENT);
    expect(h.calls).to.have.length(1);
    const copies = net.sentBy('a');
    expect(copies.length).to.be.at.least(3); // a slow machine may add one before the ACK is in
    expect(copies.map((s) => s.dropped).slice(0, 3)).to.deep.equal([true, true, false]);
    expect(copies.every((s) => s.bytes.equals(copies[0]!.bytes))).to.equal(true);
  });

  it('answers a retransmitted CON whose ACK was lost with the cached response, without re-running the handler', async () => {
    const net = track(wire((from, n) => from === 'b' && n === 0, RETRANSMIT));
    const h = countingHandler();
    net.b.onRequest(h.handler);
    const res = await net.a.request(GET_3_0);
    expect(res.payload.toString()).to.equal('hello');
    expect(h.calls).to.have.length(1);
    const answers = net.sentBy('b');
    expect(answers.length).to.be.at.least(2);
    expect(answers.every((s) => s.bytes.equals(answers[0]!.bytes))).to.equal(true);
  });

  it('answers a duplicate CON fed twice with identical bytes; a duplicate that arrives while processing is not answered early', async () => {
    const { ep, raw } = track(lone());
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    ep.onRequest(async () => {
      calls++;
      await gate;
      return { code: Code.CONTENT, payload: Buffer.from('v') };
    });
    const con = encodeUdp(
      setUriPath(message({ type: 'CON', code: Code.GET, messageId: 0x4242, token: hex('beef') }), '/3/0/0'),
    );
    ep.receive(con);
    ep.receive(con);
    await tick();
    expect(raw).to.have.length(0);
    release();
    await tick();
    expect(raw).to.have.length(1);
    ep.receive(con);
    expect(raw).to.have.length(2);
    expect(raw[1]!.equals(raw[0]!)).to.equal(true);
    expect(calls).to.equal(1);
  });

  it('sends an empty ACK, then the response as a CON with a new MID and the same token, which the client ACKs (§5.2.2)', async () => {
    const net = track(wire(() => false, {}, { piggybackWindowMs: 10, random: () => 0.5 })); // b's MIDs start at 0x8000
    const h = countingHandler({ code: Code.CHANGED }, 60);
    net.b.onRequest(h.handler);
    const res = await net.a.request({
      code: Code.POST,
      options: [{ number: OptionNumber.URI_PATH, value: Buffer.from('rd') }],
    });
    await tick();
    expect([res.type, res.code]).to.deep.equal(['CON', Code.CHANGED]);
    const [req, emptyAck, separate, clientAck] = net.log.map((s) => s.msg);
    expect(net.log.map((s) => `${s.from}:${s.msg.type}:${s.msg.code}`)).to.deep.equal([
      'a:CON:2',
      'b:ACK:0',
      'b:CON:68',
      'a:ACK:0',
    ]);
    expect(emptyAck!.messageId).to.equal(req!.messageId);
    expect(separate!.messageId).to.not.equal(req!.messageId);
    expect(separate!.token.equals(req!.token)).to.equal(true);
    expect(clientAck!.messageId).to.equal(separate!.messageId);
    expect(h.calls).to.have.length(1);
  });

  it('accepts a separate response that overtakes its lost empty ACK and stops retransmitting the request', async () => {
    const net = track(wire((from, n) => from === 'b' && n === 0, { ackTimeoutMs: 300 }, { piggybackWindowMs: 10 }));
    net.b.onRequest(countingHandler({ code: Code.CONTENT }, 30).handler);
    const res = await net.a.request(GET_3_0);
    expect(res.type).to.equal('CON');
    await sleep(350); // past the client's first retransmission time
    expect(net.sentBy('a').map((s) => s.msg.type)).to.deep.equal(['CON', 'ACK']);
  });

  it('rejects with reason timeout after MAX_RETRANSMIT retransmissions, doubling the wait each time', async () => {
    const net = track(wire((from) => from === 'a', RETRANSMIT));
    const started = Date.now();
    const err = await rejection(net.a.request(GET_3_0));
    expect(err.reason).to.equal('timeout');
    const copies = net.sentBy('a');
    expect(copies).to.have.length(5); // 1 + MAX_RETRANSMIT 4
    const gaps = copies.slice(1).map((s, i) => s.atMs - copies[i]!.atMs);
    [20, 40, 80, 160].forEach((min, i) => expect(gaps[i]).to.be.at.least(min - 2));
    expect(Date.now() - started).to.be.at.least(600); // 20 + 40 + 80 + 160 + 320
  });

  it('draws the first timeout from [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR] (§4.8)', async () => {
    const net = track(wire((from) => from === 'a', { ackTimeoutMs: 40, random: () => 0.999, maxRetransmit: 1 }));
    await rejection(net.a.request(GET_3_0));
    const [first, second] = net.sentBy('a');
    expect(second!.atMs - first!.atMs).to.be.at.least(58); // 40 × (1 + 0.999 × 0.5) ≈ 60
  });

  it('honours a configured MAX_RETRANSMIT', async () => {
    const net = track(wire((from) => from === 'a', { ...RETRANSMIT, maxRetransmit: 2 }));
    expect((await rejection(net.a.request(GET_3_0))).reason).to.equal('timeout');
    expect(net.sentBy('a')).to.have.length(3);
  });

  it('rejects with reason reset when the peer answers RST', async () => {
    const { ep, out } = track(lone());
    const p = ep.request(GET_3_0);
    await tick();
    ep.receive(hex(`70 00 ${out[0]!.messageId!.toString(16).padStart(4, '0')}`));
    expect((await rejection(p)).reason).to.equal('reset');
  });

  it('rejects an unexpected CON response (unknown token) with RST (§5.3.2)', () => {
    const { ep, out } = track(lone());
    ep.receive(encodeUdp(message({ type: 'CON', code: Code.CONTENT, messageId: 0x0102, token: hex('dead') })));
    expect(out.map((m) => [m.type, m.messageId])).to.deep.equal([['RST', 0x0102]]);
  });

  it('answers 4.02 to an unknown critical option without running the handler, and ignores unknown elective ones', async () => {
    const net = track(wire());
    const h = countingHandler();
    net.b.onRequest(h.handler);
    const bad = await net.a.request({ code: Code.GET, options: [{ number: 9, value: Buffer.alloc(0) }] });
    expect(bad.code).to.equal(Code.BAD_OPTION);
    expect(h.calls).to.have.length(0);
    const ok = await net.a.request({ code: Code.GET, options: [{ number: 10, value: Buffer.alloc(0) }] });
    expect(ok.code).to.equal(Code.CONTENT);
    expect(h.calls).to.have.length(1);
  });

  it('answers a NON request with a NON response (§5.2.3)', async () => {
    const net = track(wire());
    net.b.onRequest(countingHandler().handler);
    const res = await net.a.request({ ...GET_3_0, type: 'NON' });
    expect([res.type, res.code]).to.deep.equal(['NON', Code.CONTENT]);
    expect(net.log.map((s) => s.msg.type)).to.deep.equal(['NON', 'NON']);
  });

  it('times out a NON request that gets no response', async () => {
    const net = track(wire((from) => from === 'a', { responseTimeoutMs: 30 }));
    expect((await rejection(net.a.request({ ...GET_3_0, type: 'NON' }))).reason).to.equal('timeout');
    expect(net.sentBy('a')).to.have.length(1);
  });

  it('answers 5.00 when the handler throws, reporting the error, and 5.01 when there is no handler', async () => {
    const errors: unknown[] = [];
    const net = track(wire(() => false, {}, { onError: (e) => errors.push(e) }));
    expect((await net.a.request(GET_3_0)).code).to.equal(Code.NOT_IMPLEMENTED);
    net.b.onRequest(() => {
      throw new Error('boom');
    });
    const res = await net.a.request(GET_3_0);
    expect(res.code).to.equal(Code.INTERNAL_SERVER_ERROR);
    expect(res.payload.length).to.equal(0); // the internal message is not echoed
    expect((errors[0] as Error).message).to.equal('boom');
  });

  it('answers an Empty CON (CoAP ping, §4.3) with RST', () => {
    const { ep, out } = track(lone());
    ep.receive(hex('40 00 12 34'));
    expect(out.map((m) => [m.type, m.code, m.messageId])).to.deep.equal([['RST', 0, 0x1234]]);
  });

  it('rejects a CON with a format error (TKL 9) with RST, and silently ignores version 2 and malformed NON', () => {
    const { ep, out } = track(lone());
    ep.receive(hex('49 01 77 77 010203040506070809'));
    ep.receive(hex('80 01 00 01'));
    ep.receive(hex('51 01 00 02 aa ff'));
    expect(out.map((m) => [m.type, m.messageId])).to.deep.equal([['RST', 0x7777]]);
  });

  it('forgets a message ID after EXCHANGE_LIFETIME, and processes it again', async () => {
    let now = 1_000;
    const { ep, raw } = track(lone({ now: () => now, exchangeLifetimeMs: 247_000 }));
    let calls = 0;
    ep.onRequest(() => ({ code: Code.CONTENT, payload: Buffer.from(String(++calls)) }));
    const con = encodeUdp(message({ type: 'CON', code: Code.GET, messageId: 5, token: hex('01') }));
    ep.receive(con);
    await tick();
    now += 246_999;
    ep.receive(con);
    await tick();
    expect(calls).to.equal(1);
    now += 2;
    ep.receive(con);
    await tick();
    expect(calls).to.equal(2);
    expect(decodeUdp(raw[2]!).payload.toString()).to.equal('2');
  });

  it('bounds the deduplication cache, evicting the oldest message ID first', async () => {
    const { ep } = track(lone({ maxDedupEntries: 2 }));
    const seen: number[] = [];
    ep.onRequest((req) => {
      seen.push(req.messageId!);
      return { code: Code.CONTENT };
    });
    for (const mid of [1, 2, 3, 1]) {
      ep.receive(encodeUdp(message({ type: 'CON', code: Code.GET, messageId: mid })));
      await tick();
    }
    expect(seen).to.deep.equal([1, 2, 3, 1]);
    ep.receive(encodeUdp(message({ type: 'CON', code: Code.GET, messageId: 3 })));
    await tick();
    expect(seen).to.deep.equal([1, 2, 3, 1]);
  });

  it('keeps NSTART = 1: a second request is sent only after the first has its response (§4.7)', async () => {
    const net = track(wire());
    net.b.onRequest(countingHandler({ code: Code.CONTENT }, 5).handler);
    const [r1, r2] = await Promise.all([net.a.request(GET_3_0), net.a.request(GET_3_0)]);
    expect([r1.code, r2.code]).to.deep.equal([Code.CONTENT, Code.CONTENT]);
    expect(net.log.map((s) => `${s.from}:${s.msg.type}`)).to.deep.equal(['a:CON', 'b:ACK', 'a:CON', 'b:ACK']);
  });

  it('close() rejects outstanding and queued requests and leaves no timers behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await tick(); // mocha arms its own test timeout once the test has started
    const before = timers();
    const { ep } = lone({ ackTimeoutMs: 60_000 });
    const first = ep.request(GET_3_0);
    const queued = ep.request(GET_3_0);
    await tick();
    expect(timers()).to.be.greaterThan(before);
    ep.close();
    expect((await rejection(first)).reason).to.equal('closed');
    expect((await rejection(queued)).reason).to.equal('closed');
    expect(timers()).to.equal(before);
    expect((await rejection(ep.request(GET_3_0))).reason).to.equal('closed');
  });

  it('close() also clears the timer of a handler still running, and drops its late result', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await tick(); // mocha arms its own test timeout once the test has started
    const before = timers();
    let release!: () => void;
    const { ep, out } = lone({ piggybackWindowMs: 60_000 });
    ep.onRequest(
      () =>
        new Promise<CoapResponse>((r) => {
          release = () => r({ code: Code.CONTENT });
        }),
    );
    ep.receive(encodeUdp(message({ type: 'CON', code: Code.GET, messageId: 9 })));
    await tick();
    expect(timers()).to.be.greaterThan(before);
    ep.close();
    expect(timers()).to.equal(before);
    release();
    await tick();
    expect(out).to.have.length(0);
  });
});
