/**
 * DtlsServer on a real UDP socket: garbage and truncated datagrams, a ClientHello flood from many source
 * addresses and ports, replayed records, and a clean close(). The client is the test peer over node:dgram.
 */
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { ContentType, DTLS_1_0, HandshakeType } from '../../shared/psk-tls/dtls/constants.js';
import { ext } from '../../shared/psk-tls/dtls/extensions.js';
import { encodeHandshake } from '../../shared/psk-tls/dtls/handshake.js';
import { encodeClientHello } from '../../shared/psk-tls/dtls/messages.js';
import { encodeRecord } from '../../shared/psk-tls/dtls/record.js';
import { IDENTITY, PSK, type EchoServer, startEchoServer } from '../support/dtls-interop.js';
import { TestPeer } from '../support/dtls-test-peer.js';

const bind = (address = '127.0.0.1'): Promise<Socket> =>
  new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, address, () => resolve(s));
  });
const closeSocket = (s: Socket): Promise<void> => new Promise((r) => s.close(() => r()));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function clientHello(i: number): Buffer {
  const body = encodeClientHello({
    clientVersion: 0xfefd,
    random: Buffer.alloc(32, i & 255),
    sessionId: Buffer.alloc(0),
    cookie: Buffer.alloc(0),
    cipherSuites: [0xc0a8, 0x00ff],
    compressionMethods: Buffer.from([0]),
    extensions: [ext.extendedMasterSecret()],
  });
  return encodeRecord({
    type: ContentType.handshake,
    version: DTLS_1_0,
    epoch: 0,
    seq: i,
    fragment: encodeHandshake(HandshakeType.clientHello, 0, body),
  });
}

/** A test peer talking to the server through its own UDP socket. */
async function udpPeer(port: number): Promise<{ peer: TestPeer; socket: Socket }> {
  const socket = await bind();
  const peer = new TestPeer({ psk: PSK, identity: IDENTITY, send: (d) => socket.send(d, port, '127.0.0.1') });
  socket.on('message', (m) => peer.receive(m));
  return { peer, socket };
}

