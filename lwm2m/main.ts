/**
 * The LwM2M server process: CoAP over TLS-PSK (RFC 8323) on lwm2m.port with keys from the NAF's PSK API, the
 * Registration interface, and the REST API on lwm2m.apiPort. The registration logic is transport-agnostic
 * (Lwm2mPeer): CoAP over DTLS-PSK (RFC 7252 over RFC 6347) sits beside the TLS listener on the same port number, UDP.
 */
import { withServers } from '../shared/http/openapi.js';
import { readAsset } from '../shared/assets.js';
import { ConfigError, type ResolvedConfig } from '../shared/config.js';
import { startHttpServer, type RunningServer } from '../shared/http/server.js';
import type { Logger } from '../shared/log.js';
import { nfContext, runUntilSignalled } from '../shared/nf/runtime.js';
import type { PskTlsServerOptions } from '../shared/psk-tls/tls/psk-tls-server.js';
import { createLwm2mMetrics } from './metrics.js';
import { PskSource } from './psk-source.js';
import { ClientReader, type ReadResult } from './reads.js';
import { RegistrationHandler } from './registration-handler.js';
import { ClientRegistry } from './registry.js';
import { clientView, createRestRouter, type ClientView } from './rest-api.js';
import { startCoapTlsListener, TLS_SUITE_BY_UA_ID, tlsSuiteForUaId } from './tcp-transport.js';
import { startCoapDtlsListener, type CoapDtlsListener } from './udp-transport.js';

export interface Lwm2mStartOptions {
  /** Default: the NF's JSON logger at config.log.level. */
  log?: Logger;
  /** Wall clock for lifetimes and key expiry (tests pass a fake one). */
  now?: () => number;
  /** How long a read waits for the device (default 10000 ms). */
  readTimeoutMs?: number;
  /** How often expired registrations are swept (default 1000 ms). */
  sweepIntervalMs?: number;
  newRegistrationId?: () => string;
  /** TLS listener limits (handshake timeout, connection cap, lookup timeout). */
  tlsLimits?: PskTlsServerOptions['limits'];
  /** How long the TLS listener reuses a PSK API answer (default 10000 ms; 0 = ask every handshake). */
  pskCacheTtlMs?: number;
}

export interface RunningLwm2m {
  tls: { port: number; uri: string };
  /** CoAP over DTLS on UDP, same port number as TLS (when lwm2m.dtls). */
  dtls?: { port: number; uri: string };
  api: RunningServer;
  /** Registered clients as GET /api/clients shows them. */
  clients(): ClientView[];
  client(endpoint: string): ClientView | undefined;
  /** Reads /o/i[/r[/ri]] from a registered client (see reads.ts for the errors). */
  read(endpoint: string, path: string | readonly number[], accept?: number): Promise<ReadResult>;
  /** Runs the expiry sweep now (it also runs every sweepIntervalMs). */
  sweep(): void;
  close(): Promise<void>;
}

/** Configuration problems of the LwM2M section, all at once. */
export function checkLwm2mConfig(config: ResolvedConfig): string[] {
  const c = config.lwm2m;
  const problems: string[] = [];
  if (!c.pskLookupUrl) problems.push('lwm2m.pskLookupUrl: required (the NAF PSK API, e.g. http://127.0.0.1:8084/naf/v1/psk-lookup)');
  if (!c.pskApiToken) problems.push('lwm2m.pskApiToken: required (the token the NAF accepts on its PSK API, naf.pskApiToken)');
  if (!tlsSuiteForUaId(c.uaSecProtId)) {
    const known = Object.entries(TLS_SUITE_BY_UA_ID).map(([id, suite]) => `${id} (${suite})`).join(' or ');
    problems.push(`lwm2m.uaSecProtId: ${c.uaSecProtId} names no TLS PSK suite this listener serves; use ${known}`);
  }
  return problems;
}

export async function startLwm2m(config: ResolvedConfig, opts: Lwm2mStartOptions = {}): Promise<RunningLwm2m> {
  const problems = checkLwm2mConfig(config);
  if (problems.length) throw new ConfigError(problems);
  const ctx = nfContext('lwm2m', config);
  const log = opts.log ?? ctx.log;
  const c = config.lwm2m;
  const now = opts.now ?? Date.now;

  const registry = new ClientRegistry();
  const metrics = createLwm2mMetrics(ctx.registry, () => registry.size);
  const pskSource = new PskSource(c.pskLookupUrl!, { token: c.pskApiToken!, now, log: log.child({ iface: 'psk' }), lookups: metrics.pskLookups });
  const handler = new RegistrationHandler({
    registry, now, log: log.child({ iface: 'rd' }), metrics,
    ...(opts.newRegistrationId ? { newRegistrationId: opts.newRegistrationId } : {}),
  });
  const reader = new ClientReader({ registry, log: log.child({ iface: 'read' }), metrics });
  const openapi = readAsset('lwm2m/openapi.yaml');

  const tls = await startCoapTlsListener({
    host: c.host, port: c.port, uaSecProtId: c.uaSecProtId, tls13: c.tls13, pskSource, handler, now,
    log: log.child({ iface: 'coap-tls' }), metrics, requestTimeoutMs: opts.readTimeoutMs ?? 10_000,
    ...(opts.tlsLimits ? { limits: opts.tlsLimits } : {}),
    ...(opts.pskCacheTtlMs !== undefined ? { pskCacheTtlMs: opts.pskCacheTtlMs } : {}),
  });
  let dtls: CoapDtlsListener | undefined;
  let api: RunningServer;
  try {
    if (c.dtls) {
      dtls = await startCoapDtlsListener({
        host: c.host, port: tls.port, gcm: c.dtlsGcm, connectionId: c.dtlsConnectionId, pskSource, handler, now,
        log: log.child({ iface: 'coap-dtls' }), metrics, requestTimeoutMs: opts.readTimeoutMs ?? 10_000,
      });
    }
    api = await startHttpServer({
      name: 'api', router: createRestRouter({ registry, read: (ep, path, accept) => reader.read(ep, path, accept), openapi: () => withServers(openapi, [{ url: api.url }]) }),
      log, registry: ctx.registry, host: c.host, port: c.apiPort,
    });
  } catch (err) {
    await tls.close();
    await dtls?.close();
    await pskSource.close();
    throw err;
  }

  const sweep = (): void => {
    handler.sweep();
    pskSource.prune();
  };
  const timer = setInterval(sweep, opts.sweepIntervalMs ?? 1000);
  timer.unref();

  return {
    tls: { port: tls.port, uri: tls.uri },
    ...(dtls ? { dtls: { port: dtls.port, uri: dtls.uri } } : {}),
    api,
    clients: () => registry.list().map(clientView),
    client: (endpoint) => {
      const r = registry.byEndpoint(endpoint);
      return r ? clientView(r) : undefined;
    },
    read: (endpoint, path, accept) => reader.read(endpoint, path, accept),
    sweep,
    close: async () => {
      clearInterval(timer);
      await tls.close();
      await dtls?.close();
      await api.close();
      await pskSource.close();
      registry.clear();
    },
  };
}

export async function runLwm2m(config: ResolvedConfig): Promise<void> {
  const { log } = nfContext('lwm2m', config);
  const lwm2m = await startLwm2m(config, { log });
  runUntilSignalled(log, { coapTls: lwm2m.tls.uri, ...(lwm2m.dtls ? { coapDtls: lwm2m.dtls.uri } : {}), api: `${lwm2m.api.url}/` }, lwm2m.close);
}
