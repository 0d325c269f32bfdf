/**
 * The server core (shared/psk-tls/dtls/endpoint.ts) driven in memory by the test peer: no sockets, so "fake" source
 * addresses and ports are free. Covers the handshake per suite, wire details of the flights, alerts, replay,
 * retransmission, fragmentation, client restart, caps, expiry, RFC 9146 CID, malformed datagrams and a HelloVerify flood.
 */
import { expect } from 'chai';
import { AlertDescription, AlertLevel } from '../../../../../shared/psk-tls/dtls/alerts.js';
import {
  ContentType,
  DTLS_1_0,
  DTLS_1_2,
  ExtensionType,
  HandshakeType,
} from '../../../../../shared/psk-tls/dtls/constants.js';
import { DtlsEndpoint, type EndpointOptions } from '../../../../../shared/psk-tls/dtls/endpoint.js';
import { ext, findExtension } from '../../../../../shared/psk-tls/dtls/extensions.js';
import {
  decodeHandshakeFragments,
  encodeHandshake,
  encodeHandshakeFragment,
} from '../../../../../shared/psk-tls/dtls/handshake.js';
import { decodeHelloVerifyRequest, encodeClientHello } from '../../../../../shared/psk-tls/dtls/messages.js';
import { encodeRecord, encodeRecordHeader, parseDatagram } from '../../../../../shared/psk-tls/dtls/record.js';
import type { DtlsSession } from '../../../../../shared/psk-tls/dtls/session.js';
import { InputError } from '../../../../../shared/errors.js';
import { TestPeer, peerKey, type TestPeerOptions } from '../../../../support/dtls-test-peer.js';

const PSK = Buffer.from('b0405f96ab34d0927af4ef40732ee7c646f21a8f9dbfad2f911badbd96a99c99', 'hex');
const IDENTITY = '3GPP-bootstrapping.I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
type Addr = { address: string; port: number };
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const waitFor = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await tick(5);
  }
};

/** An endpoint with an echo application, plus helpers to attach test peers at arbitrary addresses. */
class Harness {
  readonly ep: DtlsEndpoint;
  readonly peers = new Map<string, TestPeer>();
  readonly out: { datagram: Buffer; to: Addr }[] = [];
  readonly sessions: DtlsSession[] = [];
  readonly received: Buffer[] = [];
  readonly resolverCalls: { identity: string; suite: number; peer: Addr }[] = [];
  readonly events: Record<string, unknown>[] = [];
  /** Return true to lose a server→client datagram. */
  dropToClient: (d: Buffer, to: Addr) => boolean = () => false;
  psk: Buffer | null = PSK;
  private nextPort = 40000;

  constructor(opts: Partial<EndpointOptions> = {}) {
    this.ep = new DtlsEndpoint(
      {
        pskIdentityHint: '3GPP-bootstrapping',
        cipherSuites: [0xc0a8, 0x00ae, 0x00a8],
        resolvePsk: async (identity, suite, peer) => {
          this.resolverCalls.push({ identity: identity.toString(), suite, peer });
          return this.psk;
        },
        retransmit: { initialMs: 40, maxMs: 200 },
        log: (e) => this.events.push(e),
        ...opts,
      },
      (datagram, to) => {
        this.out.push({ datagram, to });
        if (this.dropToClient(datagram, to)) return;
        const p = this.peers.get(peerKey(to));
        if (p) setImmediate(() => p.receive(datagram));
      },
    );
    this.ep.on('session', (s: DtlsSession) => {
      this.sessions.push(s);
      s.on('data', (d: Buffer) => {
        this.received.push(d);
        s.send(Buffer.concat([Buffer.from('echo:'), d]));
      });
    });
  }

  addr(address = '10.0.0.1'): Addr {
    return { address, port: this.nextPort++ };
  }

  client(opts: Partial<TestPeerOptions> = {}, at: Addr = this.addr()): TestPeer {
    const p = new TestPeer({
      psk: PSK,
      identity: IDENTITY,
      send: (d) => setImmediate(() => this.ep.receive(d, at)),
      ...opts,
    });
    this.peers.set(peerKey(at), p);
    return p;
  }

  sentTo(at: Addr): Buffer[] {
    return this.out.filter((o) => o.to.address === at.address && o.to.port === at.port).map((o) => o.datagram);
  }
}

/** Records of a datagram, with the handshake message types they carry (plaintext epoch 0 only). */
function describeDatagram(
  d: Buffer,
): { type: number; epoch: number; seq: number; msgs: { type: number; seq: number }[] }[] {
  return parseDatagram(d).records.map((r) => ({
    type: r.type,
    epoch: r.epoch,
    seq: r.seq,
    msgs:
      r.type === ContentType.handshake && r.epoch === 0
        ? decodeHandshakeFragments(r.fragment).map((f) => ({ type: f.msgType, seq: f.messageSeq }))
        : [],
  }));
}

function clientHelloDatagram(opts: { random?: Buffer; cookie?: Buffer; seq?: number; suites?: number[] } = {}): Buffer {
  const body = encodeClientHello({
    clientVersion: DTLS_1_2,
    random: opts.random ?? Buffer.alloc(32, 9),
    sessionId: Buffer.alloc(0),
    cookie: opts.cookie ?? Buffer.alloc(0),
    cipherSuites: opts.suites ?? [0xc0a8, 0x00ff],
    compressionMethods: Buffer.from([0]),
    extensions: [ext.extendedMasterSecret()],
  });
  return encodeRecord({
    type: ContentType.handshake,
    version: DTLS_1_0,
    epoch: 0,
    seq: opts.seq ?? 0,
    fragment: encodeHandshake(HandshakeType.clientHello, 0, body),
  });
}

