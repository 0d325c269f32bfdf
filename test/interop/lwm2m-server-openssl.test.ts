/**
 * The LwM2M server's CoAP over TLS-PSK listener against `openssl s_client` (a third-party TLS 1.2 PSK client):
 * the handshake completes on the first try for a never-seen identity, and the server's CSM arrives (RFC 8323 §3.3).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadConfig } from '../../shared/config.js';
import { silentLogger } from '../../shared/log.js';
import { csmMessage, encodeTcp } from '../../shared/coap/tcp.js';
import { startLwm2m, type RunningLwm2m } from '../../lwm2m/main.js';
import { createMemoryStores } from '../../shared/store/memory.js';
import { startFakePskApi, type FakePskApi } from '../support/lwm2m.js';

const TOKEN = 'psk-api-token-0123456789abcdef';
const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const IDENTITY = `3GPP-bootstrapping.${BTID}`;
const KEY = Buffer.from('6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435', 'hex');

describe('LwM2M server (interop: openssl s_client -tls1_2 -psk)', function () {
  this.timeout(20_000);
  let api: FakePskApi;
  let server: RunningLwm2m;
  let child: ChildProcess | undefined;

  before(async () => {
    api = await startFakePskApi(
      TOKEN,
      new Map([
        [
          IDENTITY,
          {
            psk: KEY,
            endpoint: 'urn:imsi:001010000000001',
            btid: BTID,
            impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
            expiresAt: () => new Date(Date.now() + 3600_000).toISOString(),
          },
        ],
      ]),
    );
    const config = loadConfig({
      env: {},
      flags: {
        'lwm2m.port': 0,
        'lwm2m.apiPort': 0,
        'lwm2m.dtls': false,
        'lwm2m.pskLookupUrl': api.url,
        'lwm2m.pskApiToken': TOKEN,
      },
    });
    server = await startLwm2m(config, { log: silentLogger, stores: createMemoryStores() });
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await server.close();
    await api.close();
  });

  it("completes a PSK-AES128-CCM8 handshake and receives the server's CSM", async () => {
    const csm = encodeTcp(csmMessage({ maxMessageSize: 16384, blockWiseTransfer: false }));
    const c = spawn(
      'openssl',
      [
        's_client',
        '-tls1_2',
        '-connect',
        `127.0.0.1:${server.tls.port}`,
        '-psk',
        KEY.toString('hex'),
        '-psk_identity',
        IDENTITY,
        '-cipher',
        'PSK-AES128-CCM8',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child = c;
    // stdin stays open: s_client closes the connection when its stdin ends.
    const out = await new Promise<Buffer>((resolve, reject) => {
      let stdout = Buffer.alloc(0);
      let stderr = '';
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`s_client timed out; stdout: ${stdout.toString('latin1')}\nstderr: ${stderr}`));
      }, 10_000);
      c.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`openssl could not be started (is it installed?): ${err.message}`));
      });
      c.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      c.stdout!.on('data', (d: Buffer) => {
        stdout = Buffer.concat([stdout, d]);
        if (/Cipher is PSK-AES128-CCM8/.test(stdout.toString('latin1')) && stdout.includes(csm)) {
          clearTimeout(timer);
          c.kill('SIGTERM');
          resolve(stdout);
        }
      });
      c.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s_client exited (${code}) early; stdout: ${stdout.toString('latin1')}\nstderr: ${stderr}`));
      });
    });
    expect(out.toString('latin1')).to.match(/Protocol\s*: TLSv1\.2/);
    expect(out.includes(csm)).to.equal(true);
    expect(api.requests).to.deep.equal([{ pskIdentity: IDENTITY, uaSecProtId: '010001c0a8', authorized: true }]);
  });
});
