/**
 * LwM2M device management end to end (real processes, real Redis): the device agent over TLS and over DTLS;
 * Write, Execute, Discover, Write-Attributes, Observe with notifications read from /api/events by a real HTTP
 * client, Cancel; hostile REST input; a restart of the LwM2M process followed by a DTLS Update.
 */
import { expect } from 'chai';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { givenNetwork, provision, newImsi } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { SoftUsim } from '../../device/usim.js';
import { bootstrap } from '../../device/ub-client.js';
import { fetchDeviceConfig } from '../../device/ua-client.js';
import { connectCoapDtls } from '../../device/dtls-transport.js';
import { register, update } from '../../device/lwm2m-client.js';
import { DeviceObjects } from '../../device/objects.js';
import { runAgent } from '../../device/agent.js';
import { ksNaf } from '../../shared/crypto/kdf.js';
import { impiFromImsi } from '../../shared/identifiers.js';
import { milenageSets, hex } from '../support/vectors.js';

const SET = milenageSets()[6]!;
const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const usim = () => new SoftUsim({ algorithm: 'milenage', k: hex(SET.k), opc: hex(SET.opc) });

/** admin.token of endpoints.json: the REST API's Bearer token (C5). */
let adminToken = '';
const auth = () => ({ authorization: `Bearer ${adminToken}` });

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads /api/events with node:http (a real HTTP client) and collects parsed events. */
function subscribe(url: string): Promise<{
  events: SseEvent[];
  res: IncomingMessage;
  close: () => void;
  waitFor: (p: (e: SseEvent) => boolean, n?: number) => Promise<SseEvent[]>;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...auth() } }, (res) => {
      const events: SseEvent[] = [];
      let buf = '';
      const waiters: Array<() => void> = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) as Record<string, unknown> });
        }
        for (const w of waiters.splice(0)) w();
      });
      const waitFor = (p: (e: SseEvent) => boolean, n = 1) =>
        new Promise<SseEvent[]>((ok, fail) => {
          const t = setTimeout(
            () => fail(new Error(`timed out waiting for ${n} events; have ${JSON.stringify(events)}`)),
            30_000,
          );
          const check = () => {
            const m = events.filter(p);
            if (m.length >= n) {
              clearTimeout(t);
              ok(m);
            } else waiters.push(check);
          };
          check();
        });
      resolve({ events, res, close: () => req.destroy(), waitFor });
    });
    req.on('error', reject);
    req.end();
  });
}

