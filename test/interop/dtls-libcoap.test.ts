/**
 * Interop with libcoap 4.3.1 `coap-client-openssl` and `coap-client-gnutls` over coaps:// against shared/psk-tls/dtls.
 * The CoAP side is a one-shot responder built by hand: ACK 2.05, same MID and token, payload "hi" (RFC 7252 §3).
 */
import { expect } from 'chai';
import {
  IDENTITY,
  type EchoServer,
  type Proc,
  exitWithin,
  requireBinary,
  run,
  startEchoServer,
} from '../support/dtls-interop.js';

/** libcoap's -k is literal text (toolchain notes §6.3): use a printable 32-octet key. */
const KEY = 'secretPSK-0123456789abcdef-32oct';

/** Answers a CON request (code class 0, detail ≠ 0) with a piggybacked 2.05; ignores anything else. */
function coapAck(req: Buffer): Buffer | undefined {
  if (req.length < 4 || req[0]! >> 6 !== 1 || ((req[0]! >> 4) & 3) !== 0) return undefined;
  const tkl = req[0]! & 0x0f;
  if (tkl > 8 || req.length < 4 + tkl || req[1] === 0 || req[1]! >> 5 !== 0) return undefined;
  return Buffer.concat([
    Buffer.from([0x60 | tkl, 0x45, req[2]!, req[3]!]),
    req.subarray(4, 4 + tkl),
    Buffer.from([0xff]),
    Buffer.from('hi'),
  ]);
}

describe('dtls interop: libcoap coap-client', function () {
  this.timeout(20_000);
  let server: EchoServer | undefined;
  const procs: Proc[] = [];
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill()));
    await server?.close();
    server = undefined;
  });

  for (const bin of ['coap-client-openssl', 'coap-client-gnutls']) {
    it(`${bin}: DTLS-PSK handshake and a CoAP GET answered 2.05`, async () => {
      requireBinary(bin);
      server = await startEchoServer({ psk: Buffer.from(KEY), respond: coapAck });
      const c = run(bin, ['-B', '5', '-u', IDENTITY, '-k', KEY, `coaps://127.0.0.1:${server.port}/x`]);
      procs.push(c);
      expect(await exitWithin(c, 10_000)).to.equal(0);
      expect(c.stdout()).to.match(/^hi/m);
      expect(server.sessions).to.have.length(1);
      expect(server.sessions[0]!.cipherSuite).to.equal(0xc0a8);
      expect(server.resolverCalls[0]).to.deep.include({ identity: IDENTITY, suite: 0xc0a8 });
      expect(server.received).to.have.length.at.least(1);
      expect(server.received[0]![1]).to.equal(0x01); // GET
      // libcoap sends SNI "127.0.0.1" even for an IP literal (docs/standards-notes/lwm2m-coap-dtls.md §6.1)
      expect(server.sessions[0]!.serverName).to.equal('127.0.0.1');
    });
  }

  it('coap-client-openssl with the wrong key fails and leaves no state', async () => {
    requireBinary('coap-client-openssl');
    server = await startEchoServer({ psk: Buffer.from(KEY), respond: coapAck });
    const c = run('coap-client-openssl', [
      '-B',
      '3',
      '-u',
      IDENTITY,
      '-k',
      'wrong-key-wrong-key-wrong-key-xx',
      `coaps://127.0.0.1:${server.port}/x`,
    ]);
    procs.push(c);
    await exitWithin(c, 10_000);
    expect(c.stdout()).to.not.match(/^hi/m);
    expect(server.sessions).to.have.length(0);
    expect(server.events.some((e) => e.event === 'dtls_alert_sent' && e.alert === 'badRecordMac')).to.equal(true);
    expect(server.server.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
  });
});