describe('dtls server on a UDP socket', function () {
  this.timeout(30_000);
  let server: EchoServer | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map(closeSocket));
    await server?.close();
    server = undefined;
  });

  it('drops garbage and truncated datagrams without answering or keeping state, then still works', async () => {
    server = await startEchoServer();
    const s = await bind();
    sockets.push(s);
    let answers = 0;
    s.on('message', () => answers++);
    const ch = clientHello(0);
    const junk = [
      Buffer.alloc(1),
      Buffer.from('hello world'),
      Buffer.alloc(1500, 0xff),
      ch.subarray(0, 20),
      ch.subarray(0, ch.length - 1),
      Buffer.concat([ch.subarray(0, 11), Buffer.from([0xff, 0xff])]),
      Buffer.from('170303000501020304', 'hex'),
      Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 31) & 255)),
    ];
    for (const d of junk) s.send(d, server.port, '127.0.0.1');
    await sleep(200);
    expect(answers).to.equal(0);
    expect(server.server.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    const { peer, socket } = await udpPeer(server.port);
    sockets.push(socket);
    await peer.handshake();
    expect(server.server.stats().associations).to.equal(1);
  });

  it('answers 10,000 cookie-less ClientHellos from 100 source address:port pairs statelessly (halfOpen 0, heap bounded)', async () => {
    server = await startEchoServer();
    const sources: Socket[] = [];
    for (let a = 1; a <= 10; a++) for (let p = 0; p < 10; p++) sources.push(await bind(`127.0.0.${a + 1}`));
    sockets.push(...sources);
    let hvrs = 0;
    for (const s of sources)
      s.on('message', (m: Buffer) => {
        if (m[0] === 22 && m[13] === HandshakeType.helloVerifyRequest) hvrs++;
      });
    const heapBefore = process.memoryUsage().heapUsed;
    let sent = 0;
    for (let round = 0; round < 100; round++) {
      for (const s of sources) s.send(clientHello(sent++), server.port, '127.0.0.1');
      // pace by the answers (at most ~200 in flight) so kernel socket buffers are not what is being tested
      const until = Date.now() + 500;
      while (hvrs < sent - 100 && Date.now() < until) await sleep(1);
      expect(server.server.stats().halfOpen).to.equal(0);
    }
    const deadline = Date.now() + 5000;
    while (hvrs < sent && Date.now() < deadline) await sleep(20);
    expect(sent).to.equal(10_000);
    expect(hvrs).to.be.at.least(9_500); // loopback may drop a few; every one that arrived got an HVR
    expect(server.server.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    expect(process.memoryUsage().heapUsed - heapBefore).to.be.below(64 * 1024 * 1024);
  });

  it('bounds what it queues for sending when the socket backs up, dropping datagrams (issue 18 finding 1, UDP side)', async () => {
    server = await startEchoServer({ server: { limits: { maxPendingSendBytes: 2000 } } });
    // A socket whose sends never complete: what the server queued stays queued.
    const socket = (server.server as unknown as { socket: Socket }).socket;
    const stuck: (() => void)[] = [];
    socket.send = ((...args: unknown[]) => {
      stuck.push(args[args.length - 1] as () => void);
    }) as Socket['send'];
    const s = await bind();
    sockets.push(s);
    for (let i = 0; i < 200; i++) s.send(clientHello(i), server.port, '127.0.0.1');
    const end = Date.now() + 5000;
    while (server.server.sendDrops === 0 && Date.now() < end) await sleep(10);
    expect(server.server.pendingSendBytes).to.be.at.most(2000);
    expect(server.server.sendDrops).to.be.greaterThan(0);
    expect(server.events.filter((e) => e.event === 'dtls_send_dropped')).to.have.length(1); // once per backlog
    for (const cb of stuck.splice(0)) cb();
    expect(server.server.pendingSendBytes).to.equal(0);
  });

  it('delivers an application record once when the same datagram is sent again', async () => {
    server = await startEchoServer();
    const { peer, socket } = await udpPeer(server.port);
    sockets.push(socket);
    await peer.handshake();
    const d = peer.sendApp(Buffer.from('exactly once'));
    for (let i = 0; i < 5; i++) socket.send(d, server.port, '127.0.0.1');
    await sleep(150);
    expect(server.received.map(String)).to.deep.equal(['exactly once']);
    expect(peer.data.map(String)).to.deep.equal(['echo:exactly once']);
  });

  it('close() sends close_notify, ends sessions, frees the port and leaves no timers', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await sleep(0);
    const before = timers();
    const srv = await startEchoServer();
    const { peer, socket } = await udpPeer(srv.port);
    sockets.push(socket);
    await peer.handshake();
    let closed = false;
    srv.sessions[0]!.on('close', () => {
      closed = true;
    });
    await srv.close();
    await sleep(50);
    expect(closed).to.equal(true);
    expect(peer.alerts.map((a) => a.description)).to.deep.equal([0]); // close_notify
    expect(timers()).to.equal(before);
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(srv.port, '127.0.0.1', () => resolve());
    });
    await closeSocket(again);
  });

  it('serves IPv6 (udp6 on ::1), with the cookie exchange over an IPv6 address', async () => {
    const { DtlsServer } = await import('../../shared/psk-tls/dtls/index.js');
    const srv = new DtlsServer({
      pskIdentityHint: '3GPP-bootstrapping',
      cipherSuites: [0xc0a8],
      resolvePsk: async () => PSK,
    });
    const sessions: { peer: { address: string } }[] = [];
    srv.on('session', (s) => sessions.push(s));
    const { port } = await srv.listen(0, '::1');
    try {
      const socket = createSocket('udp6');
      await new Promise<void>((r) => socket.bind(0, '::1', () => r()));
      sockets.push(socket);
      const peer = new TestPeer({ psk: PSK, identity: IDENTITY, send: (d) => socket.send(d, port, '::1') });
      socket.on('message', (m) => peer.receive(m));
      await peer.handshake();
      expect(peer.hvrCount).to.equal(1);
      expect(sessions[0]!.peer.address).to.equal('::1');
    } finally {
      await srv.close();
    }
  });

  it('listen() twice is refused; a bad option set is refused at construction', async () => {
    server = await startEchoServer();
    await server.server.listen(0).then(
      () => {
        throw new Error('should refuse');
      },
      (e: Error) => expect(e.message).to.match(/already listening/),
    );
    const { DtlsServer } = await import('../../shared/psk-tls/dtls/index.js');
    expect(
      () => new DtlsServer({ pskIdentityHint: 'x', cipherSuites: [0xc02b], resolvePsk: async () => null }),
    ).to.throw(/unsupported cipher suite 0xc02b/);
    expect(() => new DtlsServer({ pskIdentityHint: 'x', cipherSuites: [], resolvePsk: async () => null })).to.throw(
      /must not be empty/,
    );
  });
});
