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
import { normalizeFqdn } from '../shared/identifiers.js';
import { bootstrap, UbError, type Bootstrap } from './ub-client.js';
import {
  fetchDeviceConfig,
  fetchDeviceConfigPsk,
  UaError,
  type DeviceConfig,
  type UaClientOptions,
} from './ua-client.js';
import { connectCoapTls } from './tls-transport.js';
import { connectCoapDtls } from './dtls-transport.js';
import type { CoapChannel } from './coap-channel.js';
import { DeviceObjects } from './objects.js';
import { deregister, register, RegistrationError, update } from './lwm2m-client.js';
import type { Usim } from './usim.js';
import { Code, codeToString, getAccept, getOption, OptionNumber, type CoapMessage } from '../shared/coap/message.js';
import { ContentFormat } from '../shared/lwm2m/content-formats.js';

export type StepFn = (step: string, detail?: Record<string, unknown>) => void;

export interface AgentOptions {
  imsi: string;
  impi: string;
  realm: string;
  usim: Usim;
  bsfUrl: string;
  nafUaUrl: string;
  /** Ua over HTTPS (CA, NAF name: TS 33.222 §5.3) or over TLS-PSK (§5.4: nafUaUrl is then the PSK listener). */
  ua?: UaClientOptions & { psk?: { nafFqdn: string } };
  /** CoAP over DTLS (UDP, the default: what modems speak) or over TLS (TCP, RFC 8323). */
  transport?: 'tls' | 'dtls';
  lifetimeSec?: number;
  once?: boolean;
  onStep?: StepFn;
  signal?: AbortSignal;
  /** Refuse a Ub or Ua 200 OK without rspauth (default: accept it with a warning step). */
  requireRspauth?: boolean;
}

