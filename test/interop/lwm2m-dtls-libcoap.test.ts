/**
 * libcoap (peers nobody here wrote) registering at the LwM2M server over CoAP over DTLS-PSK: coap-client-openssl
 * and coap-client-gnutls with a printable test key served by a test PSK source (libcoap's -k takes text only).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { startLwm2m, type RunningLwm2m } from '../../lwm2m/main.js';
import { createMemoryStores } from '../../shared/store/memory.js';
import { startFakePskApi, type FakePskApi } from '../support/lwm2m.js';

const TOKEN = 'psk-api-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdefgh';
const KEY = 'printable-test-key-for-libcoap!!'; // 32 printable octets

function coapClient(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 15000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

describe('LwM2M server over DTLS with libcoap coap-client (interop)', function () {
  this.timeout(30000);
  let api: FakePskApi;
  let server: RunningLwm2m;
  const logs: string[] = [];

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
        'admin.token': ADMIN_TOKEN,
      },
    });
    server = await startLwm2m(config, {
      log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
      stores: createMemoryStores(),
    });
  });
  after(async () => {
    await server?.close();
    await api?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-40).join(''));
  });

  for (const bin of ['coap-client-openssl', 'coap-client-gnutls']) {
    it(`${bin} registers (POST /rd over coaps://) and the server lists it`, async () => {
      const n = bin.endsWith('gnutls') ? 2 : 1;
      const btid = `${Buffer.alloc(16, 0x70 + n).toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
      const identity = `3GPP-bootstrapping.${btid}`;
      const endpoint = `urn:uuid:00000000-0000-8000-8000-00000000000${n}`;
      api.entries.set(identity, {
        psk: Buffer.from(KEY),
        endpoint,
        btid,
        impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      });
      const r = await coapClient(bin, [
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
        '5',
        `coaps://127.0.0.1:${server.dtls!.port}/rd?ep=${endpoint}&lt=60&lwm2m=1.1&b=U`,
      ]);
      expect(r.code, r.out).to.equal(0);
      const list = (await (
        await fetch(`${server.api.url}/api/clients`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json()) as Array<Record<string, unknown>>;
      expect(
        list.find((c) => c.endpoint === endpoint),
        JSON.stringify(list),
      ).to.include({ transport: 'udp', lwm2mVersion: '1.1' });
      expect(api.requests.some((q) => q.pskIdentity === identity && q.uaSecProtId === '010001c0a8')).to.equal(true);
    });
  }

  it('a wrong key makes coap-client fail and registers nothing', async () => {
    const btid = `${Buffer.alloc(16, 0x7f).toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
    const identity = `3GPP-bootstrapping.${btid}`;
    api.entries.set(identity, {
      psk: Buffer.from(KEY),
      endpoint: 'urn:uuid:00000000-0000-8000-8000-00000000000f',
      btid,
      impi: 'x@y',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    const before = (
      (await (
        await fetch(`${server.api.url}/api/clients`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json()) as unknown[]
    ).length;
    const r = await coapClient('coap-client-openssl', [
      '-u',
      identity,
      '-k',
      'another-printable-key-0123456789',
      '-m',
      'post',
      '-t',
      '40',
      '-e',
      '</3/0>',
      '-B',
      '3',
      `coaps://127.0.0.1:${server.dtls!.port}/rd?ep=urn:uuid:00000000-0000-8000-8000-00000000000f&lwm2m=1.1`,
    ]);
    expect(r.out).to.not.match(/2\.01/);
    const after = (
      (await (
        await fetch(`${server.api.url}/api/clients`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json()) as unknown[]
    ).length;
    expect(after).to.equal(before);
  });
});
