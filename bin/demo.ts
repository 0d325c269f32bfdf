/**
 * The demo `npm start` runs after `gba-sim up`: provision a demo subscriber, run a device agent with only its
 * SIM credentials through bootstrap → provisioning → LwM2M registration, printing each step, then let the
 * LwM2M server read the device's /3/0, write its lifetime, execute Reboot and observe /3/0/13 (three
 * notifications from the event stream). The device stays registered until the network stops; it is stopped
 * first, without a word, when `gba-sim up` stops. A second subscriber is provisioned for "try it yourself",
 * so trying does not de-register the demo device.
 */
import { randomBytes } from 'node:crypto';
import { runAgent } from '../device/agent.js';
import { SoftUsim } from '../device/usim.js';
import { impiFromImsi, bsfDomain } from '../shared/identifiers.js';
import type { RunningNetwork } from './network.js';

// 3GPP TS 35.208 test set 1 (K, OPc) on a lab IMSI in the default home network 001/01.
const DEMO = {
  imsi: '001010123456789',
  k: '465b5ce8b199b49faa5f0a2ee238a6bc',
  opc: 'cd63cb71954a9f4e48a5994e37a02baf',
};

const STEP_TEXT: Record<string, (d: Record<string, unknown>) => string> = {
  'ub.request': (d) => `Ub    → BSF ${d.bsf}: GET / with Authorization: Digest username="${d.impi}"`,
  'ub.challenge': (d) =>
    `Ub    ← 401 challenge (${d.algorithm}, qop ${d.qop}); the USIM checks AUTN and computes RES, CK, IK`,
  'usim.sync_failure': (d) => `USIM  sequence number out of range: answering with AUTS (SQN_MS ${d.sqnMs})`,
  'ub.bootstrapped': (d) => `Ub    ← 200 bootstrapped: B-TID ${d.btid}, key lifetime until ${d.lifetime}`,
  'ua.request': (d) => `Ua    → NAF ${d.url}`,
  'ua.challenge': (d) => `Ua    ← 401 GBA Digest challenge (${d.realm}); password = base64(Ks_NAF) for ${d.nafId}`,
  'ua.provisioned': (d) =>
    `Ua    ← 200 LwM2M endpoint ${d.endpoint}, server ${d.server}, PSK identity ${d.pskIdentity}`,
  // SNI only over TLS: the DTLS client (node-dtls-client) sends no server_name extension.
  'lwm2m.connect': (d) =>
    `LwM2M → CoAP over ${String(d.transport).toUpperCase()}-PSK to ${d.server}${d.sni ? ` (SNI ${d.sni})` : ''}, PSK = Ks_NAF for ${d.serverFqdn} ‖ ${d.uaSecProtId}`,
  'lwm2m.registered': (d) =>
    `LwM2M ← 2.01 Created ${d.location}: registered as ${d.endpoint} (lifetime ${d.lifetime} s)`,
  'lwm2m.read': (d) => `LwM2M ← the server reads ${d.path} → ${d.code}`,
  'lwm2m.updated': (d) => `LwM2M → Update → 2.04 (${d.endpoint})${d.lifetime ? `, lifetime now ${d.lifetime} s` : ''}`,
  'lwm2m.write': (d) => `LwM2M ← the server writes ${d.path} → ${d.code}`,
  'lwm2m.execute': (d) => `LwM2M ← the server executes ${d.path} → ${d.code}`,
  'lwm2m.observe': (d) => `LwM2M ← the server observes ${d.path} → ${d.code}`,
  'lwm2m.write-attributes': (d) => `LwM2M ← the server sets attributes on ${d.path} → ${d.code}`,
};

/** The subscriber "try it yourself" suggests: its own IMSI, so trying it leaves the demo device registered. */
const TRY_IMSI = '001010123456790';

async function provision(e: RunningNetwork['endpoints'], imsi: string, k: string, opc: string): Promise<void> {
  const put = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${e.hss.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ k, opc }),
  });
  if (put.status !== 200 && put.status !== 201)
    throw new Error(`provisioning subscriber ${imsi}: ${put.status} ${await put.text()}`);
}

/**
 * Runs the demo; resolves once it has shown everything. `signal` stops the demo device (it de-registers);
 * from then on the demo prints nothing. The returned `stopped` settles when the device has stopped.
 */
