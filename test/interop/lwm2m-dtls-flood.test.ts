/**
 * Issue 18 finding 2, end to end: a half-open DTLS flood from a few addresses (sockets that complete the cookie
 * exchange, then stay silent) must not lock anyone else out. A libcoap client from another address completes the
 * handshake and an LwM2M Register within 10 s, and the flooding addresses still get ServerHellos.
 *
 * The global half-open budget is lowered to 100 (lwm2m.dtlsMaxHalfOpen) so that a flood that fills it fits in a
 * few hundred sockets on a shared test machine; the per-address budget keeps its default (32).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { startLwm2m, type RunningLwm2m } from '../../lwm2m/main.js';
import { TestPeer } from '../support/dtls-test-peer.js';
import { startFakePskApi, type FakePskApi } from '../support/lwm2m.js';

const TOKEN = 'psk-api-token-0123456789abcdef';
const KEY = 'printable-test-key-for-libcoap!!'; // 32 printable octets (libcoap's -k takes text)
const FLOODERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const PER_FLOODER = 60;

/** Handshake type of the first record of a datagram (plaintext epoch 0), or undefined. */
const firstHandshakeType = (d: Buffer): number | undefined => (d.length > 13 && d[0] === 22 ? d[13] : undefined);
const HELLO_VERIFY_REQUEST = 3;
const SERVER_HELLO = 2;

function coapClient(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('coap-client-openssl', args, { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

describe('LwM2M DTLS listener under a half-open flood (issue 18 finding 2)', function () {
  this.timeout(60_000);
  let api: FakePskApi;
  let server: RunningLwm2m;
  const sockets: Socket[] = [];
  const logs: string[] = [];
  let serverHellos = new Map<string, number>();

  /** One flooding socket: cookie exchange, then silence (flight 4 is counted, never answered). */
  async function floodFrom(address: string, port: number): Promise<void> {
    const s = createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(0, address, () => res());
    });
    s.on('error', () => undefined);
    const peer = new TestPeer({ psk: Buffer.from(KEY), identity: 'flood', send: (d) => s.send(d, port, '127.0.0.1') });
    s.on('message', (d) => {
      const t = firstHandshakeType(d);
      if (t === HELLO_VERIFY_REQUEST) peer.receive(d);
      else if (t === SERVER_HELLO) serverHellos.set(address, (serverHellos.get(address) ?? 0) + 1);
    });
    peer.sendClientHello();
  }

  before(async () => {
    api = await startFakePskApi(TOKEN);
    const config = loadConfig({
      env: {},
      flags: {
        'lwm2m.host': '127.0.0.1',
        'lwm2m.port': 0,
        'lwm2m.apiPort': 0,
        'lwm2m.dtls': true,
        'lwm2m.pskLookupUrl': api.url,
        'lwm2m.pskApiToken': TOKEN,
        'lwm2m.dtlsMaxHalfOpen': 100,
      },
    });
    server = await startLwm2m(config, { log: createLogger({ level: 'info', write: (l) => logs.push(l) }) });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.close();
    await api?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-40).join(''));
  });

  it('a client from another address registers within 10 s, and the flooders still get ServerHellos', async () => {
    const port = server.dtls!.port;
    for (const a of FLOODERS) for (let i = 0; i < PER_FLOODER; i++) await floodFrom(a, port);
    const total = (): number => [...serverHellos.values()].reduce((x, y) => x + y, 0);
    const end = Date.now() + 10_000;
    while (total() < 100 && Date.now() < end) await new Promise((r) => setTimeout(r, 20)); // the budget is full
    // The flood goes on while the client tries: every 20 ms a new silent handshake from each flooding address.
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        for (const a of FLOODERS) await floodFrom(a, port);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const btid = `${Buffer.alloc(16, 0x51).toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
    const identity = `3GPP-bootstrapping.${btid}`;
    const endpoint = 'urn:uuid:00000000-0000-8000-8000-0000000000f1';
    api.entries.set(identity, {
      psk: Buffer.from(KEY),
      endpoint,
      btid,
      impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    const started = Date.now();
    const r = await coapClient([
      '-u',
      identity,
      '-k',
      KEY,
      '-m',
      'post',
      '-t',
      '40',
      '-e',
      '</1/0>,</3/0>',
      '-B',
      '10',
      `coaps://127.0.0.1:${port}/rd?ep=${endpoint}&lt=60&lwm2m=1.1&b=U`,
    ]);
    const tookMs = Date.now() - started;
    flooding = false;
    await flood;
    expect(r.code, r.out).to.equal(0);
    expect(server.client(endpoint), 'registered').to.not.equal(undefined);
    expect(tookMs).to.be.below(10_000);

    // The flooders keep being answered: new handshakes from a flooding address get a ServerHello.
    serverHellos = new Map();
    for (let i = 0; i < 5; i++) await floodFrom(FLOODERS[0]!, port);
    const until = Date.now() + 5000;
    while ((serverHellos.get(FLOODERS[0]!) ?? 0) < 5 && Date.now() < until)
      await new Promise((res) => setTimeout(res, 50));
    expect(serverHellos.get(FLOODERS[0]!) ?? 0).to.be.at.least(5);
  });
});
