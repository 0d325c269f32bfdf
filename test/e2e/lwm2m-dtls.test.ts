/**
 * LwM2M over CoAP over DTLS-PSK end to end (real processes, real Redis): the device agent with node-dtls-client
 * 2.0.3, openssl s_client -dtls1_2 with GBA-derived keys (per negotiated suite), the ep rule, bad datagrams.
 */
import { expect } from 'chai';
import { opensslPskClient } from '../support/openssl.js';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, type Bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig, type DeviceConfig } from '../../device/ua-client.js';
import { connectCoapDtls } from '../../device/dtls-transport.js';
import { register, deregister, RegistrationError } from '../../device/lwm2m-client.js';
import { DeviceObjects } from '../../device/objects.js';
import { runAgent } from '../../device/agent.js';
import { ksNaf } from '../../shared/crypto/kdf.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[5]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const usim = () => new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) });
const objects = () =>
  new DeviceObjects({
    manufacturer: 'test',
    model: 'm',
    serial: 's',
    firmware: '1',
    binding: 'U',
    lifetimeSec: () => 60,
  });

const opensslDtls = (port: number, psk: Buffer, identity: string, cipher: string) =>
  opensslPskClient({ dtls: true, port, psk, identity, cipher });

describe('LwM2M over CoAP over DTLS-PSK end to end (real processes, real Redis)', function () {
  this.timeout(90000);
  let net: RunningNetwork & { logs: () => string };
  before(async () => {
    net = await givenNetwork();
  });
  after(async () => {
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });

  const e = () => net.endpoints;
  const port = () => Number(new URL(e().lwm2m!.uriDtls!).port);
  const bootstrapped = async (): Promise<{ b: Bootstrap; cfg: DeviceConfig }> => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await bootstrap({ bsfUrl: e().bsf.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usim() });
    return { b, cfg: await fetchDeviceConfig(e().naf!.ua, b) };
  };
  const keyFor = (b: Bootstrap, uaId: string) =>
    ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn: e().lwm2m!.fqdn, uaSecProtId: hex(uaId) });

  it('endpoints.json has lwm2m.uriDtls on the same port number as the TLS listener; the NAF hands it out', async () => {
    expect(e().lwm2m!.uriDtls).to.equal(e().lwm2m!.uri.replace('coaps+tcp://', 'coaps://'));
    const { cfg } = await bootstrapped();
    expect(cfg.serverUriDtls).to.equal(e().lwm2m!.uriDtls);
  });

  it('the device agent (node-dtls-client) registers over DTLS; REST shows it (udp, b=U); /3/0 is read over UDP', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const steps: Array<[string, Record<string, unknown> | undefined]> = [];
    const ac = new AbortController();
    let registered!: () => void;
    const done = new Promise<void>((r) => {
      registered = r;
    });
    const agent = runAgent({
      imsi,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: usim(),
      bsfUrl: e().bsf.ub,
      nafUaUrl: e().naf!.ua,
      signal: ac.signal,
      lifetimeSec: 60,
      onStep: (s, d) => {
        steps.push([s, d]);
        if (s === 'lwm2m.registered') registered();
      },
    });
    await done;
    expect(steps.find(([s]) => s === 'lwm2m.connect')![1]).to.include({ transport: 'dtls' });
    const endpoint = String(steps.find(([s]) => s === 'lwm2m.registered')![1]!.endpoint);
    const list = (await (
      await fetch(`${e().lwm2m!.api}api/clients`, { headers: { authorization: `Bearer ${e().admin!.token}` } })
    ).json()) as Array<Record<string, unknown>>;
    expect(list.find((c) => c.endpoint === endpoint)).to.include({
      transport: 'udp',
      binding: 'U',
      lwm2mVersion: '1.1',
    });
    const read = await fetch(`${e().lwm2m!.api}api/clients/${encodeURIComponent(endpoint)}/3/0`, {
      headers: { authorization: `Bearer ${e().admin!.token}` },
    });
    const body = (await read.json()) as { status: string; content: Record<string, unknown> };
    expect(read.status, JSON.stringify(body)).to.equal(200);
    expect(body.content).to.include({ 0: 'gba-sim', 16: 'U' });
    ac.abort();
    await agent;
  });

  it("Register over node-dtls-client gets 2.01; an ep other than the PSK API's gets 4.03", async () => {
    const { b, cfg } = await bootstrapped();
    const ch = await connectCoapDtls({
      host: '127.0.0.1',
      port: port(),
      serverFqdn: cfg.serverFqdn,
      pskIdentity: cfg.pskIdentity,
      psk: keyFor(b, '010001c0a8'),
      uaSecProtId: '010001c0a8',
    });
    try {
      const err = await register(ch, {
        endpoint: 'urn:imsi:001010000000000',
        lifetimeSec: 60,
        binding: 'U',
        objects: objects(),
      }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect((err as RegistrationError).code).to.equal(0x83);
      const loc = await register(ch, { endpoint: cfg.endpoint, lifetimeSec: 60, binding: 'U', objects: objects() });
      expect(loc[0]).to.equal('rd');
      await deregister(ch, loc);
    } finally {
      await ch.close();
    }
  });

  it('a wrong key fails the DTLS handshake', async () => {
    const { cfg } = await bootstrapped();
    const err = await connectCoapDtls({
      host: '127.0.0.1',
      port: port(),
      serverFqdn: cfg.serverFqdn,
      pskIdentity: cfg.pskIdentity,
      psk: randomBytes(32),
      uaSecProtId: '010001c0a8',
      timeoutMs: 5000,
    }).then(
      async (ch) => {
        await ch.close();
        return undefined;
      },
      (x: Error) => x,
    );
    expect(err).to.be.instanceOf(Error);
  });

  it('openssl s_client -dtls1_2 completes handshakes with GBA-derived keys, one per negotiated suite (CCM_8, CBC_SHA256)', async () => {
    const { b, cfg } = await bootstrapped();
    const ccm = await opensslDtls(port(), keyFor(b, '010001c0a8'), cfg.pskIdentity, 'PSK-AES128-CCM8');
    expect(ccm).to.match(/Cipher is PSK-AES128-CCM8/);
    expect(ccm).to.match(/Protocol\s*: DTLSv1\.2/);
    expect(ccm).to.not.match(/alert/);
    const cbc = await opensslDtls(port(), keyFor(b, '01000100ae'), cfg.pskIdentity, 'PSK-AES128-CBC-SHA256');
    expect(cbc).to.match(/Cipher is PSK-AES128-CBC-SHA256/);
    expect(cbc).to.not.match(/alert/);
    // the CCM_8 key does not open a CBC_SHA256 association: keys are per suite (TS 33.222 §5.4)
    const wrong = await opensslDtls(port(), keyFor(b, '010001c0a8'), cfg.pskIdentity, 'PSK-AES128-CBC-SHA256');
    // s_client prints the session even after a failed handshake; the alert is what tells them apart
    expect(wrong).to.match(/alert bad record mac/);
  });

  it('garbage, truncated and replayed datagrams on the CoAP UDP port crash nothing; a device still registers', async () => {
    const s = createSocket('udp4');
    const hello = Buffer.from('16fefd000000000000000000', 'hex'); // a truncated ClientHello record header
    for (const d of [
      Buffer.alloc(0),
      Buffer.from('hello'),
      randomBytes(1500),
      hello,
      randomBytes(13),
      Buffer.concat([hello, randomBytes(40)]),
    ]) {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => s.send(d, port(), '127.0.0.1', () => r()));
    }
    s.close();
    const { b, cfg } = await bootstrapped();
    const ch = await connectCoapDtls({
      host: '127.0.0.1',
      port: port(),
      serverFqdn: cfg.serverFqdn,
      pskIdentity: cfg.pskIdentity,
      psk: keyFor(b, '010001c0a8'),
      uaSecProtId: '010001c0a8',
    });
    try {
      const loc = await register(ch, { endpoint: cfg.endpoint, lifetimeSec: 60, binding: 'U', objects: objects() });
      await deregister(ch, loc);
    } finally {
      await ch.close();
    }
    expect((await fetch(new URL('/healthz', e().lwm2m!.api))).status).to.equal(200);
  });
});
