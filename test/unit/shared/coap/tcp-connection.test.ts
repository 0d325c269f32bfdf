import { expect } from 'chai';
import { Duplex } from 'node:stream';
import { InputError } from '../../../../shared/errors.js';
import {
  Code,
  CoapExchangeError,
  type CoapMessage,
  type CoapResponse,
  decodeUint,
  getOption,
  getUriPath,
  message,
  OptionNumber,
} from '../../../../shared/coap/message.js';
import { CoapTcpDecoder, csmMessage, encodeTcp, SignalingOption } from '../../../../shared/coap/tcp.js';
import {
  type CloseInfo,
  CoapTcpConnection,
  type TcpConnectionOptions,
} from '../../../../shared/coap/tcp-connection.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise<void>((r) => setImmediate(r));

/** Two in-memory Duplex ends: what one writes, the other reads. Ending one ends the other's readable side. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  ends.push(
    make(() => ends[1]!),
    make(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}

/** The far end of a connection driven by hand: raw bytes in, decoded frames out. */
function rawPeer(stream: Duplex) {
  const frames: CoapMessage[] = [];
  const decoder = new CoapTcpDecoder({ maxMessageSize: 1 << 20 });
  let ended = false;
  stream.on('data', (c: Buffer) => frames.push(...decoder.push(c)));
  stream.on('end', () => {
    ended = true;
  });
  return {
    frames,
    get ended() {
      return ended;
    },
    send: (m: CoapMessage | string) => stream.write(typeof m === 'string' ? hex(m) : encodeTcp(m)),
    sendCsm: () => stream.write(encodeTcp(csmMessage({ maxMessageSize: 1152, blockWiseTransfer: true }))),
  };
}

async function rejection(p: Promise<unknown>): Promise<CoapExchangeError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(CoapExchangeError);
    return err as CoapExchangeError;
  }
  return expect.fail('expected a rejection, but the promise resolved');
}

const GET = (path: string) => ({
  code: Code.GET,
  options: path
    .split('/')
    .filter(Boolean)
    .map((s) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(s) })),
});

