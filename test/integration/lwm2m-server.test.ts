import type { AddressInfo } from 'node:net';
/**
 * The LwM2M server over real sockets: CoAP over TLS-PSK (RFC 8323) with keys from a fake NAF PSK API (C3 shape),
 * devices built from tls.connect + CoapTcpConnection, and the REST API over HTTP.
 */
import { expect } from 'chai';
import {
  Code,
  type CoapMessage,
  type CoapResponse,
  codeToString,
  encodeUint,
  getAccept,
  getLocationPath,
  getUriPath,
  OptionNumber,
} from '../../shared/coap/message.js';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { buildUpdateRequest } from '../../shared/lwm2m/registration.js';
import { encodeSenmlJson } from '../../shared/lwm2m/senml-json.js';
import {
  encodeTlv,
  tlvInteger,
  tlvResource,
  tlvResourceInstance,
  tlvString,
  type Tlv,
} from '../../shared/lwm2m/tlv.js';
import { startLwm2m, type Lwm2mStartOptions, type RunningLwm2m } from '../../lwm2m/main.js';
import { createMemoryStores } from '../../shared/store/memory.js';
import {
  connectTestDevice,
  registerRequest,
  startFakePskApi,
  type FakePskApi,
  type TestDevice,
  type TestDeviceOptions,
} from '../support/lwm2m.js';

const TOKEN = 'psk-api-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdefgh';
const IMPI = '001010000000001@ims.mnc001.mcc001.pub.3gppnetwork.org';

