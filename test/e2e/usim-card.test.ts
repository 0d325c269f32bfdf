/**
 * Card to LwM2M registration against `gba-sim up` (real processes), with the USIM on a card: the virtual card
 * of `usim serve` in a private pcscd's vpcd reader (`--usim pcsc`), and the simulated modem of `usim modem` on
 * a pty (`--usim at:`). The card answers every AUTHENTICATE; K never reaches the device agent's command line.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { CLI } from '../support/cli.js';
import { freePortRange } from '../support/ports.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { runUp, type UpProcess } from '../support/up.js';
import { provision, newImsi } from '../support/network.js';
import { tempDir } from '../support/nf.js';
import { startPrivatePcscd, type PrivatePcscd } from '../support/pcscd.js';
import { milenageSets } from '../support/vectors.js';

const SET = milenageSets()[2]!;
const OTHER = milenageSets()[5]!;

async function ubOutcome(up: UpProcess, outcome: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', up.endpoints.bsf.ub))).text();
  const m = new RegExp(`^gba_ub_outcomes_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('device with a real-USIM backend against gba-sim up (pcscd + vpcd, pty modem)', function () {
  this.timeout(120000);
  let up: UpProcess;
  let pcscd: PrivatePcscd | undefined;
  const endpoints = () => join(up.dir, 'endpoints.json');
  const imsiA = newImsi(),
    imsiB = newImsi(),
    imsiM = newImsi();

  before(async () => {
    up = await runUp(
      ['--base-port', String(await freePortRange(12)), '--store', 'redis', '--redis-url', await testRedisUrl()],
      { env: { GBA_STORE_PREFIX: uniquePrefix('usim') } },
    );
    const hss = up.endpoints.hss;
    await provision(hss.provisioning, hss.adminToken, imsiA, { k: SET.k, opc: SET.opc });
    await provision(hss.provisioning, hss.adminToken, imsiB, { k: SET.k, opc: SET.opc });
    await provision(hss.provisioning, hss.adminToken, imsiM, { k: SET.k, opc: SET.opc });
  });
  after(async () => {
    await pcscd?.stop();
    await up?.stop();
  });

  describe('--usim pcsc (private pcscd, vpcd reader, virtual card)', () => {
    before(async () => {
      pcscd = await startPrivatePcscd();
      // Card A has seen a higher SQN than the HSS holds: its first AUTHENTICATE answers DC with AUTS.
      await pcscd.plug(0, ['--imsi', imsiA, '--k', SET.k, '--opc', SET.opc, '--sqn', '000000100000']);
      // Card B: the right IMSI, another K: the network's MAC does not verify (9862).
      await pcscd.plug(1, ['--imsi', imsiB, '--k', OTHER.k, '--opc', OTHER.opc]);
    });

    it('device run --usim pcsc:"00 00": resync driven by the card\'s AUTS, then LwM2M registration', async () => {
      const syncBefore = await ubOutcome(up, 'sync_failure');
      const r = await runCli(
        [
          'device',
          'run',
          '--usim',
          'pcsc:Test vUSIM 00 00',
          '--endpoints',
          endpoints(),
          '--transport',
          'tls',
          '--once',
        ],
        { env: pcscd!.env, timeoutMs: 60000 },
      );
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(
        new RegExp(`usim\\.card\\s+imsi=${imsiA} mncLength=2 impi=${imsiA}@ims\\.mnc001\\.mcc001\\.3gppnetwork\\.org`),
      );
      expect(r.stdout).to.match(/usim\.sync_failure/);
      expect(r.stdout).to.match(/lwm2m\.registered/);
      expect(r.stdout).to.match(/lwm2m\.deregistered/);
      expect(await ubOutcome(up, 'sync_failure')).to.be.greaterThan(syncBefore);
    });

    it("device bootstrap --usim pcsc (first reader with a card; default ./.gba-sim/endpoints.json) prints the card's IMPI", async () => {
      const cwd = tempDir('gba-sim-usim-cwd-');
      await import('node:fs').then((fs) => {
        fs.mkdirSync(join(cwd, '.gba-sim'));
        fs.copyFileSync(endpoints(), join(cwd, '.gba-sim', 'endpoints.json'));
      });
      const r = await runCli(['device', 'bootstrap', '--usim', 'pcsc', '--quiet'], {
        env: pcscd!.env,
        cwd,
        timeoutMs: 60000,
      });
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { btid: string; impi: string };
      expect(out.impi).to.equal(`${imsiA}@ims.mnc001.mcc001.3gppnetwork.org`);
      expect(out.btid).to.match(/^[A-Za-z0-9+/]{22}==@bsf\./);
    });

    it('a card with the right IMSI and another K: bootstrap fails within 30 s, MAC failure reported to the BSF, no B-TID', async () => {
      const macBefore = await ubOutcome(up, 'mac_failure');
      const t0 = Date.now();
      const r = await runCli(['device', 'bootstrap', '--usim', 'pcsc:00 01', '--endpoints', endpoints()], {
        env: pcscd!.env,
        timeoutMs: 60000,
      });
      expect(Date.now() - t0).to.be.lessThan(30000);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/bootstrap failed \(mac_failure\).*MAC/);
      expect(r.stdout).to.not.match(/btid/);
      expect(await ubOutcome(up, 'mac_failure')).to.equal(macBefore + 1);
    });

    it('an unknown reader: exit 1, a clear message listing the readers, no B-TID', async () => {
      const a = await runCli(['device', 'bootstrap', '--usim', 'pcsc:No Such Reader', '--endpoints', endpoints()], {
        env: pcscd!.env,
      });
      expect(a.code).to.equal(1);
      expect(a.stderr).to.match(
        /no PC\/SC reader named "No Such Reader" \(readers: "Test vUSIM 00 00".*"Test vUSIM 00 01"/,
      );
      expect(a.stdout).to.equal('');
    });
  });

  describe('--usim at: (simulated modem on a pty)', () => {
    const modems: ChildProcess[] = [];
    after(async () => {
      for (const m of modems) {
        if (m.exitCode === null) {
          const gone = new Promise((r) => m.once('exit', r));
          m.kill('SIGTERM');
          await gone;
        }
      }
    });
    const startModem = async (args: string[]): Promise<string> => {
      const link = join(tempDir('gba-sim-modem-'), 'ttyV0');
      const m = spawn(process.execPath, [CLI, 'usim', 'modem', '--link', link, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const err: string[] = [];
      m.stderr!.on('data', (d: Buffer) => err.push(d.toString()));
      modems.push(m);
      const deadline = Date.now() + 20000;
      while (!existsSync(link)) {
        if (m.exitCode !== null || Date.now() > deadline) throw new Error(`usim modem did not start: ${err.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return link;
    };

    it('usim info, then device run --usim at:PTY@115200 to LwM2M registration (bare +CCHO, echo kept)', async () => {
      const link = await startModem([
        '--imsi',
        imsiM,
        '--k',
        SET.k,
        '--opc',
        SET.opc,
        '--mnc-digits',
        '2',
        '--iccid',
        '8949440000001234567',
        '--quirks',
        'bare-ccho,keep-echo',
      ]);
      const info = await runCli(['usim', 'info', '--usim', `at:${link}`]);
      expect(info.code, info.stderr).to.equal(0);
      expect(JSON.parse(info.stdout)).to.deep.equal({
        imsi: imsiM,
        mncLength: 2,
        impi: `${imsiM}@ims.mnc001.mcc001.3gppnetwork.org`,
        iccid: '8949440000001234567',
      });
      const r = await runCli(['device', 'run', '--usim', `at:${link}@115200`, '--endpoints', endpoints(), '--once'], {
        timeoutMs: 60000,
      });
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/usim\.modem/);
      expect(r.stdout).to.match(/lwm2m\.registered/);
    });

    it('a modem without logical channels that passes 61xx through: bootstrap on the basic channel', async () => {
      const link = await startModem([
        '--imsi',
        imsiM,
        '--k',
        SET.k,
        '--opc',
        SET.opc,
        '--sqn',
        '000000200000',
        '--quirks',
        'no-cgla,unquoted',
      ]);
      const r = await runCli(['device', 'bootstrap', '--usim', `at:${link}`, '--endpoints', endpoints()], {
        timeoutMs: 60000,
      });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/usim\.modem_quirks\s+quirks=no-ccho/);
      expect(r.stderr).to.match(/usim\.sync_failure/);
      expect(JSON.parse(r.stdout).impi).to.equal(`${imsiM}@ims.mnc001.mcc001.3gppnetwork.org`);
    });

    it('no card and a wrong PIN: exit 1 with a clear message', async () => {
      const none = await startModem(['--imsi', imsiM, '--k', SET.k, '--opc', SET.opc, '--quirks', 'no-card']);
      const a = await runCli(['device', 'bootstrap', '--usim', `at:${none}`, '--endpoints', endpoints()]);
      expect(a.code).to.equal(1);
      expect(a.stderr).to.match(/no SIM card in the modem/);
      const pin = await startModem(['--imsi', imsiM, '--k', SET.k, '--opc', SET.opc, '--pin', '1234']);
      const b = await runCli([
        'device',
        'bootstrap',
        '--usim',
        `at:${pin}`,
        '--usim-pin',
        '0000',
        '--endpoints',
        endpoints(),
      ]);
      expect(b.code).to.equal(1);
      expect(b.stderr).to.match(/wrong PIN/);
      const c = await runCli(['usim', 'info', '--usim', `at:${pin}`]);
      expect(c.code).to.equal(1);
      expect(c.stderr).to.match(/needs its PIN.*--usim-pin/);
    });
  });
});
