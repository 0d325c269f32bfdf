/**
 * Wireshark's Diameter dissector (tshark) as an independent decoder of our Zh/Zn messages: MAR/MAA and BIR/BIA
 * as our builders encode them, written into a pcap (raw IPv4/TCP, ports 3868 and 3869), must decode with no
 * malformed packet, the 3GPP Zh/Zn application ids and every GBA AVP by name. Then the same on the wire: a
 * live loopback capture of `gba-sim up --zh diameter --zn diameter` while a device bootstraps and its PSK is served.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, FLAG_P, FLAG_R, avp, type Avp } from '../../shared/diameter/codec.js';
import { Connection, resultOf } from '../../shared/diameter/peer.js';
import { silentLogger } from '../../shared/log.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { runUp, type UpProcess } from '../support/up.js';
import { freePortRange } from '../support/ports.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { milenageSets, hex } from '../support/vectors.js';
import { APP_ZH, APP_ZN, CMD, RC } from '../../shared/diameter/dictionary.js';
import { biaAvps, birAvps, maaAvps, marAvps } from '../../shared/diameter/gba.js';

function packet(src: number, dst: number, seq: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  const tcp = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(40 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  ip.set([127, 0, 0, 1], 12);
  ip.set([127, 0, 0, 1], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  tcp.writeUInt16BE(src, 0);
  tcp.writeUInt16BE(dst, 2);
  tcp.writeUInt32BE(seq, 4);
  tcp.writeUInt32BE(1, 8);
  tcp[12] = 0x50;
  tcp[13] = 0x18;
  tcp.writeUInt16BE(65535, 14);
  const rec = Buffer.concat([ip, tcp, payload]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(1_700_000_000, 0);
  hdr.writeUInt32LE(rec.length, 8);
  hdr.writeUInt32LE(rec.length, 12);
  return Buffer.concat([hdr, rec]);
}

const hasTshark = (() => {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('tshark decodes our Zh and Zn messages (interop)', function () {
  this.timeout(60000);
  it('MAR/MAA on 3868 and BIR/BIA on 3869: no malformed packets, 3GPP Zh/Zn, AVPs 400–410 by name', function () {
    if (!hasTshark) throw new Error('tshark is not installed (.ci/run installs it)');
    const r = { sessionId: 'bsf.x;1;1', originHost: 'bsf.x', originRealm: 'x', destinationRealm: 'x' };
    const av = {
      rand: Buffer.alloc(16, 1),
      autn: Buffer.alloc(16, 2),
      xres: Buffer.alloc(8, 3),
      ck: Buffer.alloc(16, 4),
      ik: Buffer.alloc(16, 5),
    };
    const guss = {
      bsfInfo: { uiccType: 'GBA' as const, lifeTime: 3600 },
      ussList: [{ uss: { gsId: 1, gsType: 0, ueIds: [{ ueId: 'sip:a@x' }] } }],
    };
    const msg = (cmd: number, app: number, req: boolean, avps: Avp[]) =>
      encodeMessage({
        flags: (req ? FLAG_R : 0) | FLAG_P,
        commandCode: cmd,
        applicationId: app,
        hopByHop: 5,
        endToEnd: 6,
        avps,
      });
    const head = (rc: number) => [
      avp('Session-Id', 'bsf.x;1;1'),
      avp('Result-Code', rc),
      avp('Origin-Host', 'hss.x'),
      avp('Origin-Realm', 'x'),
    ];
    const frames = [
      packet(
        40000,
        3868,
        1,
        msg(CMD.MA, APP_ZH, true, [
          ...marAvps(r, { impi: 'a@x', resync: { rand: Buffer.alloc(16, 9), auts: Buffer.alloc(14, 8) } }),
          avp('GUSS-Timestamp', Date.now()),
        ]),
      ),
      packet(3868, 40000, 1, msg(CMD.MA, APP_ZH, false, [...head(RC.SUCCESS), ...maaAvps('a@x', av, guss)])),
      packet(
        40001,
        3869,
        1,
        msg(
          CMD.BI,
          APP_ZN,
          true,
          birAvps(r, {
            btid: 'AAAAAAAAAAAAAAAAAAAAAA==@bsf.x',
            nafFqdn: 'naf.x',
            uaSecProtId: '010001c0a8',
            gbaUAware: true,
            gsIds: [1],
          }),
        ),
      ),
      packet(
        3869,
        40001,
        1,
        msg(CMD.BI, APP_ZN, false, [
          ...head(RC.SUCCESS),
          ...biaAvps({
            impi: 'a@x',
            meKey: Buffer.alloc(32, 7),
            uiccKey: Buffer.alloc(32, 6),
            expiresAtMs: Date.now() + 3600_000,
            createdAtMs: Date.now(),
            gbaType: '3G_GBA',
            ussList: guss.ussList,
          }),
        ]),
      ),
    ];
    const gh = Buffer.alloc(24);
    gh.writeUInt32LE(0xa1b2c3d4, 0);
    gh.writeUInt16LE(2, 4);
    gh.writeUInt16LE(4, 6);
    gh.writeUInt32LE(65535, 16);
    gh.writeUInt32LE(101, 20);
    const file = join(mkdtempSync(join(tmpdir(), 'gba-dia-')), 'zhzn.pcap');
    writeFileSync(file, Buffer.concat([gh, ...frames]));
    const tshark = (...args: string[]) =>
      execFileSync('tshark', ['-r', file, '-d', 'tcp.port==3869,diameter', ...args], { encoding: 'utf8' });
    expect(tshark('-Y', '_ws.malformed || _ws.expert.severity >= "warning"').trim()).to.equal('');
    const fields = tshark(
      '-T',
      'fields',
      '-e',
      'diameter.cmd.code',
      '-e',
      'diameter.applicationId',
      '-e',
      'diameter.flags.request',
    )
      .trim()
      .split('\n');
    expect(fields).to.deep.equal(['303\t16777221\t1', '303\t16777221\t0', '310\t16777220\t1', '310\t16777220\t0']);
    const verbose = tshark('-V');
    for (const name of [
      '3GPP Zh',
      '3GPP Zn',
      'Transaction-Identifier',
      'AVP Code: 402 NAF-Hostname' /* Wireshark's (Rel-6) name for NAF-Id */,
      'GBA_U-Awareness-Indicator',
      'GAA-Service-Identifier',
      'Key-ExpiryTime',
      'ME-Key-Material',
      'UICC-Key-Material',
      'BootstrapInfoCreationTime',
      'GBA-UserSecSettings',
      'GBA-Type',
      'GUSS-Timestamp',
      'SIP-Auth-Data-Item',
      'SIP-Authorization',
      'Confidentiality-Key',
      'Integrity-Key',
    ]) {
      expect(verbose, name).to.include(name);
    }
  });
});

