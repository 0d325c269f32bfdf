/**
 * Found by the hostile-input campaign (test/hostile/, target dtls-post-cookie): a cookie-verified ClientHello with
 * message_seq 0xffff made the server number its flight past 16 bits, throw, and answer internal_error (80).
 * RFC 6347 §4.2.2: such a ClientHello cannot start a handshake; the answer is illegal_parameter (47).
 */
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { startEchoServer, type EchoServer } from '../../../../support/dtls-interop.js';
import { TestPeer } from '../../../../support/dtls-test-peer.js';
import { MAX_CLIENT_HELLO_SEQ } from '../../../../../shared/psk-tls/dtls/association.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DTLS: ClientHello message_seq near 2^16', () => {
  let srv: EchoServer;
  before(async () => {
    srv = await startEchoServer({});
  });
  after(async () => {
    await srv.close();
  });

  /** The cookie exchange, then ClientHello#2 with its message_seq (record offset 13 + 4) set to `seq`. */
  async function helloWithSeq(seq: number): Promise<Buffer[]> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    const peer = new TestPeer({
      psk: Buffer.alloc(16),
      identity: 'x',
      send: (d) => {
        if (sent.push(d) === 1) s.send(d, srv.port, '127.0.0.1');
      },
    });
    s.on('message', (m) => {
      if (sent.length < 2) peer.receive(m);
      else got.push(m);
    });
    peer.sendClientHello();
    for (let i = 0; i < 200 && sent.length < 2; i++) await sleep(5);
    expect(sent.length, 'no HelloVerifyRequest').to.equal(2);
    const ch2 = Buffer.from(sent[1]!);
    ch2.writeUInt16BE(seq, 13 + 4);
    s.send(ch2, srv.port, '127.0.0.1');
    for (let i = 0; i < 100 && got.length === 0; i++) await sleep(5);
    s.close();
    return got;
  }

  it('0xffff → fatal illegal_parameter, not internal_error', async () => {
    srv.events.length = 0;
    const got = await helloWithSeq(0xffff);
    expect(got[0]?.[0], 'an alert record').to.equal(21);
    expect(got[0]!.subarray(13).toString('hex')).to.equal('022f');
    expect(srv.events.filter((e) => e.event === 'dtls_internal_error')).to.deep.equal([]);
  });

  it(`${MAX_CLIENT_HELLO_SEQ} still starts a handshake (ServerHello)`, async () => {
    const got = await helloWithSeq(MAX_CLIENT_HELLO_SEQ);
    expect(got[0]?.[0]).to.equal(22);
    expect(got[0]?.[13], 'ServerHello').to.equal(2);
  });
});
