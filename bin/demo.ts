/**
 * The demo `npm start` runs after `gba-sim up`: provision a demo subscriber, run a device agent with only its
 * SIM credentials through bootstrap → provisioning → LwM2M registration, printing each step, then let the
 * LwM2M server read the device's /3/0. The device stays registered until the network stops.
 */
import { runAgent } from '../device/agent.js';
import { SoftUsim } from '../device/usim.js';
import { impiFromImsi, bsfDomain } from '../shared/identifiers.js';
import type { RunningNetwork } from './network.js';

// 3GPP TS 35.208 test set 1 (K, OPc) on a lab IMSI in the default home network 001/01.
const DEMO = { imsi: '001010123456789', k: '465b5ce8b199b49faa5f0a2ee238a6bc', opc: 'cd63cb71954a9f4e48a5994e37a02baf' };

const STEP_TEXT: Record<string, (d: Record<string, unknown>) => string> = {
  'ub.request': (d) => `Ub    → BSF ${d.bsf}: GET / with Authorization: Digest username="${d.impi}"`,
  'ub.challenge': (d) => `Ub    ← 401 challenge (${d.algorithm}, qop ${d.qop}); the USIM checks AUTN and computes RES, CK, IK`,
  'usim.sync_failure': (d) => `USIM  sequence number out of range: answering with AUTS (SQN_MS ${d.sqnMs})`,
  'ub.bootstrapped': (d) => `Ub    ← 200 bootstrapped: B-TID ${d.btid}, key lifetime until ${d.lifetime}`,
  'ua.request': (d) => `Ua    → NAF ${d.url}`,
  'ua.challenge': (d) => `Ua    ← 401 GBA Digest challenge (${d.realm}); password = base64(Ks_NAF) for ${d.nafId}`,
  'ua.provisioned': (d) => `Ua    ← 200 LwM2M endpoint ${d.endpoint}, server ${d.server}, PSK identity ${d.pskIdentity}`,
  'lwm2m.connect': (d) => `LwM2M → CoAP over ${String(d.transport).toUpperCase()}-PSK to ${d.server} (SNI ${d.sni}), PSK = Ks_NAF for ${d.sni} ‖ ${d.uaSecProtId}`,
  'lwm2m.registered': (d) => `LwM2M ← 2.01 Created ${d.location}: registered as ${d.endpoint} (lifetime ${d.lifetime} s)`,
  'lwm2m.read': (d) => `LwM2M ← the server reads ${d.path} → ${d.code}`,
  'lwm2m.updated': (d) => `LwM2M → Update → 2.04 (${d.endpoint})`,
};

export async function runDemo(net: RunningNetwork, say: (s: string) => void): Promise<void> {
  const e = net.endpoints;
  say('\nDemo: a device with nothing but its SIM credentials');
  const put = await fetch(`${e.hss.provisioning}/subscribers/${DEMO.imsi}`, {
    method: 'PUT', headers: { authorization: `Bearer ${e.hss.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ k: DEMO.k, opc: DEMO.opc }),
  });
  if (put.status !== 200 && put.status !== 201) throw new Error(`provisioning the demo subscriber: ${put.status} ${await put.text()}`);
  say(`HSS   subscriber IMSI ${DEMO.imsi} provisioned (K and OPc of TS 35.208 test set 1, Milenage)`);
  let registered!: () => void;
  const whenRegistered = new Promise<void>((r) => { registered = r; });
  let endpoint = '';
  void runAgent({
    imsi: DEMO.imsi, impi: impiFromImsi(DEMO.imsi, 2), realm: bsfDomain({ mcc: '001', mnc: '01' }),
    usim: new SoftUsim({ algorithm: 'milenage', k: Buffer.from(DEMO.k, 'hex'), opc: Buffer.from(DEMO.opc, 'hex') }),
    bsfUrl: e.bsf.ub, nafUaUrl: e.naf!.ua, transport: e.lwm2m?.uriDtls ? 'dtls' : 'tls', lifetimeSec: 60,
    onStep: (step, d = {}) => {
      const text = STEP_TEXT[step]?.(d) ?? `${step} ${JSON.stringify(d)}`;
      say(`  ${text}`);
      if (step === 'lwm2m.registered') { endpoint = String(d.endpoint); registered(); }
    },
  }).catch((err: Error) => say(`device agent stopped: ${err.message}`));
  await Promise.race([whenRegistered, new Promise((_, rej) => setTimeout(() => rej(new Error('the device did not register within 30 s')), 30_000))]);
  if (e.lwm2m?.api) {
    const url = `${e.lwm2m.api}api/clients/${encodeURIComponent(endpoint)}/3/0`;
    const r = await fetch(url);
    const body = await r.text();
    say(`REST  GET ${url} → ${r.status}`);
    say(`      ${body.length > 400 ? `${body.slice(0, 400)}…` : body}`);
  }
  say('\nTry it yourself:');
  say(`  curl ${e.lwm2m?.api ?? 'http://127.0.0.1:8085/'}api/clients`);
  say(`  node dist/bin/gba-sim.js device run --endpoints ${net.endpointsFile} --imsi ${DEMO.imsi} --k ${DEMO.k} --opc ${DEMO.opc} --once`);
  say(`  node dist/bin/gba-sim.js crypto milenage --k ${DEMO.k} --opc ${DEMO.opc} --rand 23553cbe9637a89d218ae64dae47bf35 --sqn ff9bb4d0b607 --amf b9b9`);
}