interface TestKey {
  identity: string;
  btid: string;
  psk: Buffer;
  endpoint: string;
}
let keySeq = 0;
/** A fresh identity (a never-seen B-TID) with its own key and endpoint. */
function newKey(): TestKey {
  const n = ++keySeq;
  const rand = Buffer.alloc(16, n);
  const btid = `${rand.toString('base64')}@bsf.mnc001.mcc001.pub.3gppnetwork.org`;
  return {
    identity: `3GPP-bootstrapping.${btid}`,
    btid,
    psk: Buffer.alloc(32, 0x40 + n),
    endpoint: `urn:uuid:00000000-0000-8000-8000-${String(n).padStart(12, '0')}`,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The device's Device object /3/0 as TLV (docs/standards-notes/lwm2m-coap-dtls.md §3.4 values). */
const DEVICE_TLV: Tlv[] = [
  tlvResource(0, tlvString('Open Mobile Alliance')),
  tlvResource(1, tlvString('Lightweight M2M Client')),
  tlvResource(2, tlvString('345000123')),
  tlvResource(3, tlvString('1.0')),
  tlvResource(9, tlvInteger(100)),
  { type: 'multipleResource', id: 11, instances: [tlvResourceInstance(0, tlvInteger(0))] },
  tlvResource(16, tlvString('T')),
];
const DEVICE_JSON = {
  0: 'Open Mobile Alliance',
  1: 'Lightweight M2M Client',
  2: '345000123',
  3: '1.0',
  9: 100,
  11: { 0: 0 },
  16: 'T',
};

/** Answers GET /3/0 as TLV (or SenML JSON when asked for 110), 4.04 otherwise. */
function deviceObjects(req: CoapMessage): CoapResponse {
  const path = getUriPath(req).join('/');
  if (req.code !== Code.GET || path !== '3/0') return { code: Code.NOT_FOUND };
  if (getAccept(req) === 110) {
    const senml = encodeSenmlJson(
      [
        { path: '/3/0/0', value: 'Open Mobile Alliance' },
        { path: '/3/0/9', value: 100 },
      ],
      '/3/0/',
    );
    return {
      code: Code.CONTENT,
      options: [{ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(110) }],
      payload: Buffer.from(senml),
    };
  }
  return {
    code: Code.CONTENT,
    options: [{ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(11542) }],
    payload: encodeTlv(DEVICE_TLV),
  };
}

describe('LwM2M server over CoAP over TLS-PSK (integration)', function () {
  this.timeout(20_000);
  let api: FakePskApi;
  const servers: RunningLwm2m[] = [];
  const devices: TestDevice[] = [];
  const keys: TestKey[] = [];
  let logs: string[];

  function key(overrides: { expiresAt?: string | (() => string) } = {}): TestKey {
    const k = newKey();
    keys.push(k);
    api.entries.set(k.identity, {
      psk: k.psk,
      endpoint: k.endpoint,
      btid: k.btid,
      impi: IMPI,
      expiresAt: overrides.expiresAt ?? (() => new Date(Date.now() + 3600_000).toISOString()),
    });
    return k;
  }

  async function start(flags: Record<string, unknown> = {}, opts: Lwm2mStartOptions = {}): Promise<RunningLwm2m> {
    const config = loadConfig({
      env: {},
      flags: {
        'lwm2m.host': '127.0.0.1',
        'lwm2m.port': 0,
        'lwm2m.apiPort': 0,
        'lwm2m.dtls': false,
        'lwm2m.pskLookupUrl': api.url,
        'lwm2m.pskApiToken': TOKEN,
        'admin.token': ADMIN_TOKEN,
        ...flags,
      },
    });
    const s = await startLwm2m(config, {
      log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
      pskCacheTtlMs: 0,
      stores: createMemoryStores(),
      ...opts,
    });
    servers.push(s);
    return s;
  }

  async function connect(s: RunningLwm2m, k: TestKey, o: Partial<TestDeviceOptions> = {}): Promise<TestDevice> {
    const d = await connectTestDevice({
      port: s.tls.port,
      identity: k.identity,
      psk: k.psk,
      handler: deviceObjects,
      ...o,
    });
    devices.push(d);
    await d.conn.whenReady();
    return d;
  }

  async function register(
    d: TestDevice,
    k: TestKey,
    p: { endpoint?: string; lwm2mVersion?: '1.0' | '1.1'; lifetimeSec?: number } = {},
    contentFormats?: number[],
  ): Promise<CoapMessage> {
    const ep = 'endpoint' in p ? p.endpoint : k.endpoint;
    return d.conn.request(
      registerRequest(
        {
          ...(ep !== undefined ? { endpoint: ep } : {}),
          lwm2mVersion: p.lwm2mVersion ?? '1.1',
          binding: 'T',
          lifetimeSec: p.lifetimeSec ?? 300,
        },
        contentFormats ? { contentFormats } : {},
      ),
    );
  }

  const getJson = async (
    s: RunningLwm2m,
    path: string,
  ): Promise<{ status: number; body: unknown; type: string | null }> => {
    const res = await fetch(`${s.api.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text,
    };
  };

  async function expectHandshakeFails(p: Promise<TestDevice>): Promise<void> {
    try {
      const d = await p;
      devices.push(d);
    } catch (err) {
      expect(err).to.be.instanceOf(Error);
      return;
    }
    expect.fail('the handshake succeeded');
  }

  beforeEach(async () => {
    logs = [];
    api = await startFakePskApi(TOKEN);
  });

  afterEach(async () => {
    for (const d of devices.splice(0)) d.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await api.close();
    // Keys never appear in logs, in any form, at debug level included.
    const leaks = logs.filter((l) =>
      keys.some((k) => l.includes(k.psk.toString('hex')) || l.includes(k.psk.toString('base64'))),
    );
    keys.splice(0);
    expect(leaks).to.deep.equal([]);
  });

  it("the first handshake of a never-seen identity succeeds; the server asks the PSK API for its suite's Ua id", async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    expect(d.socket.getCipher().name).to.equal('PSK-AES128-CCM8');
    expect(d.socket.getProtocol()).to.equal('TLSv1.2');
    expect(api.requests).to.deep.equal([{ pskIdentity: k.identity, uaSecProtId: '010001c0a8', authorized: true }]);
    // the server sent its CSM (RFC 8323 §3.3): our Max-Message-Size is what the device now knows
    expect(d.conn.peerSettings.maxMessageSize).to.equal(16384);
  });

  it('accepts a client offering ALPN coap, and one offering none', async () => {
    const s = await start();
    const withAlpn = await connect(s, key(), { alpn: ['coap'] });
    expect(withAlpn.socket.alpnProtocol).to.equal('coap');
    const without = await connect(s, key());
    expect(without.socket.alpnProtocol).to.equal(false);
  });

  it('Register → 2.01 rd/<id>, and the REST API lists the client', async () => {
    const s = await start({}, { newRegistrationId: () => 'abc123' });
    const k = key();
    const d = await connect(s, k);
    const res = await register(d, k, { lifetimeSec: 300 }, [11542]);
    expect(codeToString(res.code)).to.equal('2.01');
    expect(getLocationPath(res)).to.deep.equal(['rd', 'abc123']);

    const list = await getJson(s, '/api/clients');
    expect(list.status).to.equal(200);
    const clients = list.body as Array<Record<string, unknown>>;
    expect(clients).to.have.length(1);
    expect(clients[0]).to.include({
      endpoint: k.endpoint,
      registrationId: 'abc123',
      lwm2mVersion: '1.1',
      lifetime: 300,
      binding: 'T',
      pskIdentity: k.identity,
      btid: k.btid,
      transport: 'tcp',
      address: `127.0.0.1:${d.socket.localPort}`,
    });
    expect(clients[0]!.objectLinks).to.deep.equal([
      { url: '/', attributes: { rt: 'oma.lwm2m', ct: '11542' } },
      { url: '/1/0', attributes: {} },
      { url: '/3/0', attributes: {} },
    ]);
    expect(Date.parse(String(clients[0]!.expiresAt)) - Date.parse(String(clients[0]!.lastUpdate))).to.equal(300_000);

    const one = await getJson(s, `/api/clients/${encodeURIComponent(k.endpoint)}`);
    expect(one.status).to.equal(200);
    expect(one.body).to.deep.equal(clients[0]);
    expect(logs.some((l) => l.includes('"event":"lwm2m.registered"'))).to.equal(true);
  });

  it('a 1.1 Register without ep is filled from the PSK identity', async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    expect(codeToString((await register(d, k, { endpoint: undefined })).code)).to.equal('2.01');
    expect(s.client(k.endpoint)?.pskIdentity).to.equal(k.identity);
  });

  it("a read of /3/0 through REST returns the device's TLV answer decoded", async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    await register(d, k, {}, [11542]);
    const r = await getJson(s, `/api/clients/${encodeURIComponent(k.endpoint)}/3/0`);
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.equal({ status: '2.05', contentFormat: 11542, content: DEVICE_JSON });
    const get = d.received.at(-1)!;
    expect(getUriPath(get)).to.deep.equal(['3', '0']);
    expect(getAccept(get)).to.equal(11542);
  });

  it('reads SenML JSON when asked (accept=110), and relays a device 4.04 as a 404 Problem', async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    await register(d, k);
    const senml = await getJson(s, `/api/clients/${encodeURIComponent(k.endpoint)}/3/0?accept=110`);
    expect(senml.body).to.deep.equal({
      status: '2.05',
      contentFormat: 110,
      content: { 0: 'Open Mobile Alliance', 9: 100 },
    });
    const missing = await getJson(s, `/api/clients/${encodeURIComponent(k.endpoint)}/5/0/1`);
    expect(missing.status).to.equal(404);
    expect(missing.type).to.equal('application/problem+json');
    expect(missing.body).to.include({ status: 404, coapCode: '4.04' });
  });

  it('REST needs the admin Bearer token (issue 18 finding 4): none or a wrong one → 401 problem+json, the right one → 200', async () => {
    const s = await start();
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-0123456789abcdef' },
      { authorization: `Basic ${ADMIN_TOKEN}` },
    ] as Array<Record<string, string>>) {
      for (const path of ['/api/clients', '/api/clients/urn:uuid:x/3/0', '/api/events', '/api/openapi.yaml']) {
        const r = await fetch(`${s.api.url}${path}`, { headers });
        expect(r.status, `${path} ${JSON.stringify(headers)}`).to.equal(401);
        expect(r.headers.get('content-type')).to.equal('application/problem+json');
        expect(r.headers.get('www-authenticate')).to.match(/^Bearer/);
        expect(((await r.json()) as { status: number }).status).to.equal(401);
      }
    }
    const put = await fetch(`${s.api.url}/api/clients/urn:uuid:x/3/0/1`, {
      method: 'PUT',
      body: '{"value":"x"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(put.status).to.equal(401);
    expect((await getJson(s, '/api/clients')).status).to.equal(200);
    // Health and metrics stay open for the supervisor and scrapers.
    expect((await fetch(`${s.api.url}/healthz`)).status).to.equal(200);
  });

  it('the REST API listens on lwm2m.apiHost (default 127.0.0.1), not where CoAP listens', async () => {
    const s = await start({ 'lwm2m.host': '0.0.0.0' });
    expect((s.api.server.address() as AddressInfo).address).to.equal('127.0.0.1');
    const t = await start({ 'lwm2m.host': '127.0.0.1', 'lwm2m.apiHost': '0.0.0.0' });
    expect((t.api.server.address() as AddressInfo).address).to.equal('0.0.0.0');
  });

  it('REST: 404 for an unknown endpoint, 504 when the device does not answer in time', async () => {
    const s = await start({}, { readTimeoutMs: 300 });
    expect((await getJson(s, '/api/clients/urn:uuid:nobody')).status).to.equal(404);
    expect((await getJson(s, '/api/clients/urn:uuid:nobody/3/0')).status).to.equal(404);
    const k = key();
    const d = await connect(s, k, { handler: () => new Promise<CoapResponse>(() => undefined) }); // never answers
    await register(d, k);
    const r = await getJson(s, `/api/clients/${encodeURIComponent(k.endpoint)}/3/0`);
    expect(r.status).to.equal(504);
    expect(r.type).to.equal('application/problem+json');
  });

  it('ep of another device → 4.03, and nothing is registered', async () => {
    const s = await start();
    const k = key();
    const other = key();
    const d = await connect(s, k);
    const res = await register(d, k, { endpoint: other.endpoint });
    expect(codeToString(res.code)).to.equal('4.03');
    expect(res.payload.toString()).to.include('does not belong');
    expect((await getJson(s, '/api/clients')).body).to.deep.equal([]);
  });

  it('a wrong PSK fails the handshake', async () => {
    const s = await start();
    const k = key();
    await expectHandshakeFails(
      connectTestDevice({ port: s.tls.port, identity: k.identity, psk: Buffer.alloc(32, 0x99) }),
    );
    await until(
      async () =>
        /gba_lwm2m_tls_handshakes_total\{result="handshake-failed"\} 1/.test(
          (await getJson(s, '/metrics')).body as string,
        ),
      'the failed handshake counted',
    );
    expect(s.clients()).to.deep.equal([]);
  });

  it('an identity the PSK API does not know (404) fails the handshake', async () => {
    const s = await start();
    const k = newKey(); // not given to the fake PSK API
    keys.push(k);
    await expectHandshakeFails(connectTestDevice({ port: s.tls.port, identity: k.identity, psk: k.psk }));
    expect(api.requests).to.deep.equal([{ pskIdentity: k.identity, uaSecProtId: '010001c0a8', authorized: true }]);
  });

  it("a PSK API that refuses the server's token fails the handshake", async () => {
    const s = await start({ 'lwm2m.pskApiToken': 'not-the-token-0123456789abcdef' });
    const k = key();
    await expectHandshakeFails(connectTestDevice({ port: s.tls.port, identity: k.identity, psk: k.psk }));
    expect(api.requests).to.deep.equal([{ authorized: false }]);
  });

  it('Update → 2.04 (new lifetime), De-register → 2.02, then Update → 4.04', async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    const location = getLocationPath(await register(d, k, { lifetimeSec: 300 }));
    const before = s.client(k.endpoint)!;
    await sleep(5);
    const upd = await d.conn.request(buildUpdateRequest(location, { lifetimeSec: 900 }, '1.1'));
    expect(codeToString(upd.code)).to.equal('2.04');
    const after = s.client(k.endpoint)!;
    expect(after.lifetime).to.equal(900);
    expect(Date.parse(after.lastUpdate)).to.be.greaterThan(Date.parse(before.lastUpdate));

    const del = await d.conn.request({
      code: Code.DELETE,
      options: location.map((seg) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(seg) })),
    });
    expect(codeToString(del.code)).to.equal('2.02');
    expect(s.clients()).to.deep.equal([]);
    const again = await d.conn.request(buildUpdateRequest(location, {}, '1.1'));
    expect(codeToString(again.code)).to.equal('4.04');
  });

  it("Update of another device's registration → 4.03", async () => {
    const s = await start();
    const k1 = key();
    const k2 = key();
    const d1 = await connect(s, k1);
    const d2 = await connect(s, k2);
    const location = getLocationPath(await register(d1, k1));
    expect(
      codeToString((await d2.conn.request(buildUpdateRequest(location, { lifetimeSec: 5 }, '1.1'))).code),
    ).to.equal('4.03');
    expect(s.client(k1.endpoint)?.lifetime).to.equal(300);
  });

  it('closing the connection removes the registration (bound to the CoAP over TCP connection)', async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    await register(d, k);
    expect(s.clients()).to.have.length(1);
    d.close();
    await until(() => s.clients().length === 0, 'the registration to go');
    expect((await getJson(s, '/metrics')).body).to.match(
      /gba_lwm2m_deregistrations_total\{reason="connection_closed"\} 1/,
    );
  });

  it('a re-registration from a new connection replaces the old one', async () => {
    const s = await start();
    const k = key();
    const first = await connect(s, k);
    const loc1 = getLocationPath(await register(first, k));
    const second = await connect(s, k);
    const loc2 = getLocationPath(await register(second, k));
    expect(loc2[1]).not.to.equal(loc1[1]);
    expect(s.clients().map((c) => c.registrationId)).to.deep.equal([loc2[1]]);
    first.close();
    await sleep(100);
    expect(s.clients().map((c) => c.registrationId)).to.deep.equal([loc2[1]]);
  });

  it('when the bootstrapping key expires the registration ends and the connection is released and closed', async () => {
    const s = await start();
    const k = key({ expiresAt: () => new Date(Date.now() + 1500).toISOString() });
    const d = await connect(s, k);
    expect(codeToString((await register(d, k)).code)).to.equal('2.01');
    const closed = new Promise<string>((resolve) => d.conn.onClose((info) => resolve(info.reason)));
    expect(await closed).to.equal('released'); // 7.04 Release from the server (RFC 8323 §5.5)
    expect(s.clients()).to.deep.equal([]);
    expect((await getJson(s, '/metrics')).body).to.match(/gba_lwm2m_deregistrations_total\{reason="psk_expired"\} 1/);
  });

  it('serves the metrics and the OpenAPI document', async () => {
    const s = await start();
    const k = key();
    const d = await connect(s, k);
    await register(d, k);
    const metrics = (await getJson(s, '/metrics')).body as string;
    expect(metrics).to.match(/^gba_lwm2m_registrations 1$/m);
    expect(metrics).to.match(/^gba_lwm2m_registrations_total\{result="created"\} 1$/m);
    expect(metrics).to.match(/^gba_lwm2m_tls_handshakes_total\{result="ok"\} 1$/m);
    expect(metrics).to.match(/^gba_lwm2m_psk_lookups_total\{result="ok"\} 1$/m);
    const doc = await getJson(s, '/api/openapi.yaml');
    expect(doc.status).to.equal(200);
    expect(doc.type).to.equal('application/yaml');
    expect(doc.body).to.match(/^openapi: 3\.1\.0$/m);
    expect((await getJson(s, '/healthz')).body).to.deep.equal({ status: 'ok' });
  });

  it('with lwm2m.uaSecProtId 01000100a8 it serves exactly PSK-AES128-GCM-SHA256 and asks for that Ua id', async () => {
    const s = await start({ 'lwm2m.uaSecProtId': '01000100a8' });
    const k = key();
    const d = await connect(s, k, { ciphers: 'PSK-AES128-GCM-SHA256' });
    expect(d.socket.getCipher().name).to.equal('PSK-AES128-GCM-SHA256');
    expect(api.requests.at(-1)).to.deep.equal({ pskIdentity: k.identity, uaSecProtId: '01000100a8', authorized: true });
    await expectHandshakeFails(
      connectTestDevice({ port: s.tls.port, identity: k.identity, psk: k.psk, ciphers: 'PSK-AES128-CCM8' }),
    );
  });

  it('with lwm2m.tls13 a TLS 1.3 client is served with the key for Ua id 0100000007 (TS 33.222 §5.4.0.2)', async () => {
    const s = await start({ 'lwm2m.tls13': true });
    const k = key();
    const d = await connect(s, k, { tls13: true });
    expect(d.socket.getProtocol()).to.equal('TLSv1.3');
    expect(api.requests.map((r) => r.uaSecProtId)).to.include('0100000007');
    expect(codeToString((await register(d, k)).code)).to.equal('2.01');
    // without the option the server stays at TLS 1.2
    const s12 = await start();
    await expectHandshakeFails(
      connectTestDevice({ port: s12.tls.port, identity: k.identity, psk: k.psk, tls13: true }),
    );
  });

  it('reports missing PSK API settings and an unsupported Ua id as one ConfigError', async () => {
    const config = loadConfig({
      env: {},
      flags: { 'lwm2m.port': 0, 'lwm2m.apiPort': 0, 'lwm2m.uaSecProtId': '0100000002' },
    });
    try {
      await startLwm2m(config);
      expect.fail('startLwm2m accepted the configuration');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).to.have.length(3);
      expect(problems[0]).to.match(/^lwm2m\.pskLookupUrl: required/);
      expect(problems[1]).to.match(/^lwm2m\.pskApiToken: required/);
      expect(problems[2]).to.match(/^lwm2m\.uaSecProtId: 0100000002 names no TLS PSK suite/);
    }
  });
});
