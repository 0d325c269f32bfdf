/**
 * A port someone else holds: `gba-sim <nf>` and `gba-sim up` say so in one stderr line that names the port, the
 * listener that wanted it and the flag that moves it (bin/listen-error.ts), and exit 1 — no stack trace.
 */
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { freePortRange } from '../support/ports.js';

const holdTcp = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
const holdUdp = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
const lines = (s: string) => s.split('\n').filter((l) => l !== '');
const TOKEN = 'busy-port-test-token-0123456789';

describe('a busy port: one line and exit 1 (real processes)', function () {
  this.timeout(90_000);
  let dir: string;
  let held: Array<Server | Socket> = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gba-busy-'));
  });
  afterEach(() => {
    for (const h of held) h.close();
    held = [];
    rmSync(dir, { recursive: true, force: true });
  });
  const common = () => ['--store', 'memory', '--state-dir', dir, '--log-level', 'error'];

  it('hss-mock --port P (TCP held): names --port', async () => {
    const p = await freePortRange(1);
    held.push(await holdTcp(p));
    const r = await runCli(['hss-mock', '--port', String(p), ...common()]);
    expect(r.code).to.equal(1);
    expect(lines(r.stderr)).to.deep.equal([
      `gba-sim: hss-mock: port ${p} on 127.0.0.1 is in use (wanted by the provisioning and Zh (HTTP) listener); choose another with --port`,
    ]);
  });

  it('bsf --zn-port P (TCP held, Ub already listening): names --zn-port', async () => {
    const p = await freePortRange(1);
    held.push(await holdTcp(p));
    const r = await runCli([
      'bsf',
      '--ub-port',
      '0',
      '--zn-port',
      String(p),
      '--hss-url',
      'http://127.0.0.1:9',
      '--hss-token',
      TOKEN,
      ...common(),
    ]);
    expect(r.code).to.equal(1);
    expect(lines(r.stderr)).to.deep.equal([
      `gba-sim: bsf: port ${p} on 127.0.0.1 is in use (wanted by the Zn (HTTP) listener); choose another with --zn-port`,
    ]);
  });

  it('lwm2m --port P (only UDP held: the DTLS bind fails after the TLS listener started): names --port', async () => {
    const p = await freePortRange(1);
    held.push(await holdUdp(p));
    const r = await runCli([
      'lwm2m',
      '--port',
      String(p),
      '--api-port',
      '0',
      '--psk-lookup-url',
      'http://127.0.0.1:9/naf/v1/psk-lookup',
      '--psk-api-token',
      TOKEN,
      ...common(),
    ]);
    expect(r.code).to.equal(1);
    expect(lines(r.stderr)).to.deep.equal([
      `gba-sim: lwm2m: port ${p} on 127.0.0.1 is in use (wanted by the CoAP over TLS (TCP) and DTLS (UDP) listener); choose another with --port`,
    ]);
  });

  it('up --base-port B with B+2 held: one line naming hss-mock, its listener and --base-port; every child stops', async () => {
    const base = await freePortRange(10);
    held.push(await holdTcp(base + 2));
    const r = await runCli(['up', '--base-port', String(base), '--store', 'memory', '--state-dir', dir], {
      timeoutMs: 80_000,
    });
    expect(r.code).to.equal(1);
    expect(lines(r.stderr)).to.deep.equal([
      `gba-sim up: port ${base + 2} on 127.0.0.1 is in use (wanted by hss-mock's provisioning and Zh (HTTP) listener, --base-port + 2); start with another --base-port`,
    ]);
    // The NFs that did start were stopped: their ports are free again.
    for (const p of [base, base + 1, base + 3]) {
      const s = await holdTcp(p);
      await new Promise((r2) => s.close(r2));
    }
  });
});
