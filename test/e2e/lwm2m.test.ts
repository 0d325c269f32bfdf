/**
 * Zero-touch provisioning end to end through real processes (hss-mock, bsf, naf, lwm2m) and real Redis: a
 * device with only its SIM credentials bootstraps, is provisioned and registers over CoAP/TLS-PSK with a key
 * the LwM2M server pulled from the NAF.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { connectCoapTls } from '../../device/tls-transport.js';
import { register, deregister, RegistrationError } from '../../device/lwm2m-client.js';
import { DeviceObjects } from '../../device/objects.js';
import { runAgent } from '../../device/agent.js';
import { ksNaf } from '../../shared/crypto/kdf.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { runCli } from '../support/cli.js';
import { opensslPskClient } from '../support/openssl.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[4]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const usim = () => new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) });
const objects = () =>
  new DeviceObjects({
    manufacturer: 'test',
    model: 'm',
    serial: 's',
    firmware: '1',
    binding: 'T',
    lifetimeSec: () => 60,
  });

describe('LwM2M zero-touch provisioning end to end over CoAP/TLS (real processes, real Redis)', function () {
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
  const newDevice = async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    return imsi;
  };
  const clients = async () =>
    (await (
      await fetch(`${e().lwm2m!.api}api/clients`, { headers: { authorization: `Bearer ${e().admin!.token}` } })
    ).json()) as Array<Record<string, unknown>>;

  it("the device registers (first handshake of a never-seen identity, no retry); REST shows it; /3/0 reads the device's answer", async () => {
    const imsi = await newDevice();
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
      transport: 'tls',
      signal: ac.signal,
      lifetimeSec: 60,
      onStep: (s, d) => {
        steps.push([s, d]);
        if (s === 'lwm2m.registered') registered();
      },
    });
    await done;
    expect(steps.filter(([s]) => s === 'lwm2m.connect')).to.have.length(1);
    expect(steps.map(([s]) => s)).to.not.include('retry');
    const endpoint = String(steps.find(([s]) => s === 'lwm2m.registered')![1]!.endpoint);
    const list = await clients();
    const mine = list.find((c) => c.endpoint === endpoint);
    expect(mine, JSON.stringify(list)).to.include({
      transport: 'tcp',
      lwm2mVersion: '1.1',
      binding: 'T',
      lifetime: 60,
    });
    expect(String(mine!.pskIdentity)).to.match(/^3GPP-bootstrapping\.[A-Za-z0-9+/]{22}==@bsf\./);
    const one = await fetch(`${e().lwm2m!.api}api/clients/${encodeURIComponent(endpoint)}`, {
      headers: { authorization: `Bearer ${e().admin!.token}` },
    });
    expect(one.status).to.equal(200);
    const read = await fetch(`${e().lwm2m!.api}api/clients/${encodeURIComponent(endpoint)}/3/0`, {
      headers: { authorization: `Bearer ${e().admin!.token}` },
    });
    const body = (await read.json()) as { status: string; content: Record<string, unknown> };
    expect(read.status, JSON.stringify(body)).to.equal(200);
    expect(body.status).to.equal('2.05');
    expect(body.content).to.include({ 0: 'gba-sim', 3: '0.1.0', 16: 'T' });
    expect(steps.some(([s, d]) => s === 'lwm2m.read' && d?.path === '/3/0')).to.equal(true);
    ac.abort();
    await agent;
    const after = await clients();
    expect(
      after.find((c) => c.endpoint === endpoint),
      'de-registered on stop',
    ).to.equal(undefined);
  });

  it('a wrong PSK fails the TLS handshake', async () => {
    const imsi = await newDevice();
    const b = await bootstrap({ bsfUrl: e().bsf.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usim() });
    const cfg = await fetchDeviceConfig(e().naf!.ua, b);
    const u = new URL(cfg.serverUri);
    const err = await connectCoapTls({
      host: u.hostname,
      port: Number(u.port),
      serverFqdn: cfg.serverFqdn,
      pskIdentity: cfg.pskIdentity,
      psk: randomBytes(32),
      uaSecProtId: cfg.uaSecProtId,
    }).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(err).to.be.instanceOf(Error);
    expect(err!.message).to.match(/handshake failed|bad record mac|decrypt/i);
  });

  it('an ep other than the one the PSK API returned gets 4.03', async () => {
    const imsi = await newDevice();
    const b = await bootstrap({ bsfUrl: e().bsf.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usim() });
    const cfg = await fetchDeviceConfig(e().naf!.ua, b);
    const u = new URL(cfg.serverUri);
    const psk = ksNaf({
      ks: b.ks,
      rand: b.rand,
      impi: b.impi,
      nafFqdn: cfg.serverFqdn,
      uaSecProtId: hex(cfg.uaSecProtId),
    });
    const ch = await connectCoapTls({
      host: u.hostname,
      port: Number(u.port),
      serverFqdn: cfg.serverFqdn,
      pskIdentity: cfg.pskIdentity,
      psk,
      uaSecProtId: cfg.uaSecProtId,
    });
    try {
      const err = await register(ch, {
        endpoint: 'urn:imsi:001010000000000',
        lifetimeSec: 60,
        binding: 'T',
        objects: objects(),
      }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(err).to.be.instanceOf(RegistrationError);
      expect((err as RegistrationError).code).to.equal(0x83);
      const loc = await register(ch, { endpoint: cfg.endpoint, lifetimeSec: 60, binding: 'T', objects: objects() });
      expect(loc[0]).to.equal('rd');
      await deregister(ch, loc);
    } finally {
      await ch.close();
    }
  });

  it('an expired bootstrap makes the device bootstrap again and register again', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, {
      k: SET.k,
      opc: SET.opc,
      guss: { bsfInfo: { lifeTime: 3 } },
    });
    const steps: Array<[string, Record<string, unknown> | undefined]> = [];
    const ac = new AbortController();
    let twice!: () => void;
    const done = new Promise<void>((r) => {
      twice = r;
    });
    let registrations = 0;
    const agent = runAgent({
      imsi,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: usim(),
      bsfUrl: e().bsf.ub,
      nafUaUrl: e().naf!.ua,
      transport: 'tls',
      signal: ac.signal,
      lifetimeSec: 60,
      onStep: (s, d) => {
        steps.push([s, d]);
        if (s === 'lwm2m.registered' && ++registrations === 2) twice();
      },
    });
    await Promise.race([
      done,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`not re-registered: ${JSON.stringify(steps)}`)), 20000)),
    ]);
    ac.abort();
    await agent;
    const btids = steps.filter(([s]) => s === 'ub.bootstrapped').map(([, d]) => d!.btid);
    expect(btids.length).to.be.at.least(2);
    expect(new Set(btids).size).to.equal(btids.length);
    const endpoints = steps.filter(([s]) => s === 'lwm2m.registered').map(([, d]) => d!.endpoint);
    expect(endpoints[0]).to.equal(endpoints[1]);
  });

  it('`gba-sim device run --once` registers, de-registers and exits 0', async () => {
    const imsi = await newDevice();
    const r = await runCli(
      [
        'device',
        'run',
        '--endpoints',
        net.endpointsFile,
        '--imsi',
        imsi,
        '--k',
        SET.k,
        '--opc',
        SET.opc,
        '--transport',
        'tls',
        '--once',
      ],
      { timeoutMs: 30000 },
    );
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout)
      .to.match(/ub\.bootstrapped/)
      .and.match(/ua\.provisioned/)
      .and.match(/lwm2m\.registered/)
      .and.match(/lwm2m\.deregistered/);
  });

  it('openssl s_client completes a TLS 1.2 handshake with the LwM2M server using a GBA-derived key (PSK-AES128-CCM8)', async () => {
    const imsi = await newDevice();
    const b = await bootstrap({ bsfUrl: e().bsf.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usim() });
    const psk = ksNaf({
      ks: b.ks,
      rand: b.rand,
      impi: b.impi,
      nafFqdn: e().lwm2m!.fqdn,
      uaSecProtId: hex('010001c0a8'),
    });
    const u = new URL(e().lwm2m!.uri);
    const out = await opensslPskClient({
      port: Number(u.port),
      psk,
      identity: `3GPP-bootstrapping.${b.btid}`,
      cipher: 'PSK-AES128-CCM8',
    });
    expect(out).to.match(/Cipher is PSK-AES128-CCM8/);
    expect(out).to.match(/Protocol\s*: TLSv1\.2/);
    expect(out).to.not.match(/alert/); // s_client prints a session even when the handshake ended in an alert
  });
});
