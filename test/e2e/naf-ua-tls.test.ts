/**
 * C11 on real processes: the NAF's Ua over HTTPS (TS 33.222 §5.3) with the lab CA `up` generates, checked by
 * `openssl s_client -verify_return_error`; Ua over TLS-PSK (§5.4) with `openssl s_client -psk` and a key computed
 * here independently; Zn tokens for third-party applications from `bsf.nafs` and from `gba-sim naf add-app`.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import { runCli } from '../support/cli.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, type Bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig, fetchDeviceConfigPsk, UaError } from '../../device/ua-client.js';
import { Milenage } from '../../shared/crypto/milenage.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[2]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const NAF_FQDN = 'naf.mnc001.mcc001.pub.3gppnetwork.org';
const APP_TOKEN = 'configured-app-token-0123456789';

/** Ks_NAF from K/OPc and RAND with a hand-built S (TS 33.220 Annex B.3), not with shared/crypto/kdf. */
function independentKsNaf(rand: Buffer, impi: string, fqdn: string, uaIdHex: string): Buffer {
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
    .digest();
}

/** Runs `openssl s_client` with `args`, writes `input` once connected, and returns everything it printed. */
function sClient(args: string[], input = ''): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d) => {
      text += d;
    });
    p.stderr.on('data', (d) => {
      text += d;
    });
    p.stdin.write(input);
    // -ign_eof keeps it reading the answer after stdin ends; the server closes (Connection: close).
    p.stdin.end();
    const t = setTimeout(() => p.kill(), 10_000);
    p.on('close', () => {
      clearTimeout(t);
      resolve(text);
    });
  });
}

