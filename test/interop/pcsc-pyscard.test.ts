/**
 * `gba-sim usim serve` seen through a real pcscd (vsmartcard vpcd driver) by two PC/SC clients: our own
 * (`usim info --usim pcsc`, pcsc-mini over libpcsclite) and an independent one, pyscard (Debian
 * python3-pyscard), which must read the IMSI and get the RES/CK/IK of the network's vector.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createAkaAlgorithm } from '../../shared/crypto/aka-algorithm.js';
import { generateVector, recoverSqnMs } from '../../shared/crypto/aka-tokens.js';
import { sqnToBytes } from '../../shared/crypto/sqn.js';
import { runCli } from '../support/cli.js';
import { startPrivatePcscd, type PrivatePcscd } from '../support/pcscd.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[0]!;
const IMSI = '310410123456789';
const PYSCARD = fileURLToPath(new URL('./fixtures/pyscard_usim.py', import.meta.url));

function pyscard(env: NodeJS.ProcessEnv, reader: string, rand: Buffer, autn: Buffer): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      [PYSCARD, reader, rand.toString('hex'), autn.toString('hex')],
      { env: { ...process.env, ...env }, timeout: 30000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`pyscard: ${err.message}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(stdout) as Record<string, string>);
      },
    );
  });
}

describe('virtual USIM through a real pcscd: pcsc-mini and pyscard', function () {
  this.timeout(90000);
  let pcscd: PrivatePcscd;
  const alg = createAkaAlgorithm({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) });
  const vector = (sqn: number) =>
    generateVector(alg, Buffer.alloc(16, sqn & 0xff), sqnToBytes(sqn), Buffer.from('8000', 'hex'));

  before(async () => {
    pcscd = await startPrivatePcscd();
    await pcscd.plug(0, [
      '--imsi',
      IMSI,
      '--k',
      SET.k,
      '--opc',
      SET.opc,
      '--mnc-digits',
      '3',
      '--iccid',
      '89014103211118510720',
    ]);
  });
  after(async () => {
    await pcscd?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(pcscd.log());
  });

  it('usim info --usim pcsc prints IMSI, MNC length from EF_AD, the IMPI and the ICCID', async () => {
    const r = await runCli(['usim', 'info', '--usim', 'pcsc'], { env: pcscd.env });
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      imsi: IMSI,
      mncLength: 3,
      impi: '310410123456789@ims.mnc410.mcc310.3gppnetwork.org',
      iccid: '89014103211118510720',
    });
  });

  it('pyscard finds the USIM through EF_DIR, reads EF_IMSI, and gets the right RES/CK/IK; a replay gives an AUTS that verifies', async () => {
    const v = vector(32 * 3 + 1);
    const out = await pyscard(pcscd.env, 'Test vUSIM 00 00', v.rand, v.autn);
    expect(out).to.deep.equal({
      aid: 'a0000000871002ff49ff0589',
      imsi: IMSI,
      sw: '9000',
      res: v.xres.toString('hex'),
      ck: v.ck.toString('hex'),
      ik: v.ik.toString('hex'),
    });
    const again = await pyscard(pcscd.env, 'Test vUSIM 00 00', v.rand, v.autn);
    expect(again.auts, JSON.stringify(again)).to.match(/^[0-9a-f]{28}$/);
    const rec = recoverSqnMs(alg, v.rand, Buffer.from(again.auts!, 'hex'));
    expect(rec.macSOk).to.equal(true);
    expect(rec.sqnMs.readUIntBE(0, 6)).to.equal(32 * 3 + 1);
    const bad = Buffer.from(vector(32 * 4 + 2).autn);
    bad[10]! ^= 0x40;
    expect((await pyscard(pcscd.env, 'Test vUSIM 00 00', vector(32 * 4 + 2).rand, bad)).sw).to.equal('9862');
  });

  it('an empty reader: exit 1 and "no card"', async () => {
    const r = await runCli(['usim', 'info', '--usim', 'pcsc:00 01'], { env: pcscd.env });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/no card in reader "00 01"/);
    expect(r.stdout).to.equal('');
  });

  it('no pcscd at PCSCLITE_CSOCK_NAME: exit 1 and a clear message', async () => {
    const r = await runCli(['usim', 'info', '--usim', 'pcsc'], {
      env: { PCSCLITE_CSOCK_NAME: '/nonexistent/pcscd.comm' },
    });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/no PC\/SC reader found.*pcscd/);
  });

  it('a swapped card is read afresh', async () => {
    const card = await pcscd.plug(1, ['--imsi', '001010000000042', '--k', SET.k, '--opc', SET.opc]);
    const r = await runCli(['usim', 'info', '--usim', 'pcsc:00 01'], { env: pcscd.env });
    expect(JSON.parse(r.stdout).imsi, r.stderr).to.equal('001010000000042');
    await card.unplug();
    await pcscd.plug(1, ['--imsi', '001010000000043', '--k', SET.k, '--opc', SET.opc]);
    const s = await runCli(['usim', 'info', '--usim', 'pcsc:00 01'], { env: pcscd.env });
    expect(JSON.parse(s.stdout).imsi, s.stderr).to.equal('001010000000043');
  });
});