export interface Registered {
  bootstrap: Bootstrap;
  config: DeviceConfig;
  location: string[];
  channel: CoapChannel;
  /** The session's live state: lifetime (a server Write of /1/0/1 changes it) and what the server asked for. */
  session: Session;
  /** A new (D)TLS connection with the same key, serving the same objects: to retry an Update after a lost association. */
  reconnect: () => Promise<CoapChannel>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** Time before the key lifetime ends at which the agent bootstraps again. */
const rebootstrapMargin = (lifetimeMs: number) => Math.min(30_000, Math.max(200, lifetimeMs / 10));

/** What the server can change during a session, and how the agent hears of it. */
export interface Session {
  lifetimeSec: number;
  /** Set by a Write of /1/0/1 (send an Update with lt) or an Execute of /3/0/4 (register again). */
  pending?: 'lifetime' | 'reboot';
  wake: AbortController;
}

const pathOf = (req: CoapMessage): string =>
  `/${req.options
    .filter((x) => x.number === OptionNumber.URI_PATH)
    .map((x) => x.value.toString())
    .join('/')}`;

/** Names the server's request for the step log (Core 1.1 §5.4, §5.5). */
function operationOf(req: CoapMessage): string {
  if (req.code === Code.GET)
    return getAccept(req) === ContentFormat.LINK_FORMAT
      ? 'discover'
      : getOption(req, OptionNumber.OBSERVE) !== undefined
        ? 'observe'
        : 'read';
  if (req.code === Code.PUT) return req.payload.length ? 'write' : 'write-attributes';
  if (req.code === Code.POST) return 'execute';
  return req.code === Code.DELETE ? 'delete' : 'request';
}

export async function connectAndRegister(
  o: AgentOptions,
  step: StepFn,
  lifetimeSec = o.lifetimeSec ?? 300,
): Promise<Registered> {
  const b = await bootstrap({
    bsfUrl: o.bsfUrl,
    impi: o.impi,
    realm: o.realm,
    usim: o.usim,
    onStep: step,
    requireRspauth: o.requireRspauth,
  });
  const config = o.ua?.psk
    ? await fetchDeviceConfigPsk(o.nafUaUrl, b, { nafFqdn: o.ua.psk.nafFqdn }, step)
    : await fetchDeviceConfig(o.nafUaUrl, b, step, { ...o.ua, requireRspauth: o.requireRspauth });
  const transport = o.transport ?? 'dtls';
  const uri = new URL(transport === 'dtls' ? (config.serverUriDtls ?? '') : config.serverUri);
  if (!uri.hostname)
    throw new Error(`the NAF gave no ${transport === 'dtls' ? 'coaps://' : 'coaps+tcp://'} URI for the LwM2M server`);
  // The key is for serverFqdn ‖ uaSecProtId whatever host the URI names (contract C3).
  const psk = ksNaf({
    ks: b.ks,
    rand: b.rand,
    impi: b.impi,
    nafFqdn: normalizeFqdn(config.serverFqdn),
    uaSecProtId: Buffer.from(config.uaSecProtId, 'hex'),
  });
  const port = Number(uri.port || 5684);
  // SNI only over TLS (device/tls-transport.ts): node-dtls-client sends no server_name extension.
  step('lwm2m.connect', {
    transport,
    server: `${uri.hostname}:${port}`,
    serverFqdn: config.serverFqdn,
    ...(transport === 'tls' ? { sni: config.serverFqdn } : {}),
    pskIdentity: config.pskIdentity,
    uaSecProtId: config.uaSecProtId,
  });
  const connectOpts = {
    host: uri.hostname.replace(/^\[|\]$/g, ''),
    port,
    serverFqdn: config.serverFqdn,
    pskIdentity: config.pskIdentity,
    psk,
    uaSecProtId: config.uaSecProtId,
  };
  const session: Session = { lifetimeSec, wake: new AbortController() };
  const poke = (why: 'lifetime' | 'reboot') => {
    session.pending = why;
    session.wake.abort();
  };
  const binding = transport === 'dtls' ? 'U' : 'T';
  const objects = new DeviceObjects({
    manufacturer: 'gba-sim',
    model: 'software-USIM device agent',
    serial: `sim-${o.imsi.slice(-6)}`,
    firmware: '0.1.0',
    binding,
    lifetimeSec: () => session.lifetimeSec,
    onLifetime: (sec) => {
      session.lifetimeSec = sec;
      step('lwm2m.lifetime_written', { lifetime: sec });
      poke('lifetime');
    },
    onReboot: () => {
      step('lwm2m.reboot', { action: 'register again' });
      poke('reboot');
    },
  });
  const open = async (): Promise<CoapChannel> => {
    const ch: CoapChannel =
      transport === 'dtls' ? await connectCoapDtls(connectOpts) : await connectCoapTls(connectOpts);
    ch.onRequest((req) => {
      const res = objects.handle(req);
      step(`lwm2m.${operationOf(req)}`, {
        path: pathOf(req),
        code: res.code === Code.CONTENT ? '2.05' : codeToString(res.code),
      });
      return res;
    });
    objects.setNotifier(async (token, res) => {
      const ok = await ch.notify(token, res);
      step('lwm2m.notify', { code: codeToString(res.code), delivered: ok });
      return ok;
    });
    return ch;
  };
  const channel = await open();
  try {
    const location = await register(channel, { endpoint: config.endpoint, lifetimeSec, binding, objects });
    step('lwm2m.registered', { endpoint: config.endpoint, location: `/${location.join('/')}`, lifetime: lifetimeSec });
    return { bootstrap: b, config, location, channel, session, reconnect: open };
  } catch (err) {
    objects.setNotifier(undefined);
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
      r = await connectAndRegister(o, step, lifetimeSec);
      failures = 0;
    } catch (err) {
      failures++;
      const fatal = err instanceof UbError && err.reason === 'mac_failure';
      step('error', { during: 'bootstrap/provisioning/registration', error: (err as Error).message });
      if (fatal || o.once) throw err;
      // A BSF's Retry-After (503, RFC 9110 §10.2.3) is a floor for the back-off, within reason.
      const retryAfterMs =
        err instanceof UbError && err.retryAfterSec !== undefined ? Math.min(300_000, err.retryAfterSec * 1000) : 0;
      const backoff = Math.max(retryAfterMs, Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      step('retry', {
        in: `${backoff} ms`,
        reason: retryAfterMs
          ? 'BSF unavailable: as its Retry-After says'
          : err instanceof RegistrationError || err instanceof UaError
            ? 'refused: bootstrapping again'
            : 'failure',
      });
      await sleep(backoff, o.signal);
      continue;
    }
    if (o.once) {
      await deregister(r.channel, r.location);
      step('lwm2m.deregistered', { endpoint: r.config.endpoint });
      await r.channel.close();
      return;
    }
    await keepRegistered(o, r, step);
  }
}

/**
 * Updates before the registration lifetime ends, and when the server wrote a new lifetime; returns when the key
 * is about to expire, the server refuses, the connection goes for good, or the server executed Reboot. A failed
 * Update over DTLS is retried once on a new association with the same key (the server keeps registrations in its
 * store across restarts) before the agent registers again.
 */
async function keepRegistered(o: AgentOptions, r: Registered, step: StepFn): Promise<void> {
  const keyEndsMs = r.bootstrap.lifetimeMs - rebootstrapMargin(r.bootstrap.lifetimeMs - Date.now());
  let lost: string | undefined;
  const lostSignal = new AbortController();
  const watch = (ch: CoapChannel) =>
    ch.onClose((why) => {
      lost = why;
      lostSignal.abort();
    });
  watch(r.channel);
  for (;;) {
    const s = r.session;
    if (s.wake.signal.aborted && !s.pending) s.wake = new AbortController();
    const both = AbortSignal.any([lostSignal.signal, s.wake.signal, ...(o.signal ? [o.signal] : [])]);
    const nextUpdate = Date.now() + s.lifetimeSec * 1000 * 0.75;
    if (!s.pending) await sleep(Math.min(nextUpdate, keyEndsMs) - Date.now(), both);
    if (o.signal?.aborted) {
      await deregister(r.channel, r.location).catch(() => undefined);
      step('lwm2m.deregistered', { endpoint: r.config.endpoint });
      await r.channel.close();
      return;
    }
    const pending = s.pending;
    s.pending = undefined;
    s.wake = new AbortController();
    if (pending === 'reboot') {
      await new Promise((res) => setTimeout(res, 100)); // let the 2.04 to the Execute leave first
      await deregister(r.channel, r.location).catch(() => undefined);
      step('lwm2m.deregistered', { endpoint: r.config.endpoint, reason: 'reboot' });
      await r.channel.close();
      return;
    }
    if (Date.now() >= keyEndsMs) {
      step('key.expiring', {
        btid: r.bootstrap.btid,
        expires: new Date(r.bootstrap.lifetimeMs).toISOString(),
        action: 'bootstrap again',
      });
      await deregister(r.channel, r.location).catch(() => undefined);
      await r.channel.close();
      return;
    }
    const params = pending === 'lifetime' ? { lifetimeSec: s.lifetimeSec } : {};
    try {
      if (lost) throw new Error(`connection lost: ${lost}`);
      await update(r.channel, r.location, params);
      step('lwm2m.updated', {
        endpoint: r.config.endpoint,
        ...(pending === 'lifetime' ? { lifetime: s.lifetimeSec } : {}),
      });
      continue;
    } catch (err) {
      if (err instanceof RegistrationError) {
        step('lwm2m.update_failed', { error: err.message, action: 'bootstrap and register again' });
        await r.channel.close();
        return;
      }
      step('lwm2m.connection_lost', { reason: lost ?? (err as Error).message, action: 'new handshake, then Update' });
    }
    // The association (or connection) is gone: a new handshake with the same key, then the same Update.
    await r.channel.close().catch(() => undefined);
    try {
      r.channel = await r.reconnect();
      lost = undefined;
      watch(r.channel);
      await update(r.channel, r.location, params);
      step('lwm2m.updated', { endpoint: r.config.endpoint, after: 'reconnect' });
    } catch (err) {
      step('lwm2m.update_failed', { error: (err as Error).message, action: 'bootstrap and register again' });
      await r.channel.close().catch(() => undefined);
      return;
    }
  }
}
