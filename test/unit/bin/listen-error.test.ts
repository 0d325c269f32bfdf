/** bin/listen-error.ts: a listener's failed listen/bind becomes one line naming the port, the listener and the flag. */
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { loadConfig } from '../../../shared/config.js';
import { portsFromBase } from '../../../bin/commands/up.js';
import {
  ListenFailedError,
  listenFailureOf,
  nfListenMessage,
  ownerOf,
  upListenMessage,
} from '../../../bin/listen-error.js';

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('bin/listen-error', () => {
  it("reads Node's own EADDRINUSE from a TCP listen (HTTP, Diameter, CoAP over TLS)", async () => {
    const a = await listen(0);
    const port = (a.address() as { port: number }).port;
    try {
      const err = await listen(port).then(
        (b) => {
          b.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(listenFailureOf(err)).to.deep.equal({ code: 'EADDRINUSE', host: '127.0.0.1', port });
    } finally {
      a.close();
    }
  });

  it("reads Node's own EADDRINUSE from a UDP bind (CoAP over DTLS)", async () => {
    const a = createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const port = a.address().port;
    const b = createSocket('udp4');
    const err = await new Promise<unknown>((resolve) => {
      b.once('error', resolve);
      b.bind(port, '127.0.0.1', () => resolve(undefined));
    });
    b.close();
    a.close();
    expect(listenFailureOf(err)).to.deep.equal({ code: 'EADDRINUSE', host: '127.0.0.1', port });
  });

  it('leaves every other error alone', () => {
    expect(listenFailureOf(new Error('boom'))).to.equal(undefined);
    expect(
      listenFailureOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED', syscall: 'connect', port: 1 })),
    ).to.equal(undefined);
    expect(listenFailureOf(undefined)).to.equal(undefined);
  });

  it('finds the listener of a port in the effective configuration (Diameter ports included)', () => {
    const c = loadConfig({ env: {} });
    expect(ownerOf(c, 'hss-mock', c.hss.port)?.path).to.equal('hss.port');
    expect(ownerOf(c, 'hss-mock', 3868)?.path).to.equal('hss.diameter.port');
    expect(ownerOf(c, 'bsf', c.bsf.znPort)?.path).to.equal('bsf.znPort');
    expect(ownerOf(c, 'lwm2m', c.lwm2m.port)?.listener).to.equal('CoAP over TLS (TCP) and DTLS (UDP)');
    expect(ownerOf(c, 'naf', c.hss.port)).to.equal(undefined);
  });

  it("standalone: names the NF's own flag, or the config path when the command has no flag for it", () => {
    const flags: Record<string, string> = { 'hss.port': '--port', 'hss.host': '--host' };
    const f = { code: 'EADDRINUSE', host: '127.0.0.1', port: 8082 };
    expect(nfListenMessage('hss-mock', { ...f, path: 'hss.port' }, (p) => flags[p])).to.equal(
      'hss-mock: port 8082 on 127.0.0.1 is in use (wanted by the provisioning and Zh (HTTP) listener); choose another with --port',
    );
    expect(nfListenMessage('hss-mock', { ...f, port: 3868, path: 'hss.diameter.port' }, (p) => flags[p])).to.equal(
      'hss-mock: port 3868 on 127.0.0.1 is in use (wanted by the Zh (Diameter) listener); choose another with hss.diameter.port in --config',
    );
    expect(
      nfListenMessage('hss-mock', { ...f, code: 'EADDRNOTAVAIL', host: '10.9.9.9', path: 'hss.port' }, (p) => flags[p]),
    ).to.match(/10\.9\.9\.9 is on an address this machine does not have .*choose another with --host$/);
  });

  it('up: names the place after --base-port', () => {
    const offsets = portsFromBase(0);
    const line = upListenMessage(
      'lwm2m',
      { code: 'EADDRINUSE', host: '127.0.0.1', port: 47105, path: 'lwm2m.port' },
      (p) => offsets[p],
    );
    expect(line).to.equal(
      "port 47105 on 127.0.0.1 is in use (wanted by lwm2m's CoAP over TLS (TCP) and DTLS (UDP) listener, --base-port + 5); start with another --base-port",
    );
    expect(new ListenFailedError('lwm2m', { code: 'EADDRINUSE', host: '127.0.0.1', port: 47105 }).message).to.equal(
      'lwm2m: port 47105 on 127.0.0.1 is in use',
    );
  });
});