async function api(
  method: string,
  url: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': contentType, ...auth() },
        }
      : { headers: auth() }),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('LwM2M device management end to end (real processes, real Redis)', function () {
  this.timeout(180000);
  let net: RunningNetwork & { logs: () => string };
  before(async () => {
    net = await givenNetwork();
    adminToken = net.endpoints.admin!.token;
  });
  after(async () => {
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });
  const e = () => net.endpoints;
  const base = () => `${e().lwm2m!.api}api`;

  for (const transport of ['tls', 'dtls'] as const) {
    it(`over ${transport.toUpperCase()}: write, execute, discover, attributes, observe (SSE), cancel`, async () => {
      const imsi = newImsi();
      await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
      const steps: string[] = [];
      const ac = new AbortController();
      let registered!: (ep: string) => void;
      const first = new Promise<string>((r) => {
        registered = r;
      });
      const sse = await subscribe(`${base()}/events`);
      const agent = runAgent({
        imsi,
        impi: impiFromImsi(imsi, 2),
        realm: REALM,
        usim: usim(),
        bsfUrl: e().bsf.ub,
        nafUaUrl: e().naf!.ua,
        transport,
        signal: ac.signal,
        lifetimeSec: 60,
        onStep: (s, d) => {
          steps.push(s);
          if (s === 'lwm2m.registered') registered(String(d!.endpoint));
        },
      });
      try {
        const ep = encodeURIComponent(await first);
        const epName = decodeURIComponent(ep);
        await sse.waitFor((x) => x.event === 'registration' && x.data.endpoint === epName);

        // Write /1/0/1 → 2.04; the agent sends an Update with the new lifetime.
        const w = await api('PUT', `${base()}/clients/${ep}/1/0/1`, { value: 120 });
        expect(w, JSON.stringify(w)).to.deep.include({ status: 200, json: { status: '2.04' } });
        await sse.waitFor((x) => x.event === 'update' && x.data.endpoint === epName && x.data.lifetime === 120);
        expect((await api('GET', `${base()}/clients/${ep}`)).json.lifetime).to.equal(120);

        // Discover lists /3/0/13 and, after Write-Attributes, its pmin/pmax.
        const a = await api('PUT', `${base()}/clients/${ep}/3/0/13/attributes?pmin=1&pmax=2`);
        expect(a, JSON.stringify(a)).to.deep.include({ status: 200, json: { status: '2.04' } });
        const d = await api('GET', `${base()}/clients/${ep}/3/0/discover`);
        expect(d.status, JSON.stringify(d)).to.equal(200);
        const links = d.json.content as Array<{ url: string; attributes: Record<string, string> }>;
        expect(links.find((l) => l.url === '/3/0/13')?.attributes).to.include({ pmin: '1', pmax: '2' });

        // Observe /3/0/13: first value in the answer, then notifications as SSE events.
        const o = await api('POST', `${base()}/clients/${ep}/3/0/13/observe`);
        expect(o.status, JSON.stringify(o)).to.equal(200);
        expect(o.json.status).to.equal('2.05');
        expect(o.json.content).to.be.a('number');
        const notes = await sse.waitFor(
          (x) => x.event === 'notification' && x.data.endpoint === epName && x.data.path === '/3/0/13',
          3,
        );
        expect(notes[0]!.data).to.include({ status: '2.05' });
        expect(notes[2]!.data.value).to.be.a('number');
        // The temperature too.
        const t = await api('POST', `${base()}/clients/${ep}/3303/0/5700/observe`);
        expect(t.status, JSON.stringify(t)).to.equal(200);
        expect(t.json.content).to.be.a('number');

        const c = await api('DELETE', `${base()}/clients/${ep}/3/0/13/observe`);
        expect(c.status, JSON.stringify(c)).to.equal(200);
        expect((await api('DELETE', `${base()}/clients/${ep}/3/0/13/observe`)).status).to.equal(404);

        // Hostile input: never a 5xx.
        expect((await api('PUT', `${base()}/clients/nobody/1/0/1`, { value: 1 })).status).to.equal(404);
        expect((await api('PUT', `${base()}/clients/${ep}/1/x/1`, { value: 1 })).status).to.equal(400);
        expect((await api('PUT', `${base()}/clients/${ep}/1/0/1`, { value: 'sixty' })).status).to.equal(400);
        expect((await api('PUT', `${base()}/clients/${ep}/1/0/1`, '{nope')).status).to.equal(400);
        expect((await api('PUT', `${base()}/clients/${ep}/3/0/0`, { value: 'x' })).status).to.equal(400); // read-only in the model
        expect((await api('PUT', `${base()}/clients/${ep}/3/0/13/attributes?pmin=-1`)).status).to.equal(400);
        expect((await api('POST', `${base()}/clients/${ep}/99999/0/1/execute`)).status).to.equal(400);
        expect((await api('GET', `${base()}/events?ep=`)).status).to.equal(400);

        // Execute /3/0/4 (Reboot): 2.04, then the agent registers again.
        const before = sse.events.filter((x) => x.event === 'registration' && x.data.endpoint === epName).length;
        const x = await api('POST', `${base()}/clients/${ep}/3/0/4/execute`);
        expect(x, JSON.stringify(x)).to.deep.include({ status: 200, json: { status: '2.04' } });
        await sse.waitFor((y) => y.event === 'registration' && y.data.endpoint === epName, before + 1);
        expect(steps).to.include('lwm2m.reboot');
      } finally {
        sse.close();
        ac.abort();
        await agent;
      }
    });
  }

  it('a restarted LwM2M process (killed) accepts the Update of a DTLS client on a new association, as an update', async () => {
    const imsi = newImsi();
    await provision(e().hss.provisioning, e().hss.adminToken, imsi, { k: SET.k, opc: SET.opc });
    const b = await bootstrap({ bsfUrl: e().bsf.ub, impi: impiFromImsi(imsi, 2), realm: REALM, usim: usim() });
    const cfg = await fetchDeviceConfig(e().naf!.ua, b);
    const psk = ksNaf({
      ks: b.ks,
      rand: b.rand,
      impi: b.impi,
      nafFqdn: e().lwm2m!.fqdn,
      uaSecProtId: hex('010001c0a8'),
    });
    const port = Number(new URL(e().lwm2m!.uriDtls!).port);
    const opts = {
      host: '127.0.0.1',
      port,
      serverFqdn: cfg.serverFqdn,
      pskIdentity: cfg.pskIdentity,
      psk,
      uaSecProtId: '010001c0a8',
    };
    const objects = new DeviceObjects({
      manufacturer: 't',
      model: 'm',
      serial: 's',
      firmware: '1',
      binding: 'U',
      lifetimeSec: () => 60,
    });
    const ch = await connectCoapDtls(opts);
    const location = await register(ch, { endpoint: cfg.endpoint, lifetimeSec: 60, binding: 'U', objects });
    await ch.close();
    const regId = location[1];

    // The registration is written to the store just after the 2.01, not before it (lwm2m/persistence.ts: store
    // writes never hold up the CoAP answer), so give that write time to land before the crash this test makes.
    await new Promise((r) => setTimeout(r, 1000));
    // Kill the LwM2M process; `up`'s supervisor (bin/supervisor.ts) starts it again with the same configuration.
    // (A second process started here would race the supervised one for the port.)
    const old = net.children.get('lwm2m')!;
    await new Promise<void>((r) => {
      old.once('exit', () => r());
      old.kill('SIGKILL');
    });
    const t0 = Date.now();
    let list: Record<string, unknown> = {};
    while (list.registrationId === undefined) {
      if (Date.now() - t0 > 30_000) throw new Error('the restarted LwM2M server did not list the client within 30 s');
      await new Promise((r) => setTimeout(r, 200));
      list = await api('GET', `${base()}/clients/${encodeURIComponent(cfg.endpoint)}`).then(
        (r) => r.json,
        () => ({}),
      );
    }
    expect(list.registrationId).to.equal(regId);

    const sse = await subscribe(`${base()}/events?ep=${encodeURIComponent(cfg.endpoint)}`);
    try {
      const ch2 = await connectCoapDtls(opts);
      try {
        await update(ch2, location);
      } finally {
        await ch2.close();
      }
      const [ev] = await sse.waitFor((x) => x.event === 'update');
      expect(ev!.data).to.include({ endpoint: cfg.endpoint, registrationId: regId, transport: 'udp' });
      expect(sse.events.filter((x) => x.event === 'registration')).to.have.length(0);
    } finally {
      sse.close();
    }
  });
});
