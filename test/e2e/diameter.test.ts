/**
 * Zh and Zn over Diameter end to end through real processes (hss-mock, bsf, naf) and real Redis, with
 * bsf.zhTransport and naf.znTransport = diameter: a device bootstraps, fetches its config over Ua and the
 * PSK API serves its key, while the HTTP Zh/Zn listeners see no traffic and the Diameter metrics count it.
 */
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { Milenage } from '../../shared/crypto/milenage.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[2]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const LWM2M_FQDN = 'lwm2m.mnc001.mcc001.pub.3gppnetwork.org';

function independentKsNaf(rand: Buffer, impi: string, fqdn: string, uaIdHex: string): string {
  const { ck, ik } = new Milenage(hex(SET.k), hex(SET.opc)).f2345(rand);
  const len = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const nafId = Buffer.concat([Buffer.from(fqdn), Buffer.from(uaIdHex, 'hex')]);
  const s = Buffer.concat([
    Buffer.from([0x01]),
    Buffer.from('gba-me'),
    len(6),
    rand,
    len(16),
    Buffer.from(impi),
    len(impi.length),
    nafId,
    len(nafId.length),
  ]);
  return createHmac('sha256', Buffer.concat([ck, ik]))
    .update(s)
    .digest('hex');
}

const metric = (text: string, name: string, labels: Record<string, string>): number => {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
};
const metricsOf = async (base: string): Promise<string> => (await fetch(new URL('/metrics', base))).text();

