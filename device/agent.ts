/**
 * The device agent: zero-touch provisioning from the SIM alone.
 *
 *   Ub bootstrap → Ua provisioning (device/v1/config) → Ks_NAF for serverFqdn ‖ uaSecProtId
 *   → CoAP over DTLS-PSK, or TLS-PSK with serverFqdn as SNI → LwM2M Register → Updates before the lifetime ends
 *
 * It re-bootstraps by itself when the key expires or the server refuses it, and serves a minimal Device
 * object to the server's reads. With `once`, it registers, de-registers and returns.
 */
import { ksNaf } from '../shared/crypto/kdf.js';
import { bootstrap, UbError, type Bootstrap } from './ub-client.js';
import { fetchDeviceConfig, UaError, type DeviceConfig } from './ua-client.js';
import { connectCoapTls } from './tls-transport.js';
import { connectCoapDtls } from './dtls-transport.js';
import type { CoapChannel } from './coap-channel.js';
import { DeviceObjects } from './objects.js';
import { deregister, register, RegistrationError, update } from './lwm2m-client.js';
import type { SoftUsim } from './usim.js';
import { Code } from '../shared/coap/message.js';

export type StepFn = (step: string, detail?: Record<string, unknown>) => void;

export interface AgentOptions {
  imsi: string;
  impi: string;
  realm: string;
  usim: SoftUsim;
  bsfUrl: string;
  nafUaUrl: string;
  /** CoAP over DTLS (UDP, the default: what modems speak) or over TLS (TCP, RFC 8323). */
  transport?: 'tls' | 'dtls';
  lifetimeSec?: number;
  once?: boolean;
  onStep?: StepFn;
  signal?: AbortSignal;
}

export interface Registered { bootstrap: Bootstrap; config: DeviceConfig; location: string[]; channel: CoapChannel }

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) { resolve(); return; }
  const t = setTimeout(resolve, Math.max(0, ms));
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Time before the key lifetime ends at which the agent bootstraps again. */
const rebootstrapMargin = (lifetimeMs: number) => Math.min(30_000, Math.max(200, lifetimeMs / 10));

export async function connectAndRegister(o: AgentOptions, step: StepFn): Promise<Registered> {
  const b = await bootstrap({ bsfUrl: o.bsfUrl, impi: o.impi, realm: o.realm, usim: o.usim, onStep: step });
  const config = await fetchDeviceConfig(o.nafUaUrl, b, step);
  const transport = o.transport ?? 'dtls';
  const uri = new URL(transport === 'dtls' ? (config.serverUriDtls ?? '') : config.serverUri);
  if (!uri.hostname) throw new Error(`the NAF gave no ${transport === 'dtls' ? 'coaps://' : 'coaps+tcp://'} URI for the LwM2M server`);
  // The key is for serverFqdn ‖ uaSecProtId whatever host the URI names (contract C3).
  const psk = ksNaf({ ks: b.ks, rand: b.rand, impi: b.impi, nafFqdn: config.serverFqdn, uaSecProtId: Buffer.from(config.uaSecProtId, 'hex') });
  const port = Number(uri.port || 5684);
  // SNI only over TLS (device/tls-transport.ts): node-dtls-client sends no server_name extension.
  step('lwm2m.connect', {
    transport, server: `${uri.hostname}:${port}`, serverFqdn: config.serverFqdn,
    ...(transport === 'tls' ? { sni: config.serverFqdn } : {}), pskIdentity: config.pskIdentity, uaSecProtId: config.uaSecProtId,
  });
  const connectOpts = { host: uri.hostname.replace(/^\[|\]$/g, ''), port, serverFqdn: config.serverFqdn, pskIdentity: config.pskIdentity, psk, uaSecProtId: config.uaSecProtId };
  const channel: CoapChannel = transport === 'dtls' ? await connectCoapDtls(connectOpts) : await connectCoapTls(connectOpts);
  const lifetimeSec = o.lifetimeSec ?? 300;
  const objects = new DeviceObjects({
    manufacturer: 'gba-sim', model: 'software-USIM device agent', serial: `sim-${o.imsi.slice(-6)}`, firmware: '0.1.0',
    binding: channel.transport === 'tcp' ? 'T' : 'U', lifetimeSec: () => lifetimeSec,
  });
  channel.onRequest((req) => {
    const res = objects.handle(req);
    step('lwm2m.read', { path: `/${req.options.filter((x) => x.number === 11).map((x) => x.value.toString()).join('/')}`, code: res.code === Code.CONTENT ? '2.05' : res.code });
    return res;
  });
  try {
    const location = await register(channel, { endpoint: config.endpoint, lifetimeSec, binding: channel.transport === 'tcp' ? 'T' : 'U', objects });
    step('lwm2m.registered', { endpoint: config.endpoint, location: `/${location.join('/')}`, lifetime: lifetimeSec });
    return { bootstrap: b, config, location, channel };
  } catch (err) {
    await channel.close();
    throw err;
  }
}