describe('CoAP over TCP connection (RFC 8323)', () => {
  let open: CoapTcpConnection[] = [];
  const conn = (stream: Duplex, opts: TcpConnectionOptions = {}) => {
    const c = new CoapTcpConnection(stream, { csmTimeoutMs: 2_000, requestTimeoutMs: 2_000, ...opts });
    open.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of open) c.close();
    open = [];
  });

  function connectedPair(aOpts: TcpConnectionOptions = {}, bOpts: TcpConnectionOptions = {}) {
    const [x, y] = duplexPair();
    return { client: conn(x, aOpts), server: conn(y, bOpts) };
  }

  it('sends its CSM as the first frame: 40 e1 22 04 80 20 by default (docs/standards-notes/lwm2m-coap-dtls.md §2.1)', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    conn(x);
    await tick();
    expect(encodeTcp(peer.frames[0]!).toString('hex')).to.equal('40e122048020');
  });

  it("advertises a configured Max-Message-Size, like libcoap's 50 e1 23 80 01 00 20", async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    conn(x, { maxMessageSize: 0x800100 });
    await tick();
    expect(encodeTcp(peer.frames[0]!).toString('hex')).to.equal('50e12380010020');
  });

  it("exchanges CSMs: each side learns the other's Max-Message-Size and Block-Wise-Transfer", async () => {
    const { client, server } = connectedPair(
      { maxMessageSize: 4096 },
      { maxMessageSize: 2048, blockWiseTransfer: false },
    );
    expect(await client.whenReady()).to.deep.equal({ maxMessageSize: 2048, blockWiseTransfer: false });
    expect(await server.whenReady()).to.deep.equal({ maxMessageSize: 4096, blockWiseTransfer: true });
  });

  it('matches concurrent responses to their requests by token, whatever their order', async () => {
    const { client, server } = connectedPair();
    server.onRequest(async (req): Promise<CoapResponse> => {
      const path = getUriPath(req).join('/');
      await sleep(path === '3/0/0' ? 30 : 1);
      return { code: Code.CONTENT, payload: Buffer.from(`value of ${path}`) };
    });
    const [slow, fast] = await Promise.all([client.request(GET('/3/0/0')), client.request(GET('/3/0/1'))]);
    expect([slow.code, slow.payload.toString()]).to.deep.equal([Code.CONTENT, 'value of 3/0/0']);
    expect(fast.payload.toString()).to.equal('value of 3/0/1');
    expect(slow.type).to.equal(undefined);
  });

  it('answers Ping with a Pong carrying the same token (01 e2 42 → 01 e3 42)', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    conn(x);
    peer.sendCsm();
    peer.send('01 e2 42');
    await tick();
    expect(encodeTcp(peer.frames[1]!).toString('hex')).to.equal('01e342');
  });

  it("ping() resolves on the peer's Pong", async () => {
    const { client } = connectedPair();
    await client.ping();
    expect(client.closed).to.equal(false);
  });

  it('aborts (7.05) and closes when the first message is not a CSM', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x);
    const closed = new Promise<CloseInfo>((r) => c.onClose(r));
    peer.send('01 e2 42');
    const info = await closed;
    await tick();
    expect(info.reason).to.equal('aborted');
    expect(peer.frames.map((f) => f.code)).to.deep.equal([Code.CSM, Code.ABORT]);
    expect(peer.frames[1]!.payload.toString()).to.match(/not a CSM/);
    expect(peer.ended).to.equal(true);
    expect((await rejection(c.request(GET('/3/0')))).reason).to.equal('aborted');
  });

  it('aborts with Bad-CSM-Option when the CSM carries an unknown critical option', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x);
    peer.send('10 e1 30'); // CSM with option 3
    await tick();
    expect(c.closed).to.equal(true);
    const abort = peer.frames[1]!;
    expect(abort.code).to.equal(Code.ABORT);
    expect(decodeUint(getOption(abort, SignalingOption.BAD_CSM_OPTION)!)).to.equal(3);
  });

  it('aborts on a frame larger than its Max-Message-Size', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x, { maxMessageSize: 64 });
    peer.sendCsm();
    peer.send(message({ code: Code.POST, payload: Buffer.alloc(100) }));
    await tick();
    expect(c.closed).to.equal(true);
    expect(peer.frames.map((f) => f.code)).to.deep.equal([Code.CSM, Code.ABORT]);
  });

  it('aborts when no CSM arrives in time', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x, { csmTimeoutMs: 20 });
    expect((await rejection(c.whenReady())).reason).to.equal('aborted');
    expect(peer.frames.map((f) => f.code)).to.deep.equal([Code.CSM, Code.ABORT]);
  });

  it('ignores empty messages (keep-alives) and still serves requests', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x);
    c.onRequest(() => ({ code: Code.CONTENT, payload: Buffer.from('ok') }));
    peer.sendCsm();
    peer.send('00 00');
    peer.send(message({ code: Code.GET, token: hex('07') }));
    await sleep(5);
    expect(c.closed).to.equal(false);
    expect(peer.frames.slice(1).map((f) => [f.code, f.token.toString('hex'), f.payload.toString()])).to.deep.equal([
      [Code.CONTENT, '07', 'ok'],
    ]);
  });

  it('answers 4.02 to an unknown critical option without running the handler, 5.00 when the handler throws, 5.01 without one', async () => {
    const { client, server } = connectedPair();
    expect((await client.request(GET('/x'))).code).to.equal(Code.NOT_IMPLEMENTED);
    let calls = 0;
    server.onRequest(() => {
      calls++;
      throw new Error('boom');
    });
    expect((await client.request({ code: Code.GET, options: [{ number: 9, value: Buffer.alloc(0) }] })).code).to.equal(
      Code.BAD_OPTION,
    );
    expect(calls).to.equal(0);
    const res = await client.request(GET('/x'));
    expect([res.code, res.payload.length, calls]).to.deep.equal([Code.INTERNAL_SERVER_ERROR, 0, 1]);
  });

  it('rejects outstanding requests with reason aborted when the peer aborts', async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x);
    peer.sendCsm();
    const pending = c.request(GET('/3/0'));
    await tick();
    peer.send(message({ code: Code.ABORT, payload: Buffer.from('bye') }));
    const err = await rejection(pending);
    expect(err.reason).to.equal('aborted');
    expect(err.message).to.match(/bye/);
  });

  it("after the peer's Release, answers the requests received before it and then closes", async () => {
    const [x, y] = duplexPair();
    const peer = rawPeer(y);
    const c = conn(x);
    c.onRequest(async () => {
      await sleep(20);
      return { code: Code.CHANGED };
    });
    const closed = new Promise<CloseInfo>((r) => c.onClose(r));
    peer.sendCsm();
    peer.send(message({ code: Code.POST, token: hex('aa') }));
    peer.send(message({ code: Code.RELEASE }));
    await tick();
    expect(c.closed).to.equal(false);
    expect((await rejection(c.request(GET('/3/0')))).reason).to.equal('released');
    expect((await closed).reason).to.equal('released');
    await tick();
    expect(peer.frames.slice(1).map((f) => [f.code, f.token.toString('hex')])).to.deep.equal([[Code.CHANGED, 'aa']]);
    expect(peer.ended).to.equal(true);
  });

  it('release() sends 7.04 and resolves once the peer has closed', async () => {
    const { client, server } = connectedPair();
    await client.whenReady();
    const serverClosed = new Promise<CloseInfo>((r) => server.onClose(r));
    await client.release({ holdOffSec: 10 });
    expect((await serverClosed).reason).to.equal('released');
    expect(client.closed).to.equal(true);
  });

  it('rejects a request with reason timeout when no response comes', async () => {
    const [x, y] = duplexPair();
    rawPeer(y).sendCsm();
    const c = conn(x, { requestTimeoutMs: 20 });
    expect((await rejection(c.request(GET('/3/0')))).reason).to.equal('timeout');
  });

  it("refuses to send a request larger than the peer's Max-Message-Size", async () => {
    const { client } = connectedPair({}, { maxMessageSize: 100 });
    await client.whenReady();
    let error: unknown;
    await client.request({ code: Code.POST, payload: Buffer.alloc(200) }).catch((e: unknown) => {
      error = e;
    });
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.match(/Max-Message-Size 100/);
  });

  it('arms no timer while idle once both CSMs are in', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await tick();
    const before = timers();
    const { client, server } = connectedPair({ csmTimeoutMs: 60_000 }, { csmTimeoutMs: 60_000 });
    expect(timers()).to.equal(before + 2);
    await Promise.all([client.whenReady(), server.whenReady()]);
    expect(timers()).to.equal(before);
  });

  it('close() rejects outstanding requests and leaves no timers behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await tick(); // mocha arms its own test timeout once the test has started
    const before = timers();
    const [x, y] = duplexPair();
    rawPeer(y).sendCsm();
    const c = new CoapTcpConnection(x, { requestTimeoutMs: 60_000, csmTimeoutMs: 60_000 });
    const pending = c.request(GET('/3/0'));
    expect(timers()).to.be.greaterThan(before);
    c.close();
    expect((await rejection(pending)).reason).to.equal('closed');
    expect(timers()).to.equal(before);
  });
});