describe('NAF Ua over HTTPS and TLS-PSK, Zn tokens for applications (C11; real processes)', function () {
  this.timeout(60000);
  let net: RunningNetwork & { logs: () => string };

  before(async () => {
    net = await givenNetwork({
      nfs: ['hss-mock', 'bsf', 'naf'],
      config: {
        // An extra NAF entry in the configuration, as `up --config` takes it (bsf.nafs).
        bsf: {
          ubPort: 0,
          znPort: 0,
          diameter: { port: 0 },
          nafs: [{ name: 'portal', token: APP_TOKEN, fqdns: [{ fqdn: 'portal.example.org' }] }],
        },
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
  const device = async (): Promise<Bootstrap> => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    return bootstrap({
      bsfUrl: e().bsf.ub,
      impi: impiFromImsi(imsi, 2),
      realm: REALM,
      usim: new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) }),
    });
  };
  const port = (url: string) => new URL(url).port;

  it('endpoints.json names naf.uaHttps, naf.uaPsk and naf.ca; the keys are mode 0600', () => {
    const n = e().naf!;
    expect(n.uaHttps).to.match(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(n.uaPsk).to.match(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(readFileSync(n.ca!, 'utf8')).to.contain('BEGIN CERTIFICATE');
    const dir = n.ca!.replace(/ca\.pem$/, '');
    expect(statSync(`${dir}naf-key.pem`).mode & 0o777).to.equal(0o600);
    expect(statSync(`${dir}ca-key.pem`).mode & 0o777).to.equal(0o600);
  });

  it('HTTPS: openssl s_client -verify_return_error accepts the NAF certificate for its FQDN against the lab CA, and refuses another name', async () => {
    const n = e().naf!;
    const base = [
      '-connect',
      `127.0.0.1:${port(n.uaHttps!)}`,
      '-verify_return_error',
      '-CAfile',
      n.ca!,
      '-servername',
      NAF_FQDN,
    ];
    const ok = await sClient([...base, '-verify_hostname', NAF_FQDN]);
    expect(ok).to.match(/Verify return code: 0 \(ok\)/);
    expect(ok).to.contain('Cipher is ECDHE-ECDSA-AES128-GCM-SHA256');
    const wrong = await sClient([...base, '-verify_hostname', 'evil.example.org']);
    // (s_client prints "Verify return code: 0" in the empty session block after a failed handshake.)
    expect(wrong).to.match(/hostname mismatch/);
    expect(wrong).to.match(/Cipher is \(NONE\)/);
  });

  it('HTTPS: the device gets its configuration with Digest inside TLS (key for fqdn ‖ 010001c02b); without the CA it refuses the NAF', async () => {
    const b = await device();
    const n = e().naf!;
    const steps: Array<Record<string, unknown> | undefined> = [];
    const c = await fetchDeviceConfig(
      n.uaHttps!,
      b,
      (s, d) => {
        if (s === 'ua.challenge') steps.push(d);
      },
      { ca: readFileSync(n.ca!), servername: NAF_FQDN },
    );
    expect(c.pskIdentity).to.equal(`3GPP-bootstrapping.${b.btid}`);
    expect(String(steps[0]?.nafId)).to.contain('010001c02b');
    const err = await fetchDeviceConfig(n.uaHttps!, b).catch((x: unknown) => x);
    expect(err).to.be.instanceOf(UaError);
    expect((err as UaError).message).to.match(/self-signed|certificate/i);
  });

  it('TLS-PSK: openssl s_client -psk with the B-TID and an independently computed Ks_NAF (fqdn ‖ 01000100a8) reads the configuration; a wrong key fails', async () => {
    const b = await device();
    const key = independentKsNaf(b.rand, b.impi, NAF_FQDN, '01000100a8');
    const args = (k: Buffer) => [
      '-connect',
      `127.0.0.1:${port(e().naf!.uaPsk!)}`,
      '-tls1_2',
      '-cipher',
      'PSK-AES128-GCM-SHA256',
      '-psk',
      k.toString('hex'),
      '-psk_identity',
      `3GPP-bootstrapping.${b.btid}`,
      '-ign_eof',
      '-quiet',
    ];
    const out = await sClient(
      args(key),
      `GET /device/v1/config HTTP/1.1\r\nHost: ${NAF_FQDN}\r\nConnection: close\r\n\r\n`,
    );
    expect(out).to.match(/HTTP\/1\.1 200 OK/);
    const body = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as Record<string, string>;
    expect(body.pskIdentity).to.equal(`3GPP-bootstrapping.${b.btid}`);
    expect(Date.parse(body.expiresAt!)).to.equal(b.lifetimeMs);
    const bad = await sClient(args(Buffer.alloc(32, 7)), `GET /device/v1/config HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(bad).not.to.match(/HTTP\/1\.1 200/);
    expect(bad).to.match(/alert|error/i);
    // Our device does the same.
    const c = await fetchDeviceConfigPsk(e().naf!.uaPsk!, b, { nafFqdn: NAF_FQDN });
    expect(c.endpoint).to.equal(body.endpoint);
  });

  it('hostile input inside the tunnels: malformed HTTP gets 400 on both listeners, which keep serving', async () => {
    const n = e().naf!;
    const raw = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect(
        { host: '127.0.0.1', port: Number(port(n.uaHttps!)), ca: readFileSync(n.ca!), servername: NAF_FQDN },
        () => s.write('NOT HTTP AT ALL\r\n\r\n'),
      );
      let text = '';
      s.on('data', (d) => {
        text += d;
      });
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    expect(raw).to.match(/^HTTP\/1\.1 400/);
    const b = await device();
    const key = independentKsNaf(b.rand, b.impi, NAF_FQDN, '01000100a8');
    const out = await sClient(
      [
        '-connect',
        `127.0.0.1:${port(n.uaPsk!)}`,
        '-tls1_2',
        '-cipher',
        'PSK-AES128-GCM-SHA256',
        '-psk',
        key.toString('hex'),
        '-psk_identity',
        b.btid,
        '-ign_eof',
        '-quiet',
      ],
      'GARBAGE\r\n\r\n',
    );
    expect(out).to.match(/HTTP\/1\.1 400/);
    const ok = await fetchDeviceConfigPsk(n.uaPsk!, b, { nafFqdn: NAF_FQDN });
    expect(ok.pskIdentity).to.equal(`3GPP-bootstrapping.${b.btid}`);
  });

  it('TLS-PSK: an unknown B-TID fails the handshake (the device is told to bootstrap again)', async () => {
    const b = await device();
    const fake = { ...b, btid: `AAAAAAAAAAAAAAAAAAAAAA==@${REALM}` };
    const err = await fetchDeviceConfigPsk(e().naf!.uaPsk!, fake, { nafFqdn: NAF_FQDN }).catch((x: unknown) => x);
    expect(err).to.be.instanceOf(UaError);
    expect((err as UaError).reason).to.equal('rebootstrap');
  });

  const zn = (token: string, fqdn: string, btid: string) =>
    fetch(`${e().bsf.zn}/bootstrapping-info-retrieval`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ btId: btid, nafId: { nafFqdn: fqdn, uaSecProtId: '0100000002' } }),
    });

  it('a bsf.nafs entry from the configuration gets keys for its FQDN only', async () => {
    const b = await device();
    const r = await zn(APP_TOKEN, 'portal.example.org', b.btid);
    expect(r.status).to.equal(200);
    const j = (await r.json()) as Record<string, string>;
    expect(j.meKeyMaterial).to.equal(
      independentKsNaf(b.rand, b.impi, 'portal.example.org', '0100000002').toString('hex'),
    );
    expect((await zn(APP_TOKEN, NAF_FQDN, b.btid)).status).to.equal(403);
  });

  it('gba-sim naf add-app prints a token the running BSF accepts at once, for that FQDN only; a second add of the name is refused', async () => {
    const file = `${net.config.stateDir}/endpoints.json`;
    const r = await runCli(['naf', 'add-app', '--fqdn', 'shop.example.org', '--endpoints', file]);
    expect(r.code, r.stderr).to.equal(0);
    const token = r.stdout.trim();
    expect(token).to.match(/^[A-Za-z0-9\-._~+/]{16,}=*$/);
    const b = await device();
    const ok = await zn(token, 'shop.example.org', b.btid);
    expect(ok.status).to.equal(200);
    expect(((await ok.json()) as Record<string, string>).impi).to.equal(b.impi);
    expect((await zn(token, 'portal.example.org', b.btid)).status).to.equal(403);
    expect((await zn('not-a-known-token-000000', 'shop.example.org', b.btid)).status).to.equal(401);
    const again = await runCli(['naf', 'add-app', '--fqdn', 'shop.example.org', '--endpoints', file]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/409/);
    const bad = await runCli(['naf', 'add-app', '--fqdn', 'not a name', '--endpoints', file]);
    expect(bad.code).to.equal(2);
  });
});