export async function runDemo(
  net: RunningNetwork,
  say: (s: string) => void,
  signal?: AbortSignal,
): Promise<{ stopped: Promise<void> }> {
  const e = net.endpoints;
  const quiet = () => signal?.aborted === true;
  say('\nDemo: a device with nothing but its SIM credentials');
  await provision(e, DEMO.imsi, DEMO.k, DEMO.opc);
  say(`HSS   subscriber IMSI ${DEMO.imsi} provisioned (K and OPc of TS 35.208 test set 1, Milenage)`);
  let registered!: () => void;
  const whenRegistered = new Promise<void>((r) => {
    registered = r;
  });
  let registrations = 0;
  let reRegistered!: () => void;
  const whenReRegistered = new Promise<void>((r) => {
    reRegistered = r;
  });
  let endpoint = '';
  const stopped = runAgent({
    imsi: DEMO.imsi,
    impi: impiFromImsi(DEMO.imsi, 2),
    realm: bsfDomain({ mcc: '001', mnc: '01' }),
    usim: new SoftUsim({ algorithm: 'milenage', k: Buffer.from(DEMO.k, 'hex'), opc: Buffer.from(DEMO.opc, 'hex') }),
    bsfUrl: e.bsf.ub,
    nafUaUrl: e.naf!.ua,
    transport: e.lwm2m?.uriDtls ? 'dtls' : 'tls',
    lifetimeSec: 60,
    signal,
    onStep: (step, d = {}) => {
      if (quiet()) return;
      const text = STEP_TEXT[step]?.(d) ?? `${step} ${JSON.stringify(d)}`;
      say(`  ${text}`);
      if (step === 'lwm2m.registered') {
        endpoint = String(d.endpoint);
        if (++registrations === 1) registered();
        else reRegistered();
      }
    },
  }).catch((err: Error) => {
    if (!quiet()) say(`device agent stopped: ${err.message}`);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      whenRegistered,
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error('the device did not register within 30 s')), 30_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  if (e.lwm2m?.api) {
    const url = `${e.lwm2m.api}api/clients/${encodeURIComponent(endpoint)}/3/0`;
    const r = await fetch(url, { headers: { authorization: `Bearer ${e.admin?.token ?? ''}` } });
    const body = await r.text();
    say(`REST  GET ${url} → ${r.status}`);
    say(`      ${body.length > 400 ? `${body.slice(0, 400)}…` : body}`);
    await manageDevice(`${e.lwm2m.api}api`, e.admin?.token ?? '', endpoint, say, whenReRegistered);
  }
  // A subscriber of its own for the suggestion: running the demo IMSI again would de-register the demo device.
  const tryK = randomBytes(16).toString('hex'),
    tryOpc = randomBytes(16).toString('hex');
  await provision(e, TRY_IMSI, tryK, tryOpc);
  say(`HSS   subscriber IMSI ${TRY_IMSI} provisioned for you (K and OPc random, Milenage)`);
  say('\nTry it yourself:');
  // The token stays in endpoints.json (0600); the commands read it from there rather than printing it.
  const bearer = `-H "Authorization: Bearer $(node -p 'require(process.argv[1]).admin.token' ${net.endpointsFile})"`;
  say(`  curl ${bearer} ${e.lwm2m?.api ?? 'http://127.0.0.1:8085/'}api/clients`);
  say(`  curl -N ${bearer} ${e.lwm2m?.api ?? 'http://127.0.0.1:8085/'}api/events`);
  say(
    `  node dist/bin/gba-sim.js device run --endpoints ${net.endpointsFile} --imsi ${TRY_IMSI} --k ${tryK} --opc ${tryOpc} --once`,
  );
  say(
    `  node dist/bin/gba-sim.js crypto milenage --k ${DEMO.k} --opc ${DEMO.opc} --rand 23553cbe9637a89d218ae64dae47bf35 --sqn ff9bb4d0b607 --amf b9b9`,
  );
  return { stopped };
}

const timeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} within ${ms / 1000} s`)), ms))]);

/** Device management over REST (issue 14): a Write, an Execute and three notifications of an observed resource. */
async function manageDevice(
  api: string,
  adminToken: string,
  endpoint: string,
  say: (s: string) => void,
  whenReRegistered: Promise<void>,
): Promise<void> {
  const client = `${api}/clients/${encodeURIComponent(endpoint)}`;
  // C5: the REST API takes the admin token of endpoints.json.
  const auth = { authorization: `Bearer ${adminToken}` };
  const call = async (method: string, url: string, body?: unknown): Promise<string> => {
    const r = await fetch(url, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    say(
      `REST  ${method} ${url}${body !== undefined ? ` ${JSON.stringify(body)}` : ''} → ${r.status} ${text.slice(0, 200)}`,
    );
    return text;
  };
  await call('PUT', `${client}/1/0/1`, { value: 90 });
  await call('POST', `${client}/3/0/4/execute`);
  await timeout(whenReRegistered, 30_000, 'the device did not register again');
  // Events as Server-Sent Events: three notifications of /3/0/13 after the Observe.
  const ac = new AbortController();
  const events = await fetch(`${api}/events?ep=${encodeURIComponent(endpoint)}`, { signal: ac.signal, headers: auth });
  await call('PUT', `${client}/3/0/13/attributes?pmin=1&pmax=5`);
  await call('POST', `${client}/3/0/13/observe`);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let seen = 0;
  try {
    await timeout(
      (async () => {
        while (seen < 3) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0 && seen < 3) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (/^event: notification$/m.test(frame)) {
              say(`SSE   notification ${/^data: (.*)$/m.exec(frame)?.[1] ?? ''}`);
              seen++;
            }
          }
        }
      })(),
      30_000,
      'three notifications did not arrive',
    );
  } finally {
    ac.abort();
  }
  await call('DELETE', `${client}/3/0/13/observe`);
}
