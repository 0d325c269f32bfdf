/**
 * Wireshark's Diameter dissector (tshark) as an independent decoder of our Zh/Zn messages: MAR/MAA and BIR/BIA
 * as our builders encode them, written into a pcap (raw IPv4/TCP, ports 3868 and 3869), must decode with no
 * malformed packet, the 3GPP Zh/Zn application ids and every GBA AVP by name.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, FLAG_P, FLAG_R, avp, type Avp } from '../../shared/diameter/codec.js';
import { APP_ZH, APP_ZN, CMD, RC } from '../../shared/diameter/dictionary.js';
import { biaAvps, birAvps, maaAvps, marAvps } from '../../shared/diameter/gba.js';

function packet(src: number, dst: number, seq: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20); const tcp = Buffer.alloc(20);
  ip[0] = 0x45; ip.writeUInt16BE(40 + payload.length, 2); ip[8] = 64; ip[9] = 6;
  ip.set([127, 0, 0, 1], 12); ip.set([127, 0, 0, 1], 16);
  let sum = 0; for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i); while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  tcp.writeUInt16BE(src, 0); tcp.writeUInt16BE(dst, 2); tcp.writeUInt32BE(seq, 4); tcp.writeUInt32BE(1, 8);
  tcp[12] = 0x50; tcp[13] = 0x18; tcp.writeUInt16BE(65535, 14);
  const rec = Buffer.concat([ip, tcp, payload]);
  const hdr = Buffer.alloc(16); hdr.writeUInt32LE(1_700_000_000, 0); hdr.writeUInt32LE(rec.length, 8); hdr.writeUInt32LE(rec.length, 12);
  return Buffer.concat([hdr, rec]);
}

const hasTshark = (() => { try { execFileSync('tshark', ['-v'], { stdio: 'ignore' }); return true; } catch { return false; } })();

describe('tshark decodes our Zh and Zn messages (interop)', function () {
  this.timeout(60000);
  it('MAR/MAA on 3868 and BIR/BIA on 3869: no malformed packets, 3GPP Zh/Zn, AVPs 400–410 by name', function () {
    if (!hasTshark) throw new Error('tshark is not installed (.ci/run installs it)');
    const r = { sessionId: 'bsf.x;1;1', originHost: 'bsf.x', originRealm: 'x', destinationRealm: 'x' };
    const av = { rand: Buffer.alloc(16, 1), autn: Buffer.alloc(16, 2), xres: Buffer.alloc(8, 3), ck: Buffer.alloc(16, 4), ik: Buffer.alloc(16, 5) };
    const guss = { bsfInfo: { uiccType: 'GBA' as const, lifeTime: 3600 }, ussList: [{ uss: { gsId: 1, gsType: 0, ueIds: [{ ueId: 'sip:a@x' }] } }] };
    const msg = (cmd: number, app: number, req: boolean, avps: Avp[]) => encodeMessage({ flags: (req ? FLAG_R : 0) | FLAG_P, commandCode: cmd, applicationId: app, hopByHop: 5, endToEnd: 6, avps });
    const head = (rc: number) => [avp('Session-Id', 'bsf.x;1;1'), avp('Result-Code', rc), avp('Origin-Host', 'hss.x'), avp('Origin-Realm', 'x')];
    const frames = [
      packet(40000, 3868, 1, msg(CMD.MA, APP_ZH, true, [...marAvps(r, { impi: 'a@x', resync: { rand: Buffer.alloc(16, 9), auts: Buffer.alloc(14, 8) } }), avp('GUSS-Timestamp', Date.now())])),
      packet(3868, 40000, 1, msg(CMD.MA, APP_ZH, false, [...head(RC.SUCCESS), ...maaAvps('a@x', av, guss)])),
      packet(40001, 3869, 1, msg(CMD.BI, APP_ZN, true, birAvps(r, { btid: 'AAAAAAAAAAAAAAAAAAAAAA==@bsf.x', nafFqdn: 'naf.x', uaSecProtId: '010001c0a8', gbaUAware: true, gsIds: [1] }))),
      packet(3869, 40001, 1, msg(CMD.BI, APP_ZN, false, [...head(RC.SUCCESS), ...biaAvps({ impi: 'a@x', meKey: Buffer.alloc(32, 7), uiccKey: Buffer.alloc(32, 6), expiresAtMs: Date.now() + 3600_000, createdAtMs: Date.now(), gbaType: '3G_GBA', ussList: guss.ussList })])),
    ];
    const gh = Buffer.alloc(24); gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6); gh.writeUInt32LE(65535, 16); gh.writeUInt32LE(101, 20);
    const file = join(mkdtempSync(join(tmpdir(), 'gba-dia-')), 'zhzn.pcap');
    writeFileSync(file, Buffer.concat([gh, ...frames]));
    const tshark = (...args: string[]) => execFileSync('tshark', ['-r', file, '-d', 'tcp.port==3869,diameter', ...args], { encoding: 'utf8' });
    expect(tshark('-Y', '_ws.malformed || _ws.expert.severity >= "warning"').trim()).to.equal('');
    const fields = tshark('-T', 'fields', '-e', 'diameter.cmd.code', '-e', 'diameter.applicationId', '-e', 'diameter.flags.request').trim().split('\n');
    expect(fields).to.deep.equal(['303\t16777221\t1', '303\t16777221\t0', '310\t16777220\t1', '310\t16777220\t0']);
    const verbose = tshark('-V');
    for (const name of ['3GPP Zh', '3GPP Zn', 'Transaction-Identifier', 'AVP Code: 402 NAF-Hostname' /* Wireshark's (Rel-6) name for NAF-Id */, 'GBA_U-Awareness-Indicator', 'GAA-Service-Identifier', 'Key-ExpiryTime', 'ME-Key-Material', 'UICC-Key-Material',
      'BootstrapInfoCreationTime', 'GBA-UserSecSettings', 'GBA-Type', 'GUSS-Timestamp', 'SIP-Auth-Data-Item', 'SIP-Authorization', 'Confidentiality-Key', 'Integrity-Key']) {
      expect(verbose, name).to.include(name);
    }
  });
});
