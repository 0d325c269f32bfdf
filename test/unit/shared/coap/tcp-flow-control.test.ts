/**
 * Issue 18 finding 1 at the connection level: CoapTcpConnection respects write()'s answer, stops reading while
 * its output is backed up or too many requests are in progress, and closes a peer that never reads.
 */
import { expect } from 'chai';
import { Duplex } from 'node:stream';
import { Code, type CoapResponse, message, OptionNumber } from '../../../../shared/coap/message.js';
import { csmMessage, encodeTcp, pingMessage } from '../../../../shared/coap/tcp.js';
import { type CloseInfo, CoapTcpConnection } from '../../../../shared/coap/tcp-connection.js';

const tick = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The server's end of a socket whose peer sends `incoming` and reads only when told: writes complete (their
 * callbacks run) only on drainAll(), as with a TCP send buffer the peer does not empty.
 */
function stalledSocket() {
  const held: Array<() => void> = [];
  let written = 0;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      held.push(() => cb());
    },
  });
  return {
    stream,
    get written() {
      return written;
    },
    /** The peer reads everything sent so far. */
    drainAll: () => {
      while (held.length > 0) held.shift()!();
    },
    send: (b: Buffer) => stream.push(b),
  };
}

const PING = encodeTcp(pingMessage(Buffer.alloc(0)));
const CSM = encodeTcp(csmMessage({ maxMessageSize: 1152 }));

describe('CoAP over TCP flow control (issue 18 finding 1)', () => {
  const open: CoapTcpConnection[] = [];
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  it('a peer that never reads: the output queue stays bounded, reading pauses, and the connection closes after the stall timeout', async () => {
    const s = stalledSocket();
    const conn = new CoapTcpConnection(s.stream, { writeStallTimeoutMs: 300 });
    open.push(conn);
    let closed: CloseInfo | undefined;
    conn.onClose((i) => {
      closed = i;
    });
    s.send(CSM);
    // 64 Ki Pings (128 KiB) in 8 KiB reads.
    const chunk = Buffer.concat(Array.from({ length: 4096 }, () => PING));
    for (let i = 0; i < 16; i++) {
      s.send(chunk);
      await tick();
    }
    await tick();
    expect(conn.readingPaused, 'reading paused').to.equal(true);
    // Without flow control every Ping queues a Pong: 128 KiB. With it, about one high-water mark (16 KiB).
    expect(s.stream.writableLength, 'queued output').to.be.at.most(s.stream.writableHighWaterMark + 64);
    expect(closed).to.equal(undefined);
    await sleep(450);
    expect(closed?.reason).to.equal('stalled');
    expect(s.stream.destroyed).to.equal(true);
  });

  it('a peer that reads slowly keeps its connection and gets every Pong, in order', async () => {
    const s = stalledSocket();
    const conn = new CoapTcpConnection(s.stream, { writeStallTimeoutMs: 5000 });
    open.push(conn);
    s.send(CSM);
    const n = 20_000;
    s.send(Buffer.concat(Array.from({ length: n }, () => PING)));
    const ourCsm = encodeTcp(csmMessage({ maxMessageSize: 1152, blockWiseTransfer: true })).length;
    for (let i = 0; i < 200 && s.written < ourCsm + n * 2; i++) {
      await tick();
      s.drainAll();
      await tick();
    }
    // Our CSM, then one 2-octet Pong per Ping.
    expect(s.written).to.equal(ourCsm + n * PING.length);
    expect(conn.closed).to.equal(false);
    expect(conn.readingPaused).to.equal(false);
  });

  it('at most maxRequestsInProgress handlers run at once; the rest wait their turn and are all answered', async () => {
    const s = stalledSocket();
    const conn = new CoapTcpConnection(s.stream, { maxRequestsInProgress: 4 });
    open.push(conn);
    let running = 0;
    let peak = 0;
    let served = 0;
    const releases: Array<() => void> = [];
    conn.onRequest(async (): Promise<CoapResponse> => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => releases.push(r));
      running--;
      served++;
      return { code: Code.CONTENT };
    });
    s.send(CSM);
    const get = (i: number) =>
      encodeTcp(
        message({
          code: Code.GET,
          token: Buffer.of(i >> 8, i & 0xff),
          options: [{ number: OptionNumber.URI_PATH, value: Buffer.from('x') }],
        }),
      );
    s.send(Buffer.concat(Array.from({ length: 50 }, (_, i) => get(i))));
    await tick();
    expect(running).to.equal(4);
    expect(conn.readingPaused).to.equal(true);
    for (let i = 0; i < 200 && served < 50; i++) {
      for (const r of releases.splice(0)) r();
      await tick();
      s.drainAll();
      await tick();
    }
    expect(served).to.equal(50);
    expect(peak).to.equal(4);
  });

  it('closes at once when unasked output (notifications) passes maxQueuedOutputBytes', async () => {
    const s = stalledSocket();
    const conn = new CoapTcpConnection(s.stream, { maxQueuedOutputBytes: 64 * 1024 });
    open.push(conn);
    let closed: CloseInfo | undefined;
    conn.onClose((i) => {
      closed = i;
    });
    s.send(CSM);
    await tick();
    const payload = Buffer.alloc(1000, 0x61);
    let sent = 0;
    while (conn.notify(Buffer.of(1), { code: Code.CONTENT, payload }) && sent < 1000) sent++;
    expect(closed?.reason).to.equal('stalled');
    expect(sent).to.be.below(70);
  });
});
