/**
 * Interop with `openssl s_client -dtls1_2` (OpenSSL 3.0) against shared/psk-tls/dtls on 127.0.0.1:0:
 * all three PSK suites, the resolver inputs, wrong key / unknown identity alerts, and duplicated datagrams.
 */
import { expect } from 'chai';
import {
  IDENTITY,
  PSK_HEX,
  type EchoServer,
  type Proc,
  UdpProxy,
  exitWithin,
  requireBinary,
  run,
  startEchoServer,
} from '../support/dtls-interop.js';

const sClient = (port: number, cipher: string, psk = PSK_HEX, identity = IDENTITY): Proc =>
  run('openssl', [
    's_client',
    '-dtls1_2',
    '-connect',
    `127.0.0.1:${port}`,
    '-psk',
    psk,
    '-psk_identity',
    identity,
    '-cipher',
    cipher,
  ]);

describe('dtls interop: openssl s_client', function () {
  this.timeout(20_000);
  let server: EchoServer | undefined;
  let proxy: UdpProxy | undefined;
  const procs: Proc[] = [];
  before(() => requireBinary('openssl'));
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill()));
    await proxy?.close();
    proxy = undefined;
    await server?.close();
    server = undefined;
  });

  const suites = [
    ['PSK-AES128-CCM8', 0xc0a8],
    ['PSK-AES128-CBC-SHA256', 0x00ae],
    ['PSK-AES128-GCM-SHA256', 0x00a8],
  ] as const;
  for (const [cipher, code] of suites) {
    it(`${cipher}: handshake, hint, application data both ways, close_notify`, async () => {
      server = await startEchoServer();
      const c = sClient(server.port, cipher);
      procs.push(c);
      await c.waitForOutput(new RegExp(`Cipher is ${cipher}`));
      c.child.stdin.write('hello-openssl\n');
      await c.waitForOutput(/echo:hello-openssl/);
      expect(c.stdout()).to.match(/PSK identity hint: 3GPP-bootstrapping/);
      expect(c.stdout()).to.match(/Extended master secret: yes/);
      expect(server.received.map(String)).to.deep.equal(['hello-openssl\n']);
      expect(server.resolverCalls).to.have.length(1);
      expect(server.resolverCalls[0]).to.deep.include({ identity: IDENTITY, suite: code });
      expect(server.sessions[0]!.cipherSuite).to.equal(code);
      const closed = new Promise<void>((r) => server!.sessions[0]!.once('close', () => r()));
      c.child.stdin.end(); // s_client sends close_notify on EOF
      expect(await exitWithin(c, 5000)).to.equal(0);
      await closed;
      expect(server.server.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    });
  }

  it('wrong PSK: the server sends a fatal alert and s_client fails', async () => {
    server = await startEchoServer();
    const c = sClient(server.port, 'PSK-AES128-CCM8', '00'.repeat(31) + '01');
    procs.push(c);
    const code = await exitWithin(c, 8000);
    expect(code).to.not.equal(0);
    expect(code).to.not.equal('timeout');
    expect(c.stderr() + c.stdout()).to.match(/alert bad record mac/);
    expect(server.sessions).to.have.length(0);
    expect(server.server.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
  });

  it('resolver returns null: unknown_psk_identity alert, s_client fails', async () => {
    server = await startEchoServer({ psk: null });
    const c = sClient(server.port, 'PSK-AES128-CCM8', PSK_HEX, '3GPP-bootstrapping.unknown@bsf.example.org');
    procs.push(c);
    const code = await exitWithin(c, 8000);
    expect(code).to.not.equal(0);
    expect(c.stderr() + c.stdout()).to.match(/alert unknown psk identity/);
    expect(server.resolverCalls.map((r) => r.identity)).to.deep.equal(['3GPP-bootstrapping.unknown@bsf.example.org']);
    expect(server.server.stats().halfOpen).to.equal(0);
  });

  it('every client datagram duplicated on the path: handshake completes, each record is delivered once', async () => {
    server = await startEchoServer();
    proxy = new UdpProxy(server.port);
    proxy.copies = 2;
    const port = await proxy.start();
    const c = sClient(port, 'PSK-AES128-CCM8');
    procs.push(c);
    await c.waitForOutput(/Cipher is PSK-AES128-CCM8/);
    c.child.stdin.write('once\n');
    await c.waitForOutput(/echo:once/);
    c.child.stdin.write('twice?\n');
    await c.waitForOutput(/echo:twice\?/);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.received.map(String)).to.deep.equal(['once\n', 'twice?\n']);
    expect(server.events.filter((e) => e.event === 'dtls_replay_dropped').length).to.be.at.least(2);
    expect(server.sessions).to.have.length(1);
  });
});