/** Live capture on loopback: `tshark -i lo` with a BPF filter, until SIGINT. Fails loudly when it cannot capture. */
async function startCapture(file: string, ports: number[]): Promise<{ stop(): Promise<void>; stderr: () => string }> {
  const child = spawn('tshark', ['-i', 'lo', '-f', ports.map((p) => `tcp port ${p}`).join(' or '), '-w', file, '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 15000;
  while (!/Capturing on/.test(err)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `tshark cannot capture on lo (it needs root or the wireshark group's capture rights; CI runs as root): ${err.trim() || 'no output'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    stderr: () => err,
    stop: async () => {
      // dumpcap writes what it holds on its own schedule, and SIGINT can lose what it has not written yet (seen:
      // the last seconds of a capture missing): wait 2 s, then until the file has stopped growing for 1 s (at most 6 s more).
      await new Promise((r) => setTimeout(r, 2000));
      let last = -1;
      for (let stable = 0, t = 0; stable < 5 && t < 30; t++) {
        await new Promise((r) => setTimeout(r, 200));
        const size = existsSync(file) ? statSync(file).size : 0;
        stable = size === last ? stable + 1 : 0;
        last = size;
      }
      await stopChild();
    },
  };
  function stopChild(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGINT');
    });
  }
}

describe('tshark on the wire: `gba-sim up --zh diameter --zn diameter` (live capture on lo)', function () {
  this.timeout(90000);
  it('a bootstrap, the Ua config fetch and a PSK lookup: CER/CEA, DWR/DWA, MAR/MAA, BIR/BIA, DPR/DPA, no malformed packet, 3GPP Zh/Zn AVPs by name', async () => {
    if (!hasTshark) throw new Error('tshark is not installed (.ci/run installs it)');
    const base = await freePortRange(10);
    const zh = base + 7;
    const zn = base + 8;
    const file = join(mkdtempSync(join(tmpdir(), 'gba-dia-live-')), 'live.pcapng');
    // The capture runs before `up` starts, so the NFs' own CER/CEA are on the wire too.
    const capture = await startCapture(file, [zh, zn]);
    let up: UpProcess;
    try {
      up = await runUp(
        [
          '--base-port',
          String(base),
          '--zh',
          'diameter',
          '--zn',
          'diameter',
          '--store',
          'redis',
          '--redis-url',
          await testRedisUrl(),
        ],
        { env: { GBA_STORE_PREFIX: uniquePrefix('dia-live') }, timeoutMs: 60_000 },
      );
    } catch (e) {
      await capture.stop();
      throw e;
    }
    let code: number | null | undefined;
    try {
      const e = up.endpoints;
      const set = milenageSets()[4]!;
      const imsi = `00101${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
      const guss = {
        bsfInfo: { uiccType: 'GBA', lifeTime: 3600 },
        ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${imsi}@ims.example` }] } }],
      };
      const put = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${e.hss.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ k: set.k, opc: set.opc, guss }),
      });
      expect(put.status).to.equal(201);
      const b = await bootstrap({
        bsfUrl: e.bsf.ub,
        impi: impiFromImsi(imsi, 2),
        realm: e.bsf.realm,
        usim: new SoftUsim({ algorithm: 'milenage', k: hex(set.k), opc: hex(set.opc) }),
      });
      const cfg = await fetchDeviceConfig(e.naf!.ua, b);
      const r = await fetch(e.naf!.pskLookup, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${e.naf!.pskApiToken}` },
        body: JSON.stringify({ pskIdentity: cfg.pskIdentity }),
      });
      expect(r.status).to.equal(200);
      // A DWR/DWA on the wire without waiting out the NFs' 30 s Tw: a second connection under the BSF's
      // identity (allowed; several connections per identity stay up), then DPR.
      const socket = createConnection({ host: '127.0.0.1', port: zh });
      await new Promise((res, rej) => {
        socket.once('connect', res);
        socket.once('error', rej);
      });
      const conn = new Connection(socket, 'client', {
        local: { host: e.bsf.diameter!.host, realm: e.bsf.diameter!.realm, applicationId: APP_ZH },
        log: silentLogger,
      });
      await conn.exchangeCapabilities();
      const dwa = await conn.request({
        flags: 0,
        commandCode: CMD.DW,
        applicationId: 0,
        avps: [avp('Origin-Host', e.bsf.diameter!.host), avp('Origin-Realm', e.bsf.diameter!.realm)],
      });
      expect(resultOf(dwa)).to.equal(RC.SUCCESS);
      await conn.disconnect();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- up\n${up.output.join('').slice(-4000)}`);
    } finally {
      code = await up.stop('SIGTERM'); // the BSF and NAF clients send DPR on the way down
      await capture.stop();
    }
    expect(code, 'up exits 0 on SIGTERM').to.equal(0);
    const tshark = (...args: string[]) =>
      execFileSync(
        'tshark',
        ['-r', file, '-d', `tcp.port==${zh},diameter`, '-d', `tcp.port==${zn},diameter`, ...args],
        { encoding: 'utf8' },
      );
    expect(
      tshark(
        '-Y',
        '_ws.malformed || (diameter && _ws.expert.severity >= "warning")',
        '-T',
        'fields',
        '-e',
        'frame.number',
        '-e',
        '_ws.expert.message',
      ).trim(),
      'malformed or warned frames',
    ).to.equal('');
    // One PDML pass for the rest: each packet's Diameter PDUs (a segment may carry several) and the AVP names.
    const pdml = tshark('-Y', 'diameter', '-T', 'pdml');
    const shows = (pkt: string, field: string) =>
      [...pkt.matchAll(new RegExp(`<field name="${field.replace(/\./g, '\\.')}"[^>]*? show="([^"]*)"`, 'g'))].map(
        (m) => m[1]!,
      );
    const seen = new Set<string>();
    const resultCodes: string[] = [];
    for (const pkt of pdml.split('<packet>').slice(1)) {
      const cmds = shows(pkt, 'diameter.cmd.code');
      const apps = shows(pkt, 'diameter.applicationId');
      const reqs = shows(pkt, 'diameter.flags.request');
      cmds.forEach((c, i) => seen.add(`${c}/${apps[i]}/${reqs[i] === 'True' || reqs[i] === '1' ? 'R' : 'A'}`));
      resultCodes.push(...shows(pkt, 'diameter.Result-Code'));
    }
    for (const want of [
      '257/0/R',
      '257/0/A',
      '280/0/R',
      '280/0/A',
      '282/0/R',
      '282/0/A',
      '303/16777221/R',
      '303/16777221/A',
      '310/16777220/R',
      '310/16777220/A',
    ])
      expect([...seen], want).to.include(want);
    expect(resultCodes.length).to.be.at.least(6);
    expect(
      resultCodes.filter((c) => c !== '2001'),
      'Result-Codes other than 2001',
    ).to.deep.equal([]);
    for (const name of [
      '3GPP Zh',
      '3GPP Zn',
      'SIP-Auth-Data-Item',
      'SIP-Authenticate',
      'SIP-Authorization',
      'Confidentiality-Key',
      'Integrity-Key',
      'ME-Key-Material',
      'Key-ExpiryTime',
      'BootstrapInfoCreationTime',
      'GBA-UserSecSettings',
      'GBA-Type',
      'Transaction-Identifier',
      'NAF-Hostname',
      'Vendor-Specific-Application-Id',
      'Disconnect-Cause',
    ]) {
      expect(pdml, name).to.include(name);
    }
  });
});
