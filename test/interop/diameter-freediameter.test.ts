/**
 * freeDiameter 1.2.1 as the peer of our HSS-mock (Zh) and BSF (Zn) Diameter listeners: a real, independent
 * Diameter implementation that parses our CEA, MAA, BIA and DWA against its own dictionary (the test
 * extension test/interop/fixtures/zhzn.c defines the Zh/Zn applications and AVPs). Checks RFC 6733 CER/CEA,
 * DWR/DWA (RFC 3539, TwTimer 6 s), DPR/DPA on SIGTERM, 3010 for an unknown Origin-Host, and the TS 29.109
 * answers: MAA with the vector and GUSS, 5401 for an unknown IMPI, BIA with ME-Key-Material = Ks_NAF
 * (computed here from K/OPc and the RAND), 5402 for a NAF FQDN not allowed and 5403 for an unknown B-TID.
 */
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import { parseRecords, startFreeDiameter, type FdAnswer, type FreeDiameter } from '../support/freediameter.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, type Bootstrap } from '../../device/ub-client.js';
import { Milenage } from '../../shared/crypto/milenage.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[3]!;
const FD_ID = 'fd.zhzn.test';
const FD_REALM = 'zhzn.test';
const STRANGER = 'stranger.zhzn.test';
const LAB_NAF_FQDN = 'naf.zhzn.test';
const UA_ID = '0100000002'; // TS 33.220 Annex H: Ua over HTTP Digest (TS 24.109)
const OUR_REALM = 'mnc001.mcc001.3gppnetwork.org';
const BSF_DOMAIN = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const NTP_UNIX = 2_208_988_800;
const GUSS = {
  bsfInfo: { uiccType: 'GBA', lifeTime: 3600 },
  ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: 'sip:lab@zhzn.test' }], flags: [{ flag: 1 }] } }],
};

