import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, redactConfig } from '../../../shared/config.js';

const dir = mkdtempSync(join(tmpdir(), 'gba-cfg-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const problemsOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return expect.fail('expected a ConfigError') as never;
};

describe('configuration (contract C1)', () => {
  it('defaults: home network 001/01, derived BSF/NAF/LwM2M names, default ports', () => {
    const c = loadConfig({ env: {} });
    expect(c.homeNetwork).to.deep.equal({ mcc: '001', mnc: '01' });
    expect(c.bsf.domain).to.equal('bsf.mnc001.mcc001.pub.3gppnetwork.org');
    expect(c.naf.fqdn).to.equal('naf.mnc001.mcc001.pub.3gppnetwork.org');
    expect(c.naf.lwm2m.fqdn).to.equal('lwm2m.mnc001.mcc001.pub.3gppnetwork.org');
    expect(c.lwm2m.fqdn).to.equal(c.naf.lwm2m.fqdn);
    expect([
      c.bsf.ubPort,
      c.bsf.znPort,
      c.hss.port,
      c.naf.uaPort,
      c.naf.pskPort,
      c.lwm2m.port,
      c.lwm2m.apiPort,
    ]).to.deep.equal([8080, 8081, 8082, 8083, 8084, 5684, 8085]);
    expect(c.bsf.lifetimeSec).to.equal(3600);
    expect(c.naf.lwm2m.uaSecProtId).to.equal('010001c0a8');
  });

  it('CoAP flow-control limits (issue 18 finding 1): defaults 16 requests, 30 s stall, 1 MiB queued; configurable, bounded', () => {
    const c = loadConfig({ env: {} });
    expect([
      c.lwm2m.coapMaxRequestsInProgress,
      c.lwm2m.coapWriteStallTimeoutSec,
      c.lwm2m.coapMaxQueuedOutputBytes,
    ]).to.deep.equal([16, 30, 1024 * 1024]);
    const d = loadConfig({
      env: {},
      flags: { 'lwm2m.coapMaxRequestsInProgress': 4, 'lwm2m.coapWriteStallTimeoutSec': 5 },
    });
    expect([d.lwm2m.coapMaxRequestsInProgress, d.lwm2m.coapWriteStallTimeoutSec]).to.deep.equal([4, 5]);
    expect(() => loadConfig({ env: {}, flags: { 'lwm2m.coapMaxRequestsInProgress': 0 } })).to.throw(ConfigError);
    expect(() => loadConfig({ env: {}, flags: { 'lwm2m.coapMaxQueuedOutputBytes': 100 } })).to.throw(ConfigError);
  });

  it('YAML and JSON files; flags override the file; the environment overrides flags', () => {
    const yaml = file('a.yaml', 'homeNetwork: { mcc: "310", mnc: "410" }\nbsf:\n  lifetimeSec: 100\n  ubPort: 9000\n');
    const c1 = loadConfig({ file: yaml, env: {} });
    expect(c1.bsf.domain).to.equal('bsf.mnc410.mcc310.pub.3gppnetwork.org');
    expect(c1.bsf.lifetimeSec).to.equal(100);
    const json = file('a.json', JSON.stringify({ bsf: { lifetimeSec: 100 } }));
    expect(loadConfig({ file: json, env: {} }).bsf.lifetimeSec).to.equal(100);
    const c2 = loadConfig({ file: yaml, flags: { 'bsf.lifetimeSec': 200 }, env: {} });
    expect(c2.bsf.lifetimeSec).to.equal(200);
    const c3 = loadConfig({
      file: yaml,
      flags: { 'bsf.lifetimeSec': 200 },
      env: { GBA_BSF_LIFETIME_SEC: '300', REDIS_URL: 'redis://h:1' },
    });
    expect(c3.bsf.lifetimeSec).to.equal(300);
    expect(c3.store.redisUrl).to.equal('redis://h:1');
  });

  it('reports every problem at once, with its path', () => {
    const bad = file(
      'bad.yaml',
      'homeNetwork: { mcc: "1", mnc: "x" }\nbsf: { ubPort: 70000, lifetimeSec: 0, nope: 1 }\nnaf: { lwm2m: { uaSecProtId: "zz" } }\n',
    );
    const p = problemsOf(() => loadConfig({ file: bad, env: {} }));
    expect(p.join('\n'))
      .to.contain('homeNetwork.mcc')
      .and.contain('homeNetwork.mnc')
      .and.contain('bsf.ubPort')
      .and.contain('bsf.lifetimeSec')
      .and.contain('naf.lwm2m.uaSecProtId')
      .and.contain('nope');
    expect(p.length).to.be.at.least(6);
  });

  it('port collisions and a redis store without a URL are problems', () => {
    const p = problemsOf(() => loadConfig({ flags: { 'bsf.znPort': 8080, 'store.kind': 'redis' }, env: {} }));
    expect(p.join('\n'))
      .to.contain('bsf.znPort: port 8080 is already used by bsf.ubPort')
      .and.contain('store.redisUrl');
  });

  it('unreadable and malformed files are reported, not thrown raw', () => {
    expect(problemsOf(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }))[0]).to.contain('missing.yaml');
    expect(problemsOf(() => loadConfig({ file: file('x.json', '{"a":'), env: {} }))[0]).to.contain('not valid JSON');
    expect(problemsOf(() => loadConfig({ file: file('x.yaml', 'a: [1, 2'), env: {} }))[0]).to.contain('not valid YAML');
  });

  it('redaction replaces every token, keeping the structure', () => {
    const c = loadConfig({
      flags: { 'hss.adminToken': 'admin-token-0123456789abcdef', 'naf.pskApiToken': 'psk-token-0123456789abcdef' },
      env: {},
    });
    const r = JSON.stringify(redactConfig(c));
    expect(r).to.not.contain('admin-token-0123456789abcdef').and.not.contain('psk-token-0123456789abcdef');
    expect(r).to.contain('"adminToken":"[redacted]"');
  });
});
