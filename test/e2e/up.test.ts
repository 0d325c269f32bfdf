/** `gba-sim up` as users run it: endpoints.json (contract C2), a bootstrap from it, and a clean SIGTERM. */
import { expect } from 'chai';
import { createConnection } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runUp } from '../support/up.js';
import { freePortRange } from '../support/ports.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { referenceBootstrap } from '../support/ub-reference-client.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET1 = milenageSets()[0]!;
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('gba-sim up (real processes)', function () {
  this.timeout(90000);

  it('--store redis --redis-url: writes endpoints.json at --base-port, an independent Ub client bootstraps from it, SIGTERM stops every child (all 7 listeners closed)', async () => {
    const base = await freePortRange(12); // N+0 … N+11
    const up = await runUp(['--base-port', String(base), '--store', 'redis', '--redis-url', await testRedisUrl()], {
      env: { GBA_STORE_PREFIX: uniquePrefix('up') },
    });
    try {
      const e = up.endpoints;
      expect(e.hss.provisioning).to.equal(`http://127.0.0.1:${base + 2}/provisioning/v1`);
      expect(e.hss.adminToken).to.match(/^[A-Za-z0-9_-]{20,}$/);
      expect(e.bsf).to.include({
        ub: `http://127.0.0.1:${base}/`,
        realm: 'bsf.mnc001.mcc001.pub.3gppnetwork.org',
        zn: `http://127.0.0.1:${base + 1}/nbsp-gba/v1`,
        admin: `http://127.0.0.1:${base + 1}/admin/v1`,
      });
      expect(e.console).to.deep.equal({ url: `http://127.0.0.1:${base + 9}/` });
      // C5: both Diameter listeners are on with the default (HTTP) transports.
      expect(e.hss.diameter).to.deep.equal({
        uri: `aaa://127.0.0.1:${base + 7};transport=tcp`,
        host: 'hss.mnc001.mcc001.3gppnetwork.org',
        realm: 'mnc001.mcc001.3gppnetwork.org',
      });
      expect(e.bsf.diameter).to.deep.equal({
        uri: `aaa://127.0.0.1:${base + 8};transport=tcp`,
        host: 'bsf.mnc001.mcc001.3gppnetwork.org',
        realm: 'mnc001.mcc001.3gppnetwork.org',
      });
      expect(await portOpen(base + 7)).to.equal(true);
      expect(await portOpen(base + 8)).to.equal(true);
      expect(e.store?.kind).to.equal('redis');
      expect(e.naf).to.deep.equal({
        fqdn: 'naf.mnc001.mcc001.pub.3gppnetwork.org',
        ua: `http://127.0.0.1:${base + 3}/`,
        pskLookup: `http://127.0.0.1:${base + 4}/naf/v1/psk-lookup`,
        pskApiToken: e.naf!.pskApiToken,
        diameter: { host: 'naf.mnc001.mcc001.3gppnetwork.org', realm: 'mnc001.mcc001.3gppnetwork.org' },
        // C11: Ua over HTTPS at N+10, over TLS-PSK at N+11, and the lab CA in the state dir.
        uaHttps: `https://127.0.0.1:${base + 10}/`,
        uaPsk: `https://127.0.0.1:${base + 11}/`,
        ca: `${up.dir}/tls/ca.pem`,
      });
      expect(e.naf!.pskApiToken).to.match(/^[A-Za-z0-9_-]{20,}$/);
      expect(e.lwm2m).to.include({
        fqdn: 'lwm2m.mnc001.mcc001.pub.3gppnetwork.org',
        uri: `coaps+tcp://127.0.0.1:${base + 5}`,
        uaSecProtId: '010001c0a8',
        api: `http://127.0.0.1:${base + 6}/`,
      });
      for (const url of [
        e.hss.provisioning.replace('/provisioning/v1', ''),
        e.bsf.ub,
        e.bsf.zn.replace('/nbsp-gba/v1', ''),
        e.naf!.ua,
        e.naf!.pskLookup.replace('/naf/v1/psk-lookup', ''),
        e.lwm2m!.api!,
      ]) {
        expect((await fetch(new URL('/healthz', url))).status, url).to.equal(200);
      }
      // The served OpenAPI documents name the ports --base-port chose, not the defaults in the files.
      for (const [doc, urls] of [
        [`${e.hss.provisioning}/openapi.yaml`, [`http://127.0.0.1:${base + 2}`]],
        [`${e.bsf.zn}/openapi.yaml`, [`http://127.0.0.1:${base + 1}/nbsp-gba/v1`]],
        [`${e.naf!.ua}naf/v1/openapi.yaml`, [`http://127.0.0.1:${base + 3}`, `http://127.0.0.1:${base + 4}`]],
        [`${e.lwm2m!.api!}api/openapi.yaml`, [`http://127.0.0.1:${base + 6}`]],
      ] as const) {
        // The LwM2M REST API (and its document) needs the admin token (C5); the others serve theirs openly.
        const text = await (await fetch(doc, { headers: { authorization: `Bearer ${e.admin!.token}` } })).text();
        const servers = (parseYaml(text) as { servers: Array<{ url: string }> }).servers.map((x) => x.url);
        expect(servers, doc).to.deep.equal(urls);
      }
      expect(statSync(join(up.dir, 'endpoints.json')).mode & 0o077).to.equal(0);
      const effective = readFileSync(join(up.dir, 'effective-config.json'), 'utf8');
      expect(effective).to.not.contain(e.hss.adminToken);
      expect(effective).to.contain('[redacted]');

      const imsi = '001010000000077';
      const put = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${e.hss.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ k: SET1.k, op: SET1.op }),
      });
      expect(put.status).to.equal(201);
      const r = await referenceBootstrap(
        e.bsf.ub,
        `${imsi}@ims.mnc001.mcc001.3gppnetwork.org`,
        hex(SET1.k),
        hex(SET1.opc),
        { realm: e.bsf.realm },
      );
      expect(r.status, r.body).to.equal(200);
      expect(r.btid).to.match(new RegExp(`^[A-Za-z0-9+/]{22}==@${e.bsf.realm.replace(/\./g, '\\.')}$`));
    } finally {
      const code = await up.stop('SIGTERM');
      expect(code).to.equal(0);
    }
    for (let p = base; p < base + 9; p++) expect(await portOpen(p), `port ${p} still open`).to.equal(false);
  });

  it('bad arguments exit 2 with one line per problem', async () => {
    const { runCli } = await import('../support/cli.js');
    const r = await runCli(['up', '--base-port', 'x', '--store', 'nope']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--base-port');
  });
});
