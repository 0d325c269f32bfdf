/** Diameter peers over real TCP sockets: CER/CEA policy (C5), several connections per identity, DPR, hostile framing. */
import { expect } from 'chai';
import { createConnection, type Socket } from 'node:net';
import {
  startDiameterServer,
  DiameterClient,
  resultOf,
  type RunningDiameterServer,
} from '../../../../shared/diameter/peer.js';
import { avp, decodeMessage, encodeMessage, FLAG_R } from '../../../../shared/diameter/codec.js';
import { APP_ZH, CMD, RC } from '../../../../shared/diameter/dictionary.js';
import { createLogger } from '../../../../shared/log.js';

const log = createLogger({ level: 'error', bindings: {}, write: () => undefined });
const waitFor = async (f: () => boolean, ms = 10000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
};

function rawCer(originHost: string): Buffer {
  return encodeMessage({
    flags: FLAG_R,
    commandCode: CMD.CE,
    applicationId: 0,
    hopByHop: 7,
    endToEnd: 9,
    avps: [
      avp('Origin-Host', originHost),
      avp('Origin-Realm', 'lab'),
      avp('Host-IP-Address', '127.0.0.1'),
      avp('Vendor-Id', 0),
      avp('Product-Name', 't'),
      avp('Vendor-Specific-Application-Id', [avp('Vendor-Id', 10415), avp('Auth-Application-Id', APP_ZH)]),
    ],
  });
}

function readOne(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const len = buf.length >= 4 ? buf.readUInt32BE(0) & 0xffffff : Infinity;
      if (buf.length >= len) resolve(buf.subarray(0, len));
    });
    s.on('error', reject);
  });
}

describe('Diameter peer over TCP (RFC 6733 §5, C5)', function () {
  this.timeout(30000);
  let server: RunningDiameterServer;
  before(async () => {
    server = await startDiameterServer({
      host: '127.0.0.1',
      port: 0,
      local: { host: 'hss.lab', realm: 'lab', applicationId: APP_ZH },
      log,
      allowedPeers: (h) => h === 'bsf.lab',
      onRequest: async (req, conn) => conn.answer(req, RC.SUCCESS, []),
    });
  });
  after(() => server.close());

  it('an unknown Origin-Host gets CEA 3010 (E bit, same ids) and the connection is closed', async () => {
    const s = createConnection({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => s.once('connect', r));
    s.write(rawCer('stranger.lab'));
    const cea = decodeMessage(await readOne(s));
    expect(resultOf(cea)).to.equal(RC.UNKNOWN_PEER);
    expect(cea).to.include({ commandCode: CMD.CE, hopByHop: 7, endToEnd: 9 });
    expect(cea.flags & 0x20).to.equal(0x20);
    await new Promise<void>((r) => {
      if (s.destroyed || s.readableEnded) r();
      else s.once('close', () => r());
      s.resume();
    });
  });

  it('a 16 MiB length field closes the connection without buffering it', async () => {
    const s = createConnection({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => s.once('connect', r));
    s.write(Buffer.from([1, 0xff, 0xff, 0xfc, 0x80, 0, 1, 1]));
    await new Promise<void>((r) => s.once('close', () => r()));
  });

  it('several connections from the allowed identity all stay up; a DPR on one leaves the other serving', async () => {
    const mk = () =>
      new DiameterClient({
        host: '127.0.0.1',
        port: server.port,
        local: { host: 'bsf.lab', realm: 'lab', applicationId: APP_ZH },
        log,
      });
    const a = mk();
    const b = mk();
    await waitFor(() => a.state === 'open' && b.state === 'open');
    await waitFor(() => [...server.connections].filter((c) => c.state === 'open').length === 2);
    await a.close();
    await waitFor(() => [...server.connections].filter((c) => c.state === 'open').length === 1);
    const ans = await b.request({
      commandCode: CMD.MA,
      applicationId: APP_ZH,
      avps: [avp('Session-Id', 's;1'), avp('Origin-Host', 'bsf.lab'), avp('Origin-Realm', 'lab')],
    });
    expect(resultOf(ans)).to.equal(RC.SUCCESS);
    expect(ans.avps[0]!.code).to.equal(263); // Session-Id first
    await b.close();
  });

  it('an error answer to a request whose Session-Id has a reserved flag bit is itself well-formed (3009, Session-Id value kept)', async () => {
    const s = createConnection({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => s.once('connect', r));
    s.write(rawCer('bsf.lab'));
    expect(resultOf(decodeMessage(await readOne(s)))).to.equal(RC.SUCCESS);
    s.removeAllListeners('data');
    const req = encodeMessage({
      flags: FLAG_R,
      commandCode: CMD.MA,
      applicationId: APP_ZH,
      hopByHop: 11,
      endToEnd: 12,
      avps: [avp('Session-Id', 'bsf.lab;1;2'), avp('Origin-Host', 'bsf.lab'), avp('Origin-Realm', 'lab')],
    });
    req[20 + 4] = req[20 + 4]! | 0x01;
    s.write(req);
    const ans = decodeMessage(await readOne(s)); // throws if the answer echoed the reserved bit
    expect(resultOf(ans)).to.equal(RC.INVALID_AVP_BITS);
    expect(ans.avps[0]).to.include({ code: 263, flags: 0x40 });
    expect(ans.avps[0]!.data.toString()).to.equal('bsf.lab;1;2');
    s.destroy();
  });

  it("DPRs crossing on shutdown: the server, having sent its own DPR, still answers the peer's DPR with DPA 2001 (RFC 6733 §5.4)", async () => {
    const own = await startDiameterServer({
      host: '127.0.0.1',
      port: 0,
      local: { host: 'hss.lab', realm: 'lab', applicationId: APP_ZH },
      log,
      allowedPeers: (h) => h === 'bsf.lab',
    });
    const s = createConnection({ host: '127.0.0.1', port: own.port });
    await new Promise((r) => s.once('connect', r));
    s.write(rawCer('bsf.lab'));
    expect(resultOf(decodeMessage(await readOne(s)))).to.equal(RC.SUCCESS);
    s.removeAllListeners('data');
    const closing = own.close(); // the server sends DPR and waits (bounded) for the DPA
    const dpr = decodeMessage(await readOne(s));
    expect([dpr.commandCode, dpr.flags & FLAG_R]).to.deep.equal([CMD.DP, FLAG_R]);
    s.removeAllListeners('data');
    s.write(
      encodeMessage({
        flags: FLAG_R,
        commandCode: CMD.DP,
        applicationId: 0,
        hopByHop: 21,
        endToEnd: 22,
        avps: [avp('Origin-Host', 'bsf.lab'), avp('Origin-Realm', 'lab'), avp('Disconnect-Cause', 0)],
      }),
    );
    const dpa = decodeMessage(await readOne(s));
    expect(dpa).to.include({ commandCode: CMD.DP, hopByHop: 21 });
    expect(resultOf(dpa)).to.equal(RC.SUCCESS);
    s.destroy();
    await closing;
  });
});