/** TS 33.220 Annex B: Ks_NAF = KDF(CK ‖ IK, "gba-me", RAND, IMPI, NAF_Id), from the USIM secrets alone. */
function independentKsNaf(rand: Buffer, impi: string, nafId: Buffer): string {
  const { ck, ik } = new Milenage(hex(SET.k), hex(SET.opc)).f2345(rand);
  const len = (n: number) => Buffer.from([n >> 8, n & 0xff]);
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
async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const top = (a: FdAnswer, name: string): string | undefined =>
  a.avps.find((x) => x.depth === 1 && x.name === name)?.value;
const child = (a: FdAnswer, name: string): string | undefined =>
  a.avps.find((x) => x.depth === 2 && x.name === name)?.value;
/** Experimental-Result {Vendor-Id, Experimental-Result-Code} (TS 29.109 §6.3: 5401–5403 travel there). */
function experimental(a: FdAnswer): { vendor?: string; code?: string } {
  const i = a.avps.findIndex((x) => x.depth === 1 && x.name === 'Experimental-Result');
  if (i < 0) return {};
  const kids = a.avps.slice(i + 1).filter((x, j, all) => all.slice(0, j + 1).every((y) => y.depth === 2));
  return {
    vendor: kids.find((k) => k.name === 'Vendor-Id')?.value,
    code: kids.find((k) => k.name === 'Experimental-Result-Code')?.value,
  };
}

describe('freeDiameter interop: Zh and Zn (CER/CEA, MAR/MAA, BIR/BIA, DWR/DWA, DPR/DPA)', function () {
  this.timeout(60000);
  let net: RunningNetwork & { logs: () => string };
  let fd: FreeDiameter | undefined;
  let stranger: FreeDiameter | undefined;
  let boot: Bootstrap;
  let impi: string;
  let answers: Map<string, FdAnswer>;
  /** An NF's own log (info and up; the network forwards only warnings to net.logs()). */
  const nfLog = (nf: 'hss-mock' | 'bsf'): string =>
    readFileSync(join(net.config.stateDir, 'logs', `${nf}.log`), 'utf8');
  const allLogs = () => `${nfLog('hss-mock')}${nfLog('bsf')}`;

  before(async () => {
    net = await givenNetwork({
      nfs: ['hss-mock', 'bsf'],
      config: {
        hss: { port: 0, diameter: { port: 0, allowedPeers: [FD_ID] } },
        bsf: {
          ubPort: 0,
          znPort: 0,
          diameter: { port: 0 },
          // A lab NAF known by its Diameter identity, allowed to ask for its own FQDN only (as on N66).
          nafs: [
            {
              name: 'lab-naf',
              token: 'lab-naf-token-0123456789',
              fqdns: [{ fqdn: LAB_NAF_FQDN }],
              diameterHost: FD_ID,
            },
          ],
        },
      },
    });
    const imsi = newImsi();
    impi = impiFromImsi(imsi, 2);
    await provision(net.endpoints.hss.provisioning, net.endpoints.hss.adminToken, imsi, {
      k: SET.k,
      opc: SET.opc,
      guss: GUSS,
    });
    boot = await bootstrap({
      bsfUrl: net.endpoints.bsf.ub,
      impi,
      realm: BSF_DOMAIN,
      usim: new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) }),
    });
    const port = (uri: string) => Number(/:(\d+);/.exec(uri)![1]);
    const hssPort = port(net.endpoints.hss.diameter!.uri);
    const bsfPort = port(net.endpoints.bsf.diameter!.uri);
    const nafId = (fqdn: string) => Buffer.concat([Buffer.from(fqdn), Buffer.from(UA_ID, 'hex')]).toString('hex');
    const env = {
      ZHZN_HSS_HOST: net.endpoints.hss.diameter!.host,
      ZHZN_BSF_HOST: net.endpoints.bsf.diameter!.host,
      ZHZN_REALM: OUR_REALM,
      ZHZN_MAR: `mar=${impi};mar-unknown=${impiFromImsi(newImsi(), 2)}`,
      ZHZN_BIR: [
        `bir=${boot.btid}|${nafId(LAB_NAF_FQDN)}`,
        `bir-unknown=${Buffer.alloc(16, 9).toString('base64')}@${BSF_DOMAIN}|${nafId(LAB_NAF_FQDN)}`,
        `bir-foreign=${boot.btid}|${nafId('naf.elsewhere.test')}`,
      ].join(';'),
    };
    // The stranger (an identity no allow-list names) starts alongside and must never get in.
    [fd, stranger] = await Promise.all([
      startFreeDiameter({
        identity: FD_ID,
        realm: FD_REALM,
        twTimerSec: 6,
        env,
        peers: [
          { host: net.endpoints.hss.diameter!.host, port: hssPort },
          { host: net.endpoints.bsf.diameter!.host, port: bsfPort },
        ],
      }),
      startFreeDiameter({
        identity: STRANGER,
        realm: FD_REALM,
        peers: [{ host: net.endpoints.hss.diameter!.host, port: hssPort }],
      }),
    ]);
  });
  after(async () => {
    await Promise.all([fd?.stop(), stranger?.stop()]);
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      console.log(`${allLogs()}\n--- freeDiameter\n${fd?.log().slice(-6000)}\n--- records\n${fd?.records()}`);
  });

  it('CER/CEA: freeDiameter opens a connection to each listener (open in /metrics)', async () => {
    await until(
      'freeDiameter open on Zh and Zn',
      async () =>
        metric(await metricsOf(net.endpoints.hss.provisioning), 'gba_diameter_peer_connections', {
          iface: 'zh',
          peer: FD_ID,
          state: 'open',
        }) === 1 &&
        metric(await metricsOf(net.endpoints.bsf.ub), 'gba_diameter_peer_connections', {
          iface: 'zn',
          peer: FD_ID,
          state: 'open',
        }) === 1,
      10000,
    );
  });

  it('an unknown Origin-Host gets CEA 3010 and is disconnected', async () => {
    await until(
      'the HSS refused the stranger',
      async () => nfLog('hss-mock').includes(`CER refused with 3010 (Origin-Host ${STRANGER})`),
      10000,
    );
    const m = await metricsOf(net.endpoints.hss.provisioning);
    expect(metric(m, 'gba_diameter_peer_connections', { iface: 'zh', peer: STRANGER, state: 'open' })).to.equal(0);
    expect(
      metric(m, 'gba_diameter_answers_total', { iface: 'zh', command: 'CE', result: '3010', direction: 'out' }),
    ).to.be.at.least(1);
    // freeDiameter's side of it: the CEA was an error and the peer never reached STATE_OPEN.
    expect(stranger!.log()).not.to.match(/-> 'STATE_OPEN'/);
  });

  it('MAR/MAA and BIR/BIA: freeDiameter parses every answer; 2001, 5401, 2001, 5403, 5402', async () => {
    fd!.trigger();
    const text = await fd!.waitRecords(
      (t) =>
        ['mar', 'mar-unknown', 'bir', 'bir-unknown', 'bir-foreign'].every(
          (tag) => t.includes(`END ${tag}\n`) || t.includes(`TIMEOUT ${tag}`),
        ),
      15000,
      'five answers',
    );
    expect(text).not.to.include('TIMEOUT');
    answers = parseRecords(text);
    for (const [tag, a] of answers) {
      expect(a.flags & 0x80, `${tag} is an answer`).to.equal(0);
      expect(a.flags & 0x40, `${tag} keeps the request's P bit`).to.equal(0x40);
      expect(a.avps[0]!.name, `${tag}: Session-Id first (RFC 6733 §8.8)`).to.equal('Session-Id');
      expect(top(a, 'Origin-Host')).to.be.a('string');
      expect(
        a.avps.filter((x) => x.name === '?'),
        `${tag}: every AVP known to freeDiameter`,
      ).to.deep.equal([]);
    }
  });

  it('MAA carries the vector (SIP-Auth-Data-Item) and the GUSS; the vector verifies with Milenage', () => {
    const a = answers.get('mar')!;
    expect([a.cmd, a.app]).to.deep.equal([303, 16777221]);
    expect(top(a, 'Result-Code')).to.equal('2001');
    expect(Buffer.from(top(a, 'User-Name')!, 'hex').toString()).to.equal(impi);
    const authenticate = Buffer.from(child(a, 'SIP-Authenticate')!, 'hex');
    expect(authenticate).to.have.length(32);
    const rand = authenticate.subarray(0, 16);
    const autn = authenticate.subarray(16);
    const mil = new Milenage(hex(SET.k), hex(SET.opc));
    const f = mil.f2345(rand);
    expect(Buffer.from(child(a, 'SIP-Authentication-Scheme')!, 'hex').toString()).to.equal('Digest-AKAv1-MD5');
    expect(child(a, 'SIP-Authorization')).to.equal(f.res.toString('hex'));
    expect(child(a, 'Confidentiality-Key')).to.equal(f.ck.toString('hex'));
    expect(child(a, 'Integrity-Key')).to.equal(f.ik.toString('hex'));
    // AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2)
    const sqn = Buffer.from(autn.subarray(0, 6).map((b, i) => b ^ f.ak[i]!));
    expect(mil.f1(rand, sqn, autn.subarray(6, 8)).macA.toString('hex')).to.equal(autn.subarray(8).toString('hex'));
    const sipItem = a.avps.find((x) => x.name === 'SIP-Auth-Data-Item')!;
    expect([sipItem.vendor, sipItem.flags & 0xc0]).to.deep.equal([10415, 0xc0]);
    expect(Buffer.from(top(a, 'GBA-UserSecSettings')!, 'hex').toString()).to.match(
      /<guss[ >][\s\S]*<lifeTime>3600<\/lifeTime>[\s\S]*<uid>sip:lab@zhzn\.test<\/uid>[\s\S]*<\/guss>/,
    );
    const vsai = a.avps.findIndex((x) => x.name === 'Vendor-Specific-Application-Id');
    expect(a.avps[vsai + 2]).to.include({ name: 'Auth-Application-Id', value: '16777221' });
  });

  it('an unknown IMPI is Experimental-Result 5401 (vendor 10415)', () => {
    const a = answers.get('mar-unknown')!;
    expect(experimental(a)).to.deep.equal({ vendor: '10415', code: '5401' });
    expect(top(a, 'Result-Code')).to.equal(undefined);
    expect(a.avps.some((x) => x.name === 'SIP-Auth-Data-Item')).to.equal(false);
  });

  it('BIA carries ME-Key-Material = Ks_NAF (32 octets), User-Name, Key-ExpiryTime, BootstrapInfoCreationTime, GBA-Type 0', () => {
    const a = answers.get('bir')!;
    expect([a.cmd, a.app]).to.deep.equal([310, 16777220]);
    expect(top(a, 'Result-Code')).to.equal('2001');
    const me = top(a, 'ME-Key-Material')!;
    expect(me).to.have.length(64);
    expect(me).to.equal(
      independentKsNaf(boot.rand, impi, Buffer.concat([Buffer.from(LAB_NAF_FQDN), Buffer.from(UA_ID, 'hex')])),
    );
    expect(Buffer.from(top(a, 'User-Name')!, 'hex').toString()).to.equal(impi);
    const ntp = (name: string) => (parseInt(top(a, name)!, 16) - NTP_UNIX) * 1000;
    expect(ntp('Key-ExpiryTime'))
      .to.be.at.most(boot.lifetimeMs)
      .and.above(boot.lifetimeMs - 2000);
    expect(ntp('BootstrapInfoCreationTime'))
      .to.be.at.most(Date.now())
      .and.above(Date.now() - 60000);
    expect(top(a, 'GBA-Type')).to.equal('0');
    for (const x of a.avps.filter((v) => v.code >= 400 && v.code <= 420))
      expect([x.name, x.vendor, x.flags & 0xc0]).to.deep.equal([x.name, 10415, 0xc0]);
  });

  it('an unknown B-TID is 5403; a NAF-Id FQDN the NAF may not ask for is 5402', () => {
    expect(experimental(answers.get('bir-unknown')!)).to.deep.equal({ vendor: '10415', code: '5403' });
    expect(experimental(answers.get('bir-foreign')!)).to.deep.equal({ vendor: '10415', code: '5402' });
    expect(answers.get('bir-foreign')!.avps.some((x) => x.name === 'ME-Key-Material')).to.equal(false);
  });

  it('DWR/DWA: freeDiameter probes after Tw of silence and our DWA keeps the connection open', async () => {
    await until(
      'a DWR from freeDiameter on Zh and Zn',
      async () =>
        metric(await metricsOf(net.endpoints.hss.provisioning), 'gba_diameter_answers_total', {
          iface: 'zh',
          peer: FD_ID,
          command: 'DW',
          result: '2001',
          direction: 'out',
        }) >= 1 &&
        metric(await metricsOf(net.endpoints.bsf.ub), 'gba_diameter_answers_total', {
          iface: 'zn',
          peer: FD_ID,
          command: 'DW',
          result: '2001',
          direction: 'out',
        }) >= 1,
      20000,
    );
    expect(
      metric(await metricsOf(net.endpoints.hss.provisioning), 'gba_diameter_peer_connections', {
        iface: 'zh',
        peer: FD_ID,
        state: 'open',
      }),
    ).to.equal(1);
  });

  it('DPR/DPA: on SIGTERM freeDiameter disconnects and our side logs the peer closing cleanly', async () => {
    const code = await fd!.stop();
    fd = undefined;
    expect(code).to.equal(0);
    await until('DPR seen by both listeners', async () => (allLogs().match(/DPR from peer/g) ?? []).length >= 2, 5000);
    const hss = await metricsOf(net.endpoints.hss.provisioning);
    expect(
      metric(hss, 'gba_diameter_requests_total', { iface: 'zh', peer: FD_ID, command: 'DP', direction: 'in' }),
    ).to.equal(1);
    expect(
      metric(hss, 'gba_diameter_answers_total', {
        iface: 'zh',
        peer: FD_ID,
        command: 'DP',
        result: '2001',
        direction: 'out',
      }),
    ).to.equal(1);
    await until(
      'no open connection left',
      async () =>
        metric(await metricsOf(net.endpoints.hss.provisioning), 'gba_diameter_peer_connections', {
          iface: 'zh',
          peer: FD_ID,
          state: 'open',
        }) === 0,
      5000,
    );
    // A clean close: the state change to closed is logged at info (closing → closed), not as a warning.
    const closes = allLogs()
      .split('\n')
      .filter(
        (l) => l.includes('"event":"diameter_peer"') && l.includes(`"peer":"${FD_ID}"`) && l.includes('"to":"closed"'),
      );
    expect(closes.length).to.be.at.least(2);
    for (const l of closes) expect(l).to.include('"from":"closing"');
  });
});
