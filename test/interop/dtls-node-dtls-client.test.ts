/** Interop with node-dtls-client 2.0.3 (ESM) against shared/psk-tls/dtls: no extensions, no EMS, the hint is sent. */
import { expect } from 'chai';
import { dtls } from 'node-dtls-client';
import { HandshakeType } from '../../shared/psk-tls/dtls/constants.js';
import { decodeHandshakeFragments } from '../../shared/psk-tls/dtls/handshake.js';
import { decodeServerKeyExchange } from '../../shared/psk-tls/dtls/messages.js';
import { parseDatagram } from '../../shared/psk-tls/dtls/record.js';
import { IDENTITY, PSK, type EchoServer, UdpProxy, startEchoServer } from '../support/dtls-interop.js';

type Suite = 'TLS_PSK_WITH_AES_128_CCM_8' | 'TLS_PSK_WITH_AES_128_CBC_SHA256' | 'TLS_PSK_WITH_AES_128_GCM_SHA256';

function connect(port: number, psk: Buffer, ciphers?: Suite[]): dtls.Socket {
  return dtls.createSocket({
    type: 'udp4',
    address: '127.0.0.1',
    port,
    psk: { [IDENTITY]: psk },
    timeout: 5000,
    ...(ciphers ? { ciphers } : {}),
  });
}

const connected = (s: dtls.Socket): Promise<void> =>
  new Promise((resolve, reject) => {
    s.once('connected', () => resolve());
    s.once('error', reject);
  });

describe('dtls interop: node-dtls-client 2.0.3', function () {
  this.timeout(20_000);
  let server: EchoServer | undefined;
  let proxy: UdpProxy | undefined;
  let sockClosed: Promise<void> | undefined;
  afterEach(async () => {
    // Close from the server side: the library closes its socket on our close_notify. Calling its close() after
    // the peer's close_notify can throw from a timer (docs/standards-notes/lwm2m-coap-dtls.md §6.3 #14), so it is not called here.
    await server?.close();
    if (sockClosed) await Promise.race([sockClosed, new Promise((r) => setTimeout(r, 1000))]);
    await proxy?.close();
    server = undefined;
    proxy = undefined;
    sockClosed = undefined;
  });
  const track = (s: dtls.Socket): dtls.Socket => {
    sockClosed = new Promise((r) => s.once('close', () => r()));
    return s;
  };

  for (const [suite, code] of [
    ['TLS_PSK_WITH_AES_128_CCM_8', 0xc0a8],
    ['TLS_PSK_WITH_AES_128_CBC_SHA256', 0x00ae],
    ['TLS_PSK_WITH_AES_128_GCM_SHA256', 0x00a8],
  ] as const) {
    it(`${suite}: handshake with the hint sent, echo, server-initiated close`, async () => {
      server = await startEchoServer();
      proxy = new UdpProxy(server.port);
      const s = track(connect(await proxy.start(), PSK, [suite]));
      await connected(s);
      const echo = new Promise<Buffer>((r) => s.once('message', (m: Buffer) => r(m)));
      s.send(Buffer.from('ping'));
      expect((await echo).toString()).to.equal('echo:ping');
      expect(server.resolverCalls).to.have.length(1);
      expect(server.resolverCalls[0]).to.deep.include({ identity: IDENTITY, suite: code });
      // the ServerKeyExchange with the identity hint went over the wire
      const hints = proxy.toClient
        .flatMap((d) => parseDatagram(d).records)
        .filter((r) => r.epoch === 0 && r.type === 22)
        .flatMap((r) => decodeHandshakeFragments(r.fragment))
        .filter((f) => f.msgType === HandshakeType.serverKeyExchange)
        .map((f) => decodeServerKeyExchange(f.body).toString());
      expect(hints).to.deep.equal(['3GPP-bootstrapping']);
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      server.sessions[0]!.close();
      await closed;
    });
  }

  it('default offer (11 suites, no extensions) negotiates CCM_8 by server preference with the classic master secret', async () => {
    server = await startEchoServer();
    const s = track(connect(server.port, PSK));
    await connected(s);
    expect(server.sessions[0]!.cipherSuite).to.equal(0xc0a8);
    expect(server.events.find((e) => e.event === 'dtls_established')).to.include({ ems: false });
  });

  it('unknown identity: the client gets a fatal unknown_psk_identity alert', async () => {
    server = await startEchoServer({ psk: null });
    const s = track(connect(server.port, PSK));
    const err = await connected(s).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/unknown_psk_identity/);
    expect(server.server.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
  });

  it('wrong key: the handshake fails with an alert', async () => {
    server = await startEchoServer();
    const s = track(connect(server.port, Buffer.alloc(32, 0x5a)));
    const err = await connected(s).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/bad_record_mac/);
    expect(server.sessions).to.have.length(0);
  });
});