describe('dtls endpoint (in memory)', function () {
  this.timeout(10_000);
  let h: Harness;
  afterEach(() => h?.ep.close());

  describe('handshake and application data', () => {
    for (const [suite, name] of [
      [0xc0a8, 'CCM_8'],
      [0x00a8, 'GCM'],
      [0x00ae, 'CBC_SHA256'],
    ] as const) {
      for (const ems of [true, false]) {
        it(`completes with ${name} (${ems ? 'extended' : 'classic'} master secret) and echoes data`, async () => {
          h = new Harness();
          const at = h.addr();
          const p = h.client({ suites: [suite], ems }, at);
          await p.handshake();
          expect(p.serverHello!.cipherSuite).to.equal(suite);
          expect(!!findExtension(p.serverHello!.extensions, ExtensionType.extendedMasterSecret)).to.equal(ems);
          expect(p.hint!.toString()).to.equal('3GPP-bootstrapping');
          p.sendApp(Buffer.from('hello'));
          await waitFor(() => p.data.length === 1);
          expect(p.data[0]!.toString()).to.equal('echo:hello');
          expect(h.resolverCalls).to.deep.equal([{ identity: IDENTITY, suite, peer: at }]);
          const s = h.sessions[0]!;
          expect(s.cipherSuite).to.equal(suite);
          expect(s.pskIdentity.toString()).to.equal(IDENTITY);
          expect(s.peer).to.deep.equal(at);
          expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 1 });
        });
      }
    }

    it('chooses by server preference, not client order', async () => {
      h = new Harness({ cipherSuites: [0xc0a8, 0x00ae] });
      const p = h.client({ suites: [0x00ae, 0x00a8, 0xc0a8] });
      await p.handshake();
      expect(p.serverHello!.cipherSuite).to.equal(0xc0a8);
      expect(h.resolverCalls[0]!.suite).to.equal(0xc0a8);
    });

    it('follows the flight layout: HVR reuses CH record seq, SH/SKE/SHD msg_seq 1..3 in one datagram from CH2 record seq', async () => {
      h = new Harness();
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      const [hvr, flight4, flight6] = h.sentTo(at);
      const ch1 = describeDatagram(p.sent[0]!)[0]!;
      const hvrRec = describeDatagram(hvr!);
      expect(hvrRec).to.have.length(1);
      expect(hvrRec[0]).to.deep.include({ epoch: 0, seq: ch1.seq });
      expect(hvrRec[0]!.msgs).to.deep.equal([{ type: HandshakeType.helloVerifyRequest, seq: 0 }]);
      expect(parseDatagram(hvr!).records[0]!.version).to.equal(DTLS_1_0);
      expect(hvr!.length).to.be.at.most(p.sent[0]!.length);
      const ch2 = describeDatagram(p.sent[1]!)[0]!;
      expect(describeDatagram(flight4!).map((r) => [r.seq, r.msgs[0]!.type, r.msgs[0]!.seq])).to.deep.equal([
        [ch2.seq, HandshakeType.serverHello, 1],
        [ch2.seq + 1, HandshakeType.serverKeyExchange, 2],
        [ch2.seq + 2, HandshakeType.serverHelloDone, 3],
      ]);
      const f6 = describeDatagram(flight6!);
      expect(f6.map((r) => [r.type, r.epoch, r.seq])).to.deep.equal([
        [ContentType.changeCipherSpec, 0, ch2.seq + 3],
        [ContentType.handshake, 1, 0],
      ]);
    });

    it('echoes only what was offered: no extensions block for a bare hello; reneg for SCSV; never ETM or session_ticket', async () => {
      h = new Harness();
      const bare = h.client({ ems: false, scsv: false });
      await bare.handshake();
      expect(bare.serverHello!.extensions).to.deep.equal([]);
      const rich = h.client({
        extraExtensions: [
          { type: ExtensionType.encryptThenMac, data: Buffer.alloc(0) },
          { type: ExtensionType.sessionTicket, data: Buffer.alloc(0) },
          ext.serverName('naf.example.org'),
        ],
      });
      await rich.handshake();
      expect(rich.serverHello!.extensions.map((e) => e.type)).to.deep.equal([
        ExtensionType.renegotiationInfo,
        ExtensionType.extendedMasterSecret,
      ]);
      expect(h.sessions[1]!.serverName).to.equal('naf.example.org');
    });

    it('omits ServerKeyExchange when the hint is empty (RFC 4279 §2)', async () => {
      h = new Harness({ pskIdentityHint: '' });
      const p = h.client();
      await p.handshake();
      expect(p.hint).to.equal(undefined);
    });

    it('echoes max_fragment_length and enforces it on send', async () => {
      h = new Harness();
      const p = h.client({ extraExtensions: [{ type: ExtensionType.maxFragmentLength, data: Buffer.from([1]) }] });
      await p.handshake();
      expect(findExtension(p.serverHello!.extensions, ExtensionType.maxFragmentLength)!.data).to.deep.equal(
        Buffer.from([1]),
      );
      expect(() => h.sessions[0]!.send(Buffer.alloc(513))).to.throw(InputError);
      h.sessions[0]!.send(Buffer.alloc(512));
      await waitFor(() => p.data.length === 1);
    });

    it('handles flight 5 in three datagrams (GnuTLS) and with the Finished before the CCS (reordering)', async () => {
      h = new Harness();
      const at = h.addr();
      const queue: Buffer[] = [];
      const p = h.client({ splitFlight5: true }, at);
      let n = 0;
      p.setSend((d) => {
        n++;
        if (n < 3) {
          setImmediate(() => h.ep.receive(d, at));
          return;
        }
        queue.push(d); // flight 5: CKE, CCS, Finished → deliver CKE, Finished, CCS
        if (queue.length === 3) for (const i of [0, 2, 1]) setImmediate(() => h.ep.receive(queue[i]!, at));
      });
      await p.handshake();
      expect(h.ep.stats().associations).to.equal(1);
    });

    it('reassembles fragmented ClientKeyExchange and Finished, and fragments its own flight for a small MTU', async () => {
      h = new Harness({ mtu: 70 });
      const at = h.addr();
      const p = h.client({ fragmentSize: 16 }, at);
      await p.handshake();
      expect(p.flight5[0]!.length).to.be.greaterThan(0);
      expect(
        describeDatagram(p.flight5[0]!).filter((r) => r.epoch === 0 && r.type === ContentType.handshake).length,
      ).to.be.greaterThan(3);
      const flight4 = h.sentTo(at)[1]!;
      expect(h.sentTo(at).length).to.be.greaterThan(3); // flight 4 spread over several datagrams
      for (const d of h.sentTo(at)) expect(d.length).to.be.at.most(70);
      expect(describeDatagram(flight4).length).to.be.greaterThan(0);
      p.sendApp(Buffer.from('x'));
      await waitFor(() => p.data.length === 1);
    });
  });

  describe('failures and alerts', () => {
    it('wrong PSK: fatal bad_record_mac on the client Finished, no session, no state', async () => {
      h = new Harness();
      const p = h.client({ psk: Buffer.alloc(32, 1) });
      const err = await p.handshake().then(
        () => null,
        (e: { alert?: { description: number } }) => e,
      );
      expect(err?.alert?.description).to.equal(AlertDescription.badRecordMac);
      expect(h.sessions).to.have.length(0);
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    });

    it('right keys but wrong verify_data: fatal decrypt_error (RFC 5246 §7.4.9)', async () => {
      h = new Harness();
      const p = h.client({ corruptFinished: true });
      const err = await p.handshake().then(
        () => null,
        (e: { alert?: { level: number; description: number } }) => e,
      );
      expect(err?.alert).to.deep.equal({ level: AlertLevel.fatal, description: AlertDescription.decryptError });
      expect(h.sessions).to.have.length(0);
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    });

    it('resolver returns null: fatal unknown_psk_identity (RFC 4279 §2)', async () => {
      h = new Harness();
      h.psk = null;
      const p = h.client();
      const err = await p.handshake().then(
        () => null,
        (e: { alert?: { level: number; description: number } }) => e,
      );
      expect(err?.alert).to.deep.equal({ level: AlertLevel.fatal, description: AlertDescription.unknownPskIdentity });
      expect(h.ep.stats().halfOpen).to.equal(0);
    });

    it('no common cipher suite: handshake_failure; DTLS 1.0 only: protocol_version', async () => {
      h = new Harness({ cipherSuites: [0x00ae] });
      const err = await h
        .client({ suites: [0xc0a8] })
        .handshake()
        .then(
          () => null,
          (e: { alert?: { description: number } }) => e,
        );
      expect(err?.alert?.description).to.equal(AlertDescription.handshakeFailure);
      const at = h.addr();
      const ch = (cookie: Buffer): Buffer =>
        encodeRecord({
          type: 22,
          version: DTLS_1_0,
          epoch: 0,
          seq: 1,
          fragment: encodeHandshake(
            1,
            1,
            encodeClientHello({
              clientVersion: DTLS_1_0,
              random: Buffer.alloc(32, 3),
              sessionId: Buffer.alloc(0),
              cookie,
              cipherSuites: [0x00ae],
              compressionMethods: Buffer.from([0]),
            }),
          ),
        });
      h.ep.receive(ch(Buffer.alloc(0)), at);
      const cookie = decodeHelloVerifyRequest(
        decodeHandshakeFragments(parseDatagram(h.sentTo(at)[0]!).records[0]!.fragment)[0]!.body,
      ).cookie;
      h.ep.receive(ch(cookie), at);
      const alert = parseDatagram(h.sentTo(at)[1]!).records[0]!;
      expect([alert.type, ...alert.fragment]).to.deep.equal([ContentType.alert, 2, AlertDescription.protocolVersion]);
    });

    it('renegotiation (ClientHello at epoch 1) gets a no_renegotiation warning and the session lives on', async () => {
      h = new Harness();
      const p = h.client();
      await p.handshake();
      p.sendEncryptedHandshake(HandshakeType.clientHello, p.clientHelloBody());
      await waitFor(() => p.alerts.length === 1);
      expect(p.alerts[0]).to.deep.equal({ level: AlertLevel.warning, description: AlertDescription.noRenegotiation });
      p.sendApp(Buffer.from('still here'));
      await waitFor(() => p.data.length === 1);
    });

    it('close_notify from the client closes the session and is answered; session.close() sends close_notify', async () => {
      h = new Harness();
      const p = h.client();
      await p.handshake();
      let closed = 0;
      h.sessions[0]!.on('close', () => closed++);
      p.sendAlert(AlertLevel.warning, AlertDescription.closeNotify);
      await waitFor(() => closed === 1 && p.alerts.length === 1);
      expect(p.alerts[0]!.description).to.equal(AlertDescription.closeNotify);
      expect(h.ep.stats().associations).to.equal(0);
      const q = h.client();
      await q.handshake();
      h.sessions[1]!.close();
      await waitFor(() => q.alerts.length === 1);
      expect(q.alerts[0]).to.deep.equal({ level: AlertLevel.warning, description: AlertDescription.closeNotify });
      expect(h.ep.stats().associations).to.equal(0);
      h.sessions[1]!.send(Buffer.from('ignored after close')); // no throw, logged
      expect(h.events.some((e) => e.event === 'dtls_send_after_close')).to.equal(true);
    });
  });

  describe('records after the handshake', () => {
    it('delivers a replayed application record once (RFC 6347 §4.1.2.6)', async () => {
      h = new Harness();
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      const d1 = p.sendApp(Buffer.from('one'));
      const d2 = p.sendApp(Buffer.from('two'));
      await waitFor(() => h.received.length === 2);
      for (const d of [d1, d2, d1, d1, d2]) h.ep.receive(d, at);
      await tick(20);
      expect(h.received.map(String)).to.deep.equal(['one', 'two']);
      expect(h.events.filter((e) => e.event === 'dtls_replay_dropped')).to.have.length(5);
    });

    it('accepts reordered records inside the window once each', async () => {
      h = new Harness();
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      p.setSend(() => undefined); // hold them back
      const ds = ['a', 'b', 'c', 'd'].map((s) => p.sendApp(Buffer.from(s)));
      for (const i of [3, 0, 2, 1, 3, 0]) h.ep.receive(ds[i]!, at);
      expect(h.received.map(String)).to.deep.equal(['d', 'a', 'c', 'b']);
    });

    it('silently drops records that do not authenticate (RFC 6347 §4.1.2.7), keeping the session', async () => {
      h = new Harness();
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      p.setSend(() => undefined);
      const bad = Buffer.from(p.sendApp(Buffer.from('tampered')));
      bad[bad.length - 1]! ^= 1;
      const alertsBefore = h.out.length;
      h.ep.receive(bad, at);
      expect(h.out.length).to.equal(alertsBefore);
      h.ep.receive(p.sendApp(Buffer.from('fine')), at);
      expect(h.received.map(String)).to.deep.equal(['fine']);
    });

    it('ignores unauthenticated epoch-0 records and an epoch-0 CCS once established', async () => {
      h = new Harness();
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      h.ep.receive(
        encodeRecord({ type: 21, version: DTLS_1_2, epoch: 0, seq: 99, fragment: Buffer.from([2, 40]) }),
        at,
      );
      h.ep.receive(encodeRecord({ type: 20, version: DTLS_1_2, epoch: 0, seq: 100, fragment: Buffer.from([1]) }), at);
      expect(h.ep.stats().associations).to.equal(1);
    });
  });

  describe('retransmission (RFC 6347 §4.2.4)', () => {
    it('retransmits a lost flight 4 on the timer with the same message_seq and fresh record seqs', async () => {
      h = new Harness();
      const at = h.addr();
      let dropped = 0;
      h.dropToClient = (d) => {
        const r = describeDatagram(d)[0];
        if (r?.msgs[0]?.type === HandshakeType.serverHello && dropped === 0) {
          dropped++;
          return true;
        }
        return false;
      };
      const p = h.client({}, at);
      await p.handshake();
      const flights4 = h.sentTo(at).filter((d) => describeDatagram(d)[0]?.msgs[0]?.type === HandshakeType.serverHello);
      expect(flights4).to.have.length(2);
      const [a, b] = flights4.map(describeDatagram);
      expect(a!.map((r) => r.msgs[0]!.seq)).to.deep.equal(b!.map((r) => r.msgs[0]!.seq));
      expect(b![0]!.seq).to.be.greaterThan(a![2]!.seq);
      expect(h.events.some((e) => e.event === 'dtls_flight_retransmitted' && e.reason === 'timer')).to.equal(true);
    });

    it('resends flight 4 when ClientHello#2 is retransmitted', async () => {
      h = new Harness({ retransmit: { initialMs: 10_000 } });
      const at = h.addr();
      h.dropToClient = (d) =>
        describeDatagram(d)[0]?.msgs[0]?.type === HandshakeType.serverHello && h.sentTo(at).length === 2;
      const p = h.client({}, at);
      const done = p.handshake();
      await waitFor(() => h.sentTo(at).length === 2);
      // the client's timer: ClientHello#2 again, with a new record sequence number
      const ch2 = parseDatagram(p.sent[1]!).records[0]!;
      h.ep.receive(encodeRecord({ ...ch2, seq: ch2.seq + 5 }), at);
      await done;
      expect(h.events.some((e) => e.reason === 'client_hello_retransmitted')).to.equal(true);
    });

    it('resends flight 6 when the client retransmits its Finished flight', async () => {
      h = new Harness();
      const p = h.client();
      await p.handshake();
      expect(p.flight6Count).to.equal(1);
      p.retransmitFlight5();
      await waitFor(() => p.flight6Count === 2);
      expect(h.events.some((e) => e.reason === 'finished_retransmitted')).to.equal(true);
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 1 });
    });

    it('gives up after repeated retransmissions and frees the handshake', async () => {
      h = new Harness({ retransmit: { initialMs: 5, maxMs: 10 } });
      h.dropToClient = (d) => describeDatagram(d)[0]?.msgs[0]?.type === HandshakeType.serverHello;
      const p = h.client();
      const done = p.handshake(400).catch(() => undefined);
      await waitFor(() => h.ep.stats().halfOpen === 1);
      await waitFor(() => h.ep.stats().halfOpen === 0, 3000);
      await done;
      expect(h.events.some((e) => e.reason === 'retransmissions_exhausted')).to.equal(true);
    });
  });

  describe('client restart (RFC 6347 §4.2.8)', () => {
    it('runs the cookie exchange, keeps the old association until the new Finished, then replaces it', async () => {
      h = new Harness();
      const at = h.addr();
      const first = h.client({}, at);
      await first.handshake();
      let oldClosed = false;
      h.sessions[0]!.on('close', () => {
        oldClosed = true;
      });
      const second = h.client({}, at); // same address:port, fresh state
      let sawHvr = false;
      second.once('hvr', () => {
        sawHvr = true;
        expect(oldClosed).to.equal(false);
        expect(h.ep.stats().associations).to.equal(1);
      });
      second.once('flight4', () => expect(h.ep.stats()).to.deep.equal({ halfOpen: 1, associations: 1 }));
      await second.handshake();
      expect(sawHvr).to.equal(true);
      await waitFor(() => oldClosed);
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 1 });
      second.sendApp(Buffer.from('after restart'));
      await waitFor(() => second.data.length === 1);
      expect(h.sessions).to.have.length(2);
    });

    it('keeps the old association when the new handshake fails', async () => {
      h = new Harness();
      const at = h.addr();
      const first = h.client({}, at);
      await first.handshake();
      const second = h.client({ psk: Buffer.alloc(32, 7) }, at);
      await second.handshake().then(
        () => {
          throw new Error('should fail');
        },
        () => undefined,
      );
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 1 });
      h.peers.set(peerKey(at), first);
      first.sendApp(Buffer.from('old still works'));
      await waitFor(() => first.data.length === 1);
    });
  });

  describe('bounded state', () => {
    it('caps established associations in total: the least recently active goes', async () => {
      h = new Harness({ limits: { maxAssociations: 2 } });
      for (let i = 0; i < 3; i++) await h.client({}, h.addr(`10.1.2.${i}`)).handshake();
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 2 });
      expect(h.sessions[0]!.peer.address).to.equal('10.1.2.0');
      expect(h.events.filter((e) => e.reason === 'evicted_idle_association')).to.have.length(1);
    });

    it('expires idle associations and stalled handshakes', async () => {
      h = new Harness({ limits: { idleTimeoutMs: 80, handshakeTimeoutMs: 80 }, resolvePsk: async () => PSK });
      const p = h.client();
      await p.handshake();
      let closed = false;
      h.sessions[0]!.on('close', () => {
        closed = true;
      });
      const stalled = new Harness({
        limits: { handshakeTimeoutMs: 80 },
        resolvePsk: () => new Promise(() => undefined),
      });
      const stalledDone = stalled
        .client()
        .handshake(150)
        .catch(() => undefined);
      await waitFor(() => stalled.ep.stats().halfOpen === 1);
      await waitFor(() => closed && stalled.ep.stats().halfOpen === 0, 2000);
      expect(h.ep.stats().associations).to.equal(0);
      stalled.ep.close();
      await stalledDone;
    });

    it('leaves no timers behind after close()', async () => {
      const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      await tick(0); // mocha arms its own test timer after the synchronous part of the test
      const before = timers();
      h = new Harness();
      await h.client().handshake();
      const stalled = h.client({ psk: PSK });
      h.dropToClient = (d) => describeDatagram(d)[0]?.msgs[0]?.type === HandshakeType.serverHello;
      const stalledDone = stalled.handshake(50).catch(() => undefined);
      await waitFor(() => h.ep.stats().halfOpen === 1);
      expect(timers()).to.be.greaterThan(before);
      h.ep.close();
      await stalledDone; // the test peer's own timeout
      expect(timers()).to.equal(before);
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    });

    it('answers a flood of 10,000 cookie-less ClientHellos from 10,000 sources statelessly, with bounded heap', () => {
      h = new Harness();
      const heapBefore = process.memoryUsage().heapUsed;
      let maxRatio = 0;
      for (let i = 0; i < 10_000; i++) {
        const at = { address: `10.${(i >> 8) & 255}.${i & 255}.7`, port: 1024 + i };
        const ch = clientHelloDatagram({
          random: Buffer.alloc(32, i & 255),
          seq: i,
          cookie: i % 2 ? Buffer.alloc(32, 1) : Buffer.alloc(0),
        });
        h.ep.receive(ch, at);
        maxRatio = Math.max(maxRatio, h.out[h.out.length - 1]!.datagram.length / ch.length);
      }
      expect(h.out).to.have.length(10_000); // one HelloVerifyRequest each
      expect(maxRatio).to.be.at.most(1); // no amplification
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
      h.out.length = 0;
      h.events.length = 0;
      expect(process.memoryUsage().heapUsed - heapBefore).to.be.below(64 * 1024 * 1024);
    });

    it('drops a fragmented ClientHello from an unknown peer without keeping state (like OpenSSL DTLSv1_listen)', () => {
      h = new Harness();
      const full = decodeHandshakeFragments(parseDatagram(clientHelloDatagram()).records[0]!.fragment)[0]!;
      const part = encodeHandshakeFragment({ ...full, body: full.body.subarray(0, 20) });
      h.ep.receive(encodeRecord({ type: 22, version: DTLS_1_0, epoch: 0, seq: 0, fragment: part }), h.addr());
      expect(h.out).to.have.length(0);
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
    });
  });

  describe('fair admission (issue 18 finding 2)', () => {
    const isServerHello = (d: Buffer): boolean => describeDatagram(d)[0]?.msgs[0]?.type === HandshakeType.serverHello;
    /** Half-open handshakes from `address`: the cookie exchange completes, then the client never sends flight 5. */
    const flood = (address: string, n: number): Promise<unknown>[] => {
      const out: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++)
        out.push(
          h
            .client({}, h.addr(address))
            .handshake(400)
            .catch(() => undefined),
        );
      return out;
    };

    it('a half-open flood from 4 addresses neither starves a fifth nor silences the flooders', async () => {
      h = new Harness();
      const flooders = ['10.66.0.1', '10.66.0.2', '10.66.0.3', '10.66.0.4'];
      h.dropToClient = (d, to) => flooders.includes(to.address) && isServerHello(d);
      const waiting = flooders.flatMap((a) => flood(a, 260));
      await waitFor(() => h.events.filter((e) => e.event === 'dtls_flight4_sent').length >= 4 * 200, 5000);
      const legit = h.client({}, h.addr('10.0.0.99'));
      await legit.handshake(2000);
      expect(h.sessions).to.have.length(1);
      // New ClientHellos from a flooding address are still answered, at the expense of that address's oldest.
      const before = h.out.filter((o) => o.to.address === flooders[0] && isServerHello(o.datagram)).length;
      await Promise.all(flood(flooders[0]!, 5));
      const after = h.out.filter((o) => o.to.address === flooders[0] && isServerHello(o.datagram)).length;
      expect(after - before).to.be.at.least(5);
      expect(h.ep.stats().halfOpen).to.be.at.most(4 * 32);
      await Promise.all(waiting);
    });

    it('under the global half-open cap evicts the oldest half-open handshake instead of refusing', async () => {
      h = new Harness({ limits: { maxHalfOpen: 3 } });
      h.dropToClient = (d, to) => to.address !== '10.0.0.99' && isServerHello(d);
      const waiting = [...flood('10.66.1.1', 1), ...flood('10.66.1.2', 1), ...flood('10.66.1.3', 1)];
      await waitFor(() => h.ep.stats().halfOpen === 3);
      await h.client({}, h.addr('10.0.0.99')).handshake(2000);
      expect(h.events.some((e) => e.event === 'dtls_closed' && e.reason === 'evicted_half_open')).to.equal(true);
      expect(h.events.some((e) => e.event === 'dtls_handshake_refused')).to.equal(false);
      await Promise.all(waiting);
    });

    it('established associations do not block new handshakes from their address: the least recently active goes', async () => {
      h = new Harness({ limits: { maxPerAddress: 2 } });
      for (let i = 0; i < 3; i++) await h.client({}, h.addr('10.1.1.1')).handshake();
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 2 });
      expect(h.events.some((e) => e.event === 'dtls_closed' && e.reason === 'evicted_idle_association')).to.equal(true);
      expect(h.events.some((e) => e.event === 'dtls_handshake_refused')).to.equal(false);
    });

    it('lets the application set a session idle timeout (the registration lifetime)', async () => {
      h = new Harness();
      await h.client().handshake();
      const s = h.sessions[0]!;
      let closed = false;
      s.on('close', () => {
        closed = true;
      });
      s.setIdleTimeout(60);
      await waitFor(() => closed, 3000);
      expect(h.ep.stats().associations).to.equal(0);
    });

    it('defaults to a handshake lifetime of at most 10 s', () => {
      h = new Harness();
      expect(h.ep.config.handshakeTimeoutMs).to.be.at.most(10_000);
    });
  });

  describe('PSK identities and lookups (issue 18 finding 9)', () => {
    it('answers an identity over 256 octets with unknown_psk_identity without a lookup', async () => {
      h = new Harness();
      const err = await h
        .client({ identity: `3GPP-bootstrapping.${'A'.repeat(8000)}` })
        .handshake()
        .then(
          () => null,
          (e: { alert?: { description: number } }) => e,
        );
      expect(err?.alert?.description).to.equal(AlertDescription.unknownPskIdentity);
      expect(h.resolverCalls).to.have.length(0);
    });

    it('rate-limits lookups per source address: the refused handshake gets unknown_psk_identity', async () => {
      h = new Harness({ limits: { lookupRatePerSource: 0.01, lookupBurstPerSource: 1 } });
      await h.client({}, h.addr('10.2.2.2')).handshake();
      const err = await h
        .client({}, h.addr('10.2.2.2'))
        .handshake()
        .then(
          () => null,
          (e: { alert?: { description: number } }) => e,
        );
      expect(err?.alert?.description).to.equal(AlertDescription.unknownPskIdentity);
      await h.client({}, h.addr('10.2.2.3')).handshake();
      expect(h.resolverCalls).to.have.length(2);
      expect(h.ep.lookupsLimited).to.equal(1);
    });

    it('answers a failed lookup with unknown_psk_identity, never internal_error', async () => {
      for (const resolvePsk of [
        async () => {
          throw new Error('Zn down');
        },
        () => {
          throw new Error('sync');
        },
        async () => Buffer.alloc(0),
      ]) {
        h = new Harness({ resolvePsk: resolvePsk as EndpointOptions['resolvePsk'] });
        const err = await h
          .client()
          .handshake()
          .then(
            () => null,
            (e: { alert?: { description: number } }) => e,
          );
        expect(err?.alert?.description).to.equal(AlertDescription.unknownPskIdentity);
        expect(h.events.some((e) => e.event === 'dtls_alert_sent' && e.alert === 'internalError')).to.equal(false);
        h.ep.close();
      }
    });
  });

  describe('malformed datagrams', () => {
    const hdr = (type: number, version: number, epoch: number, len: number, seq = 0): Buffer =>
      encodeRecordHeader({ type, version, epoch, seq }, len);
    const chBody = decodeHandshakeFragments(parseDatagram(clientHelloDatagram()).records[0]!.fragment)[0]!.body;
    const table: [string, Buffer][] = [
      ['empty datagram', Buffer.alloc(0)],
      ['one byte', Buffer.from([22])],
      ['truncated record header', hdr(22, DTLS_1_2, 0, 10).subarray(0, 12)],
      ['length beyond the datagram', Buffer.concat([hdr(22, DTLS_1_2, 0, 100), Buffer.alloc(10)])],
      ['length above 2^14+2048', Buffer.concat([hdr(23, DTLS_1_2, 1, 0xffff), Buffer.alloc(64)])],
      ['TLS 1.2 version', Buffer.concat([hdr(22, 0x0303, 0, 4), Buffer.alloc(4)])],
      ['DTLS 1.3-ish version', Buffer.concat([hdr(22, 0xfefc, 0, 4), Buffer.alloc(4)])],
      ['unknown content type', Buffer.concat([hdr(99, DTLS_1_2, 0, 4), Buffer.alloc(4)])],
      ['tls12_cid when CIDs are off', Buffer.concat([hdr(25, DTLS_1_2, 1, 4), Buffer.alloc(4)])],
      ['random garbage', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 255))],
      ['zeros 65507', Buffer.alloc(65507)],
      ['handshake record, empty fragment', hdr(22, DTLS_1_2, 0, 0)],
      ['handshake header truncated', Buffer.concat([hdr(22, DTLS_1_2, 0, 5), Buffer.from([1, 0, 0, 10, 0])])],
      [
        'ClientHello claiming 16 MiB',
        Buffer.concat([hdr(22, DTLS_1_2, 0, 12), Buffer.from('01ffffff0000000000ffffff', 'hex')]),
      ],
      [
        'ClientHello fragment past its length',
        Buffer.concat([hdr(22, DTLS_1_2, 0, 14), Buffer.from('01000002000000000100000201', 'hex'), Buffer.alloc(1)]),
      ],
      [
        'ClientHello with truncated body',
        encodeRecord({
          type: 22,
          version: DTLS_1_2,
          epoch: 0,
          seq: 0,
          fragment: encodeHandshake(1, 0, chBody.subarray(0, 30)),
        }),
      ],
      [
        'ClientHello with trailing garbage',
        encodeRecord({
          type: 22,
          version: DTLS_1_2,
          epoch: 0,
          seq: 0,
          fragment: encodeHandshake(1, 0, Buffer.concat([chBody, Buffer.alloc(3, 0xee)])),
        }),
      ],
      [
        'ClientHello with cookie length 255 beyond body',
        encodeRecord({
          type: 22,
          version: DTLS_1_2,
          epoch: 0,
          seq: 0,
          fragment: encodeHandshake(1, 0, Buffer.concat([chBody.subarray(0, 35), Buffer.from([255])])),
        }),
      ],
      [
        'ClientHello in an epoch-1 record',
        encodeRecord({ type: 22, version: DTLS_1_2, epoch: 1, seq: 0, fragment: encodeHandshake(1, 0, chBody) }),
      ],
      [
        'ClientKeyExchange without a handshake',
        encodeRecord({
          type: 22,
          version: DTLS_1_2,
          epoch: 0,
          seq: 0,
          fragment: encodeHandshake(16, 2, Buffer.from('0003616263', 'hex')),
        }),
      ],
      [
        'application data for an unknown peer',
        encodeRecord({ type: 23, version: DTLS_1_2, epoch: 1, seq: 1, fragment: Buffer.alloc(40) }),
      ],
      [
        'alert for an unknown peer',
        encodeRecord({ type: 21, version: DTLS_1_2, epoch: 0, seq: 1, fragment: Buffer.from([2, 40]) }),
      ],
      [
        'CCS for an unknown peer',
        encodeRecord({ type: 20, version: DTLS_1_2, epoch: 0, seq: 1, fragment: Buffer.from([1]) }),
      ],
      [
        'HelloVerifyRequest sent to the server',
        encodeRecord({
          type: 22,
          version: DTLS_1_2,
          epoch: 0,
          seq: 0,
          fragment: encodeHandshake(3, 0, Buffer.from('feff00', 'hex')),
        }),
      ],
      [
        'two good-looking records then junk',
        Buffer.concat([
          encodeRecord({ type: 21, version: DTLS_1_2, epoch: 0, seq: 1, fragment: Buffer.from([1, 0]) }),
          Buffer.from('16fefd00', 'hex'),
        ]),
      ],
    ];

    for (const [name, datagram] of table) {
      it(`drops: ${name}`, () => {
        h = new Harness();
        expect(() => h.ep.receive(datagram, { address: '10.9.9.9', port: 1234 })).to.not.throw();
        expect(h.out).to.have.length(0);
        expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 0 });
      });
    }

    it('survives 5,000 mutated copies of a real handshake (bit flips, truncation, splicing) with bounded state', async () => {
      h = new Harness({ limits: { maxHalfOpen: 16 } });
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      p.sendApp(Buffer.from('seed'));
      const corpus = [...p.sent];
      let seed = 0x2545f491;
      const rnd = (n: number): number => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) % n;
      };
      for (let i = 0; i < 5000; i++) {
        const d = Buffer.from(corpus[rnd(corpus.length)]!);
        const mutated = [
          () => {
            for (let k = rnd(4); k >= 0; k--) d[rnd(d.length)]! ^= 1 << rnd(8);
            return d;
          },
          () => d.subarray(0, rnd(d.length)),
          () => Buffer.concat([d.subarray(0, rnd(d.length)), corpus[rnd(corpus.length)]!.subarray(rnd(20))]),
          () => {
            d.writeUInt16BE(rnd(65536), 11);
            return d;
          }, // record length field
          () => {
            if (d.length > 25) d.writeUIntBE(rnd(2 ** 24), 14, 3);
            return d;
          }, // handshake length field
        ][rnd(5)]!();
        const from = { address: at.address, port: at.port + rnd(3) };
        expect(() => h.ep.receive(mutated, from)).to.not.throw();
      }
      await tick(20);
      const s = h.ep.stats();
      expect(s.halfOpen).to.be.at.most(16);
      expect(s.halfOpen + s.associations).to.be.at.most(3 * 16);
    });

    it('still serves handshakes after the whole table, and an established session survives it', async () => {
      h = new Harness();
      const at = h.addr();
      const p = h.client({}, at);
      await p.handshake();
      for (const [, d] of table) h.ep.receive(d, at);
      for (const [, d] of table) h.ep.receive(d, { address: '10.9.9.9', port: 1 });
      expect(h.ep.stats()).to.deep.equal({ halfOpen: 0, associations: 1 });
      p.sendApp(Buffer.from('alive'));
      await waitFor(() => p.data.length === 1);
      await h.client().handshake();
    });
  });

  describe('RFC 9146 connection ID', () => {
    it('negotiates CIDs, uses tls12_cid records both ways, and follows the peer to a new address', async () => {
      h = new Harness({ connectionId: true });
      const at = h.addr();
      const p = h.client({ cid: Buffer.from('c1c2c3c4', 'hex') }, at);
      await p.handshake();
      expect(p.serverCid).to.have.length(6);
      p.sendApp(Buffer.from('via cid'));
      await waitFor(() => p.data.length === 1);
      const last = parseDatagram(h.sentTo(at).at(-1)!, 4).records[0]!;
      expect(last.type).to.equal(ContentType.tls12Cid);
      expect(last.cid!.toString('hex')).to.equal('c1c2c3c4');
      // NAT rebinding: same association, new source port
      const moved = { address: at.address, port: at.port + 1000 };
      h.peers.set(peerKey(moved), p);
      p.setSend((d) => setImmediate(() => h.ep.receive(d, moved)));
      p.sendApp(Buffer.from('after move'));
      await waitFor(() => p.data.length === 2);
      expect(h.sessions[0]!.peer).to.deep.equal(moved);
      expect(h.sentTo(moved)).to.have.length(1);
      expect(h.ep.stats().associations).to.equal(1);
    });

    it('does not move on a replayed CID record from another address', async () => {
      h = new Harness({ connectionId: true });
      const at = h.addr();
      const p = h.client({ cid: Buffer.alloc(0) }, at);
      await p.handshake();
      const d = p.sendApp(Buffer.from('one'));
      await waitFor(() => h.received.length === 1);
      h.ep.receive(d, { address: '10.66.66.66', port: 6666 });
      expect(h.sessions[0]!.peer).to.deep.equal(at);
      expect(h.received).to.have.length(1);
      // empty client CID: the server sends plain records, the client sends tls12_cid ones
      expect(parseDatagram(h.sentTo(at).at(-1)!).records[0]!.type).to.equal(ContentType.applicationData);
      expect(parseDatagram(d, 6).records[0]!.type).to.equal(ContentType.tls12Cid);
    });

    it('is not negotiated when disabled', async () => {
      h = new Harness();
      const p = h.client({ cid: Buffer.from('c1', 'hex') });
      await p.handshake();
      expect(p.serverCid).to.equal(undefined);
    });
  });
});