/** Runs until the signal aborts (or, with `once`, until registered and de-registered). */
export async function runAgent(o: AgentOptions): Promise<void> {
  const step = o.onStep ?? (() => {});
  const lifetimeSec = o.lifetimeSec ?? 300;
  let failures = 0;
  while (!o.signal?.aborted) {
    let r: Registered;
    try {
      r = await connectAndRegister(o, step);
      failures = 0;
    } catch (err) {
      failures++;
      const fatal = err instanceof UbError && err.reason === 'mac_failure';
      step('error', { during: 'bootstrap/provisioning/registration', error: (err as Error).message });
      if (fatal || o.once) throw err;
      const backoff = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
      step('retry', { in: `${backoff} ms`, reason: err instanceof RegistrationError || err instanceof UaError ? 'refused: bootstrapping again' : 'failure' });
      await sleep(backoff, o.signal);
      continue;
    }
    if (o.once) {
      await deregister(r.channel, r.location);
      step('lwm2m.deregistered', { endpoint: r.config.endpoint });
      await r.channel.close();
      return;
    }
    await keepRegistered(o, r, lifetimeSec, step);
  }
}

/** Updates before the registration lifetime ends; returns when the key is about to expire, the server refuses, or the connection goes. */
async function keepRegistered(o: AgentOptions, r: Registered, lifetimeSec: number, step: StepFn): Promise<void> {
  const keyEndsMs = r.bootstrap.lifetimeMs - rebootstrapMargin(r.bootstrap.lifetimeMs - Date.now());
  let lost: string | undefined;
  const lostSignal = new AbortController();
  r.channel.onClose((why) => { lost = why; lostSignal.abort(); });
  const both = AbortSignal.any([lostSignal.signal, ...(o.signal ? [o.signal] : [])]);
  for (;;) {
    const nextUpdate = Date.now() + lifetimeSec * 1000 * 0.75;
    await sleep(Math.min(nextUpdate, keyEndsMs) - Date.now(), both);
    if (o.signal?.aborted) {
      await deregister(r.channel, r.location).catch(() => undefined);
      step('lwm2m.deregistered', { endpoint: r.config.endpoint });
      await r.channel.close();
      return;
    }
    if (lost) { step('lwm2m.connection_lost', { reason: lost }); return; }
    if (Date.now() >= keyEndsMs) {
      step('key.expiring', { btid: r.bootstrap.btid, expires: new Date(r.bootstrap.lifetimeMs).toISOString(), action: 'bootstrap again' });
      await deregister(r.channel, r.location).catch(() => undefined);
      await r.channel.close();
      return;
    }
    try {
      await update(r.channel, r.location);
      step('lwm2m.updated', { endpoint: r.config.endpoint });
    } catch (err) {
      step('lwm2m.update_failed', { error: (err as Error).message, action: 'bootstrap and register again' });
      await r.channel.close();
      return;
    }
  }
}
