/**
 * BSF fault scenarios for testing devices (issue 17, C8) through real processes and a real Redis: the admin
 * resource, and our device agent doing the right thing in each scenario, recorded in the device's timeline.
 */
import { expect } from 'chai';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap, UbError } from '../../device/ub-client.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { SCENARIO_REASONS } from '../../bsf/scenarios.js';
import { milenageSets, hex } from '../support/vectors.js';
import { runCli } from '../support/cli.js';
import { BrokenBsf } from '../support/broken-bsf.js';

const SET = milenageSets()[4]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';

async function until<T>(ms: number, what: string, f: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('BSF fault scenarios: our device agent in each (real processes, real Redis)', function () {
  this.timeout(90_000);
  let net: RunningNetwork & { logs: () => string };
  before(async () => {
    net = await givenNetwork({ nfs: ['hss-mock', 'bsf'] });
  });
  after(async () => {
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs().slice(-4000));
  });

  const admin = (path: string, init: RequestInit = {}, token: string | null = net.endpoints.admin!.token) =>
    fetch(`${net.endpoints.bsf.admin}${path}`, {
      ...init,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  const put = (impi: string, body: unknown) =>
    admin(`/scenarios/${impi}`, { method: 'PUT', body: JSON.stringify(body) });
  const device = async () => {
    const imsi = newImsi();
    await provision(net.endpoints.hss.provisioning, net.endpoints.hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const impi = impiFromImsi(imsi, 2);
    const usim = new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) });
    const steps: string[] = [];
    const boot = () =>
      bootstrap({ bsfUrl: net.endpoints.bsf.ub, impi, realm: REALM, usim, onStep: (s) => steps.push(s) });
    return { impi, boot, steps };
  };
  /** Waits for a timeline event with this reason (the timeline is written beside the Ub answer). */
  const eventWith = (impi: string, reason: string) =>
    until(3000, `event "${reason}"`, async () => {
      const r = (await (await admin(`/events?impi=${encodeURIComponent(impi)}`)).json()) as {
        items: Array<{ outcome: string; reason: string }>;
      };
      return r.items.find((e) => e.reason === reason);
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the bootstrap to fail');
      },
      (e: unknown) => e as UbError,
    );

  it('PUT 201/200 with a raw "@" in {impi}, GET lists {impi, fault, count, delayMs?}, 400 for an unknown fault, 401 without the token, DELETE 204', async () => {
    const impi = `${newImsi()}@ims.mnc001.mcc001.3gppnetwork.org`;
    expect((await put(impi, { fault: 'bad_mac', count: 3 })).status).to.equal(201);
    expect((await put(impi, { fault: 'delay', delayMs: 100 })).status).to.equal(200);
    const list = (await (await admin('/scenarios')).json()) as { items: unknown[] };
    expect(list.items).to.deep.include({ impi, fault: 'delay', count: 1, delayMs: 100 });
    const bad = await put(impi, { fault: 'meltdown' });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { detail: string }).detail).to.contain('unknown fault');
    expect((await admin('/scenarios', {}, null)).status).to.equal(401);
    expect((await admin(`/scenarios/${impi}`, { method: 'DELETE' })).status).to.equal(204);
    expect(
      ((await (await admin('/scenarios')).json()) as { items: Array<{ impi: string }> }).items.map((i) => i.impi),
    ).to.not.include(impi);
  });

  it('bad_mac: the device reports a MAC failure (403) and its next bootstrap succeeds; the timeline says so', async () => {
    const d = await device();
    expect((await put(d.impi, { fault: 'bad_mac' })).status).to.equal(201);
    const e = await failure(d.boot());
    expect(e.reason).to.equal('mac_failure');
    expect(d.steps).to.include('usim.mac_failure');
    await eventWith(d.impi, SCENARIO_REASONS.badMacReported);
    expect((await d.boot()).btid).to.match(/@bsf\./);
  });

  it('stale_sqn: the device resynchronises (AUTS) and bootstraps in the same run; the follow-up challenge is not faulted', async () => {
    const d = await device();
    const first = await d.boot();
    expect((await put(d.impi, { fault: 'stale_sqn' })).status).to.equal(201);
    const b = await d.boot();
    expect(b.btid).to.not.equal(first.btid);
    expect(d.steps.filter((s) => s === 'usim.sync_failure')).to.have.length(1);
    await eventWith(d.impi, SCENARIO_REASONS.staleResynced);
  });

  it('bad_rspauth: the device rejects the B-TID; the next bootstrap is normal', async () => {
    const d = await device();
    expect((await put(d.impi, { fault: 'bad_rspauth' })).status).to.equal(201);
    const e = await failure(d.boot());
    expect(e.message).to.match(/rspauth does not verify/);
    await eventWith(d.impi, SCENARIO_REASONS.badRspauth);
    expect((await d.boot()).btid).to.match(/@bsf\./);
  });

  it('hss_unavailable with count 2: two bootstraps get 503 (Retry-After), the third succeeds — count counts initial requests', async () => {
    const d = await device();
    expect((await put(d.impi, { fault: 'hss_unavailable', count: 2 })).status).to.equal(201);
    for (let i = 0; i < 2; i++) {
      const e = await failure(d.boot());
      expect([e.reason, e.status, e.retryAfterSec]).to.deep.equal(['unavailable', 503, 5]);
    }
    const r = await fetch(net.endpoints.bsf.ub, {
      headers: { authorization: `Digest username="${d.impi}", realm="${REALM}", nonce="", uri="/", response=""` },
    });
    expect(r.status, 'the scenario is used up').to.equal(401);
    await eventWith(d.impi, SCENARIO_REASONS.hssUnavailable);
    expect((await d.boot()).btid).to.match(/@bsf\./);
  });

  it('delay: the bootstrap takes at least delayMs and succeeds', async () => {
    const d = await device();
    expect((await put(d.impi, { fault: 'delay', delayMs: 700 })).status).to.equal(201);
    const t0 = Date.now();
    await d.boot();
    expect(Date.now() - t0).to.be.at.least(700);
    await eventWith(d.impi, SCENARIO_REASONS.delay);
  });

  it('a scenario is kept in the store: a BSF killed and restarted by the supervisor still applies it', async () => {
    const d = await device();
    expect((await put(d.impi, { fault: 'hss_unavailable', count: 1 })).status).to.equal(201);
    const before = net.restarts().bsf ?? 0;
    net.children.get('bsf')!.kill('SIGKILL');
    await until(30_000, 'BSF restarted', async () => ((net.restarts().bsf ?? 0) > before ? true : undefined));
    await until(
      30_000,
      'BSF answering',
      async () =>
        (await fetch(`${net.endpoints.bsf.ub}healthz`).then(
          (r) => r.status === 200,
          () => false,
        )) || undefined,
    );
    const e = await failure(d.boot());
    expect(e.status).to.equal(503);
    expect((await d.boot()).btid).to.match(/@bsf\./);
  });
});