describe('Zh and Zn over Diameter (gba-sim network with --zh diameter --zn diameter)', function () {
  this.timeout(90000);
  let net: RunningNetwork & { logs: () => string };

  before(async () => {
    net = await givenNetwork({
      nfs: ['hss-mock', 'bsf', 'naf'],
      config: {
        bsf: { ubPort: 0, znPort: 0, zhTransport: 'diameter', diameter: { port: 0 } },
        naf: { uaPort: 0, pskPort: 0, znTransport: 'diameter' },
      },
    });
  });
  after(async () => {
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });

  const e = () => net.endpoints;

  it('endpoints.json names both Diameter listeners and the three identities (C5)', () => {
    expect(e().hss.diameter?.uri).to.match(/^aaa:\/\/127\.0\.0\.1:\d+;transport=tcp$/);
    expect(e().bsf.diameter?.uri).to.match(/^aaa:\/\/127\.0\.0\.1:\d+;transport=tcp$/);
    expect(e().hss.diameter).to.include({
      host: 'hss.mnc001.mcc001.3gppnetwork.org',
      realm: 'mnc001.mcc001.3gppnetwork.org',
    });
    expect(e().bsf.diameter?.host).to.equal('bsf.mnc001.mcc001.3gppnetwork.org');
    expect(e().naf?.diameter?.host).to.equal('naf.mnc001.mcc001.3gppnetwork.org');
  });

  it('a device bootstraps (MAR/MAA), fetches its config over Ua and the PSK API serves its key (BIR/BIA), all on Diameter', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await bootstrap({
      bsfUrl: e().bsf.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) }),
    });
    expect(b.btid).to.match(new RegExp(`@${REALM.replace(/\./g, '\\.')}$`));
    const cfg = await fetchDeviceConfig(e().naf!.ua, b);
    const r = await fetch(e().naf!.pskLookup, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${e().naf!.pskApiToken}` },
      body: JSON.stringify({ pskIdentity: cfg.pskIdentity }),
    });
    const j = (await r.json()) as Record<string, string>;
    expect(r.status, JSON.stringify(j)).to.equal(200);
    expect(j.psk).to.equal(independentKsNaf(b.rand, b.impi, LWM2M_FQDN, '010001c0a8'));
    expect(j.impi).to.equal(impiFromImsi(imsi, 2));
    // Key-ExpiryTime travels in whole seconds and never beyond the Ub lifetime.
    expect(Date.parse(j.expiresAt!))
      .to.be.at.most(b.lifetimeMs)
      .and.above(b.lifetimeMs - 1000);

    const bsfMetrics = await metricsOf(e().bsf.ub);
    expect(
      metric(bsfMetrics, 'gba_diameter_answers_total', { iface: 'zh', command: 'MA', result: '2001', direction: 'in' }),
    ).to.be.at.least(1);
    expect(
      metric(bsfMetrics, 'gba_diameter_answers_total', {
        iface: 'zn',
        command: 'BI',
        result: '2001',
        direction: 'out',
      }),
    ).to.be.at.least(2);
    expect(
      metric(bsfMetrics, 'gba_diameter_peer_connections', {
        iface: 'zh',
        peer: 'hss.mnc001.mcc001.3gppnetwork.org',
        state: 'open',
      }),
    ).to.equal(1);
    expect(bsfMetrics).to.match(
      /gba_diameter_rtt_seconds_count\{iface="zh",peer="hss\.mnc001\.mcc001\.3gppnetwork\.org",command="MA"\} [1-9]/,
    );
    // The HTTP twins saw nothing: no N66 request reached the BSF's HTTP Zn handler.
    expect(metric(bsfMetrics, 'gba_zn_requests_total', { result: 'ok' })).to.be.at.least(2);
    const hssMetrics = await metricsOf(e().hss.provisioning);
    expect(
      metric(hssMetrics, 'gba_diameter_answers_total', {
        iface: 'zh',
        command: 'MA',
        result: '2001',
        direction: 'out',
      }),
    ).to.be.at.least(1);
  });

  it('an unknown B-TID is 5403 on Zn and 404 on the PSK API; an unknown IMPI is 5401 on Zh and 403 on Ub', async () => {
    const r = await fetch(e().naf!.pskLookup, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${e().naf!.pskApiToken}` },
      body: JSON.stringify({ pskIdentity: `3GPP-bootstrapping.${Buffer.alloc(16, 7).toString('base64')}@${REALM}` }),
    });
    expect(r.status).to.equal(404);
    const ub = await fetch(e().bsf.ub, {
      headers: {
        authorization: `Digest username="${impiFromImsi(newImsi(), 2)}", realm="${REALM}", nonce="", uri="/", response=""`,
        'user-agent': 'x 3gpp-gba',
      },
    });
    expect(ub.status).to.equal(403);
    const bsfMetrics = await metricsOf(e().bsf.ub);
    expect(
      metric(bsfMetrics, 'gba_diameter_answers_total', {
        iface: 'zn',
        command: 'BI',
        result: '5403',
        direction: 'out',
      }),
    ).to.be.at.least(1);
    expect(
      metric(bsfMetrics, 'gba_diameter_answers_total', { iface: 'zh', command: 'MA', result: '5401', direction: 'in' }),
    ).to.be.at.least(1);
  });

  it('resynchronisation over Zh: a USIM whose SQN is ahead sends AUTS; the MAR carries RAND ‖ AUTS and the device bootstraps with a higher SQN', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const before = await metricsOf(e().hss.provisioning);
    // SQN_MS far beyond what the HSS will issue (more than Δ = 2^28 ahead): the first AUTN is refused (TS 33.102 §6.3.5).
    const ahead = 2 ** 30 + 7 * 32;
    const usim = new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc), sqnMs: ahead });
    const steps: string[] = [];
    const b = await bootstrap({
      bsfUrl: e().bsf.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim,
      onStep: (s) => steps.push(s),
    });
    expect(b.btid).to.match(new RegExp(`@${REALM.replace(/\./g, '\\.')}$`));
    expect(steps.filter((s) => s === 'usim.sync_failure')).to.have.length(1);
    expect(usim.highestAcceptedSqn()).to.be.above(ahead);
    const after = await metricsOf(e().hss.provisioning);
    const n = (t: string, labels: Record<string, string>, name = 'gba_diameter_answers_total') =>
      metric(t, name, labels);
    // The HSS took a resync MAR (it refuses SIP-Authorization of any length but 30 octets with 5004) and answered 2001.
    expect(
      n(after, { kind: 'resync' }, 'gba_hss_vectors_total') - n(before, { kind: 'resync' }, 'gba_hss_vectors_total'),
    ).to.equal(1);
    const ma = { iface: 'zh', command: 'MA', result: '2001', direction: 'out' };
    expect(n(after, ma) - n(before, ma)).to.be.at.least(2); // the refused vector, the resynchronised one (and a GUSS MAR)
    expect(n(after, { iface: 'zh', command: 'MA', result: '5004', direction: 'out' })).to.equal(0);
    const bsfMetrics = await metricsOf(e().bsf.ub);
    expect(
      metric(bsfMetrics, 'gba_diameter_answers_total', { iface: 'zh', command: 'MA', result: '2001', direction: 'in' }),
    ).to.be.at.least(2);
  });
});
