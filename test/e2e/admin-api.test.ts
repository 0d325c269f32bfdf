/**
 * The BSF admin API (C9) through real processes and a real Redis: Bearer admin token, sessions by IMPI,
 * revocation reaching the NAF's key caches and the LwM2M server's TLS PSK cache within 2 s, and the device
 * timeline (newest first, limit honoured, a human reason for failures, capped).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, type Bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { connectCoapTls } from '../../device/tls-transport.js';
import { ksNaf } from '../../shared/crypto/kdf.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[2]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const usim = (k = hex(SET.k)) => new SoftUsim({ algorithm: 'milenage', k, opc: hex(SET.opc) });

/** Polls `check` until it returns true or `ms` pass; resolves to the time it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

describe('BSF admin API: sessions, revocation, device timeline (real processes, real Redis)', function () {
  this.timeout(90_000);
  let net: RunningNetwork & { logs: () => string };
  before(async () => {
    net = await givenNetwork();
  });
  after(async () => {
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });

  const admin = (path: string, init: RequestInit = {}, token: string | null = net.endpoints.admin!.token) =>
    fetch(`${net.endpoints.bsf.admin}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
    });
  const newDevice = async () => {
    const imsi = newImsi();
    await provision(net.endpoints.hss.provisioning, net.endpoints.hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    return { imsi, impi: impiFromImsi(imsi, 2) };
  };
  const boot = (impi: string, k?: Buffer): Promise<Bootstrap> =>
    bootstrap({ bsfUrl: net.endpoints.bsf.ub, impi, realm: REALM, usim: usim(k) });
  const pskLookup = (btid: string) =>
    fetch(net.endpoints.naf!.pskLookup, {
      method: 'POST',
      headers: { authorization: `Bearer ${net.endpoints.naf!.pskApiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pskIdentity: `3GPP-bootstrapping.${btid}` }),
    });

  it('endpoints.json names bsf.admin and admin.token; provisioning accepts the same token (C5)', () => {
    expect(net.endpoints.bsf.admin).to.match(/^http:\/\/127\.0\.0\.1:\d+\/admin\/v1$/);
    expect(net.endpoints.admin!.token).to.have.length.greaterThan(15);
    expect(net.endpoints.hss.adminToken).to.equal(net.endpoints.admin!.token);
  });

  it('answers 401 with WWW-Authenticate: Bearer for a missing or unknown token', async () => {
    for (const token of [null, 'not-the-admin-token-0123456789']) {
      for (const [path, method] of [
        ['/sessions?impi=x', 'GET'],
        ['/events?impi=x', 'GET'],
        ['/sessions/abc', 'DELETE'],
      ] as const) {
        const r = await admin(path, { method }, token);
        expect(r.status, `${method} ${path}`).to.equal(401);
        expect(r.headers.get('www-authenticate')).to.match(/^Bearer/);
        expect(r.headers.get('content-type')).to.equal('application/problem+json');
      }
    }
  });

  it('lists the sessions of an IMPI with ISO-8601 times, and rejects a bad limit', async () => {
    const { impi } = await newDevice();
    const a = await boot(impi);
    const b = await boot(impi);
    // The session index is written beside the Ub answer (bsf/timeline.ts), so it may trail it briefly.
    let items: Array<Record<string, string>> = [];
    await within(5000, async () => {
      const r = await admin(`/sessions?impi=${encodeURIComponent(impi)}`);
      expect(r.status).to.equal(200);
      items = ((await r.json()) as { items: Array<Record<string, string>> }).items;
      return items.length >= 2;
    });
    expect(items.map((s) => s.btid).sort()).to.deep.equal([a.btid, b.btid].sort());
    for (const s of items) {
      expect(s.impi).to.equal(impi);
      expect(new Date(s.createdAt!).toISOString()).to.equal(s.createdAt);
      expect(Date.parse(s.expiresAt!)).to.be.greaterThan(Date.now());
    }
    expect((await admin('/sessions?limit=0')).status).to.equal(400);
    const none = (await (await admin(`/sessions?impi=${encodeURIComponent(impiFromImsi(newImsi(), 2))}`)).json()) as {
      items: unknown[];
    };
    expect(none.items).to.deep.equal([]);
  });

  it('the timeline holds the Ub outcomes newest first, with a reason for failures, and honours limit', async () => {
    const { impi } = await newDevice();
    const ok1 = await boot(impi);
    const bad = await boot(impi, randomBytes(16)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(bad, 'a wrong K fails').to.be.instanceOf(Error);
    const ok2 = await boot(impi);
    let items: Array<{ at: string; impi: string; outcome: string; reason: string; btid?: string }> = [];
    await within(5000, async () => {
      items = (
        (await (await admin(`/events?impi=${encodeURIComponent(impi)}&limit=10`)).json()) as { items: typeof items }
      ).items;
      return items.length >= 3;
    });
    expect(items.map((e) => e.outcome)).to.deep.equal(['ok', 'mac_failure', 'ok']);
    expect(items[0]!.btid).to.equal(ok2.btid);
    expect(items[2]!.btid).to.equal(ok1.btid);
    expect(items[1]!.reason).to.match(/AUTN MAC did not verify.*check K\/OPc/);
    for (let i = 1; i < items.length; i++)
      expect(Date.parse(items[i - 1]!.at)).to.be.at.least(Date.parse(items[i]!.at));
    const one = (
      (await (await admin(`/events?impi=${encodeURIComponent(impi)}&limit=1`)).json()) as { items: typeof items }
    ).items;
    expect(one).to.have.length(1);
    expect(one[0]!.btid).to.equal(ok2.btid);
    expect((await admin('/events?limit=abc')).status).to.equal(400);
  });

  it('an unknown IMPI gets a timeline entry saying so', async () => {
    const impi = impiFromImsi(newImsi(), 2);
    await boot(impi).then(
      () => undefined,
      () => undefined,
    );
    let items: Array<{ outcome: string; reason: string }> = [];
    await within(5000, async () => {
      items = ((await (await admin(`/events?impi=${encodeURIComponent(impi)}`)).json()) as { items: typeof items })
        .items;
      return items.length > 0;
    });
    expect(items[0]).to.include({ outcome: 'unknown_impi' });
    expect(items[0]!.reason).to.contain('unknown IMPI');
  });

  it('DELETE /sessions/{btid} revokes: Zn and the PSK API answer 404, and the LwM2M server refuses the key, within 2 s', async () => {
    const { impi } = await newDevice();
    const b = await boot(impi);
    const cfg = await fetchDeviceConfig(net.endpoints.naf!.ua, b); // the NAF caches Ks_NAF (process and Redis)
    expect((await pskLookup(b.btid)).status).to.equal(200); // … and the LwM2M key
    const u = new URL(cfg.serverUri);
    const psk = ksNaf({
      ks: b.ks,
      rand: b.rand,
      impi: b.impi,
      nafFqdn: cfg.serverFqdn,
      uaSecProtId: hex(cfg.uaSecProtId),
    });
    const tls = () =>
      connectCoapTls({
        host: u.hostname,
        port: Number(u.port),
        serverFqdn: cfg.serverFqdn,
        pskIdentity: cfg.pskIdentity,
        psk,
        uaSecProtId: cfg.uaSecProtId,
      });
    await (await tls()).close(); // the TLS listener's PSK cache has it now

    const r = await admin(`/sessions/${encodeURIComponent(b.btid)}`, { method: 'DELETE' });
    expect(r.status).to.equal(204);
    const t0 = Date.now();
    await within(2000, async () => (await pskLookup(b.btid)).status === 404);
    await within(
      2000 - (Date.now() - t0),
      async () =>
        await tls().then(
          async (c) => {
            await c.close();
            return false;
          },
          () => true,
        ),
    );
    const took = Date.now() - t0;
    expect(took).to.be.below(2000);
    console.log(`      revocation reached the NAF and the LwM2M server in ${took} ms`);
    const zn = await fetch(`${net.endpoints.bsf.zn}/bootstrapping-info-retrieval`, {
      method: 'POST',
      headers: { authorization: `Bearer ${net.config.naf.znToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ btId: b.btid, nafId: { nafFqdn: net.config.naf.fqdn, uaSecProtId: '0100000002' } }),
    });
    expect(zn.status).to.equal(404);
    const left = ((await (await admin(`/sessions?impi=${encodeURIComponent(impi)}`)).json()) as { items: unknown[] })
      .items;
    expect(left).to.deep.equal([]);
    expect(
      (await admin(`/sessions/${encodeURIComponent(b.btid)}`, { method: 'DELETE' })).status,
      'already revoked',
    ).to.equal(404);
  });
});