describe('device agent: a 200 OK without Authentication-Info (interop with BSFs that omit it)', function () {
  this.timeout(60_000);
  const imsi = '001010000054321';
  const bsf = new BrokenBsf(impiFromImsi(imsi, 2), hex(SET.k), hex(SET.opc));
  let ub = '';
  before(async () => {
    ub = (await bsf.start()).ub;
    bsf.defects = { noAuthInfo: true };
  });
  after(() => bsf.stop());

  it('is accepted with a warning; --require-rspauth refuses it; a wrong rspauth is refused either way', async () => {
    const args = ['device', 'bootstrap', '--bsf', ub, '--imsi', imsi, '--k', SET.k, '--opc', SET.opc];
    const lax = await runCli(args);
    expect(lax.code, lax.stderr).to.equal(0);
    expect(lax.stdout).to.match(/@bsf\.mnc001/);
    expect(lax.stderr).to.match(/without Authentication-Info/);
    const strict = await runCli([...args, '--require-rspauth']);
    expect(strict.code).to.equal(1);
    expect(strict.stderr).to.match(/without Authentication-Info rspauth/);
    bsf.defects = { wrongRspauth: true };
    const wrong = await runCli(args);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/rspauth does not verify/);
    bsf.defects = { noAuthInfo: true };
  });
});
