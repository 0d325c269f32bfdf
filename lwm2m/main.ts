/**
 * The LwM2M server process: CoAP over TLS-PSK (RFC 8323) on lwm2m.port with keys from the NAF's PSK API, the
 * Registration interface, and the REST API on lwm2m.apiHost:lwm2m.apiPort behind the admin Bearer token (C5). The registration logic is transport-agnostic
 * (Lwm2mPeer): CoAP over DTLS-PSK (RFC 7252 over RFC 6347) sits beside the TLS listener on the same port number, UDP.
 */
import { withServers } from '../shared/http/openapi.js';
import { readAsset } from '../shared/assets.js';
import { ConfigError, type ResolvedConfig } from '../shared/config.js';
import { startHttpServer, type RunningServer } from '../shared/http/server.js';
import type { Logger } from '../shared/log.js';
import { newToken, nfContext, runUntilSignalled, tokenFromConfigOrState } from '../shared/nf/runtime.js';
import type { PskTlsServerOptions } from '../shared/psk-tls/tls/psk-tls-server.js';
import { createLwm2mMetrics } from './metrics.js';
import { PskSource } from './psk-source.js';
import { ClientReader, type ReadResult } from './reads.js';
import { RegistrationHandler } from './registration-handler.js';
import { ClientRegistry, type Registration } from './registry.js';
import { clientView, createRestRouter, type ClientView } from './rest-api.js';
import { EventHub } from './events.js';
import { RegistrationPersistence } from './persistence.js';
import { DeviceManager } from './operations.js';
import { openStores } from '../shared/store/open.js';
import { watchRevocations } from '../shared/store/revocations.js';
import type { Stores } from '../shared/store/types.js';
import { dropRevoked } from './revocation.js';
import { startCoapTlsListener, TLS_SUITE_BY_UA_ID, tlsSuiteForUaId } from './coap-tls-listener.js';
import { startCoapDtlsListener, type CoapDtlsListener } from './coap-dtls-listener.js';

export interface Lwm2mStartOptions {
  /** Default: the NF's JSON logger at config.log.level. */
  log?: Logger;
  /**
   * The REST API's Bearer token; default config.admin.token. With neither, a random one nobody is told: the API
   * stays closed (`gba-sim lwm2m` keeps one in the state directory instead).
   */
  adminToken?: string;
  /** Wall clock for lifetimes and key expiry (tests pass a fake one). */
  now?: () => number;
  /** How long a read waits for the device (default 10000 ms). */
  readTimeoutMs?: number;
  /** How often expired registrations are swept (default 1000 ms). */
  sweepIntervalMs?: number;
  newRegistrationId?: () => string;
  /** Where registrations are kept across restarts, and whose revocations (C9) empty the PSK caches (default: opened from config.store). */
  stores?: Stores;
  /** SSE heartbeat interval (default 15000 ms). */
  eventHeartbeatMs?: number;
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
  /** Write, Execute, Discover, Observe … (operations.ts). */
  dm: DeviceManager;
  events: EventHub;
  close(): Promise<void>;
}

/** Configuration problems of the LwM2M section, all at once. */
export function checkLwm2mConfig(config: ResolvedConfig): string[] {
  const c = config.lwm2m;
  const problems: string[] = [];
  if (!c.pskLookupUrl)
    problems.push('lwm2m.pskLookupUrl: required (the NAF PSK API, e.g. http://127.0.0.1:8084/naf/v1/psk-lookup)');
  if (!c.pskApiToken)
    problems.push('lwm2m.pskApiToken: required (the token the NAF accepts on its PSK API, naf.pskApiToken)');
  if (!tlsSuiteForUaId(c.uaSecProtId)) {
    const known = Object.entries(TLS_SUITE_BY_UA_ID)
      .map(([id, suite]) => `${id} (${suite})`)
      .join(' or ');
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
  const adminToken = opts.adminToken ?? config.admin.token;
  if (!adminToken) log.warn({ event: 'lwm2m.api-closed' }, 'no admin.token: the REST API answers 401 to everyone');

  const registry = new ClientRegistry();
  const stores = opts.stores ?? (await openStores(config.store, log));
  const persistence = new RegistrationPersistence(stores.lwm2mRegistrations, log.child({ iface: 'store' }));
  const metrics = createLwm2mMetrics(ctx.registry, () => registry.size);
  const pskSource = new PskSource(c.pskLookupUrl!, {
    token: c.pskApiToken!,
    now,
    log: log.child({ iface: 'psk' }),
    lookups: metrics.pskLookups,
  });
  const events = new EventHub({
    ...(opts.eventHeartbeatMs !== undefined ? { heartbeatMs: opts.eventHeartbeatMs } : {}),
  });
  const eventOf = (r: Registration) => ({
    endpoint: r.endpoint,
    registrationId: r.registrationId,
    transport: r.peer.transport,
    lifetime: r.lifetimeSec,
  });
  registry.onRemoved((r) => persistence.removed(r));
  registry.onRemoved((r, reason) =>
    events.publish({ name: 'deregistration', endpoint: r.endpoint, data: { ...eventOf(r), reason } }),
  );
  const handler = new RegistrationHandler({
    registry,
    now,
    log: log.child({ iface: 'rd' }),
    metrics,
    onRegistered: (r, kind) => {
      persistence.saved(r);
      events.publish({ name: kind, endpoint: r.endpoint, data: eventOf(r) });
    },
    ...(opts.newRegistrationId ? { newRegistrationId: opts.newRegistrationId } : {}),
  });
  const restored = await persistence.restore(registry, now());
  if (restored) log.info({ event: 'lwm2m.restored', registrations: restored }, 'registrations restored from the store');
  const reader = new ClientReader({ registry, log: log.child({ iface: 'read' }), metrics });
  const dm = new DeviceManager({ registry, log: log.child({ iface: 'dm' }), events, now });
  // The transports hand requests to the registration interface and unmatched responses (notifications) to dm.
  const peers = {
    handle: handler.handle.bind(handler),
    peerClosed: handler.peerClosed.bind(handler),
    peerPskExpired: handler.peerPskExpired.bind(handler),
    notification: dm.notification.bind(dm),
  };
  const openapi = readAsset('lwm2m/openapi.yaml');

  const tls = await startCoapTlsListener({
    host: c.host,
    port: c.port,
    uaSecProtId: c.uaSecProtId,
    tls13: c.tls13,
    pskSource,
    handler: peers,
    now,
    log: log.child({ iface: 'coap-tls' }),
    metrics,
    requestTimeoutMs: opts.readTimeoutMs ?? 10_000,
    limits: {
      lookupRatePerSource: c.pskLookupRatePerSource,
      lookupBurstPerSource: c.pskLookupBurstPerSource,
      ...opts.tlsLimits,
    },
    flow: {
      maxRequestsInProgress: c.coapMaxRequestsInProgress,
      writeStallTimeoutMs: c.coapWriteStallTimeoutSec * 1000,
      maxQueuedOutputBytes: c.coapMaxQueuedOutputBytes,
    },
    ...(opts.pskCacheTtlMs !== undefined ? { pskCacheTtlMs: opts.pskCacheTtlMs } : {}),
  });
  let dtls: CoapDtlsListener | undefined;
  let api: RunningServer;
  const stopRevocations = await watchRevocations(stores.ops, log, (btid) =>
    dropRevoked(btid, { tlsCache: tls.server.resolver, pskSource }),
  );
  const closeStore = async () => {
    await stopRevocations();
    if (!opts.stores) await stores.close();
  };
  try {
    if (c.dtls) {
      dtls = await startCoapDtlsListener({
        host: c.host,
        port: tls.port,
        gcm: c.dtlsGcm,
        connectionId: c.dtlsConnectionId,
        pskSource,
        handler: peers,
        now,
        log: log.child({ iface: 'coap-dtls' }),
        metrics,
        requestTimeoutMs: opts.readTimeoutMs ?? 10_000,
        maxRequestsInProgress: c.coapMaxRequestsInProgress,
        limits: {
          maxHalfOpen: c.dtlsMaxHalfOpen,
          maxHalfOpenPerAddress: c.dtlsMaxHalfOpenPerAddress,
          handshakeTimeoutMs: c.dtlsHandshakeTimeoutSec * 1000,
          maxAssociations: c.dtlsMaxAssociations,
          maxPerAddress: c.dtlsMaxAssociationsPerAddress,
          idleTimeoutMs: c.dtlsIdleTimeoutSec * 1000,
          lookupRatePerSource: c.pskLookupRatePerSource,
          lookupBurstPerSource: c.pskLookupBurstPerSource,
        },
      });
    }
    api = await startHttpServer({
      name: 'api',
      router: createRestRouter({
        adminToken: adminToken ?? newToken(),
        registry,
        read: (ep, path, accept) => reader.read(ep, path, accept),
        openapi: () => withServers(openapi, [{ url: api.url }]),
        dm,
        events,
      }),
      log,
      registry: ctx.registry,
      host: c.apiHost,
      port: c.apiPort,
    });
  } catch (err) {
    await tls.close();
    await dtls?.close();
    await pskSource.close();
    await closeStore();
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
    dm,
    events,
    close: async () => {
      clearInterval(timer);
      await persistence.shutdown();
      events.close();
      await tls.close();
      await dtls?.close();
      await api.close();
      await pskSource.close();
      await closeStore();
      registry.clear();
    },
  };
}

export async function runLwm2m(config: ResolvedConfig): Promise<void> {
  const { log } = nfContext('lwm2m', config);
  // Standalone without --admin-token/GBA_ADMIN_TOKEN: one generated once into <stateDir>/admin-token (0600).
  const adminToken = tokenFromConfigOrState(config.admin.token, config.stateDir, 'admin-token', log);
  const lwm2m = await startLwm2m(config, { log, adminToken });
  runUntilSignalled(
    log,
    { coapTls: lwm2m.tls.uri, ...(lwm2m.dtls ? { coapDtls: lwm2m.dtls.uri } : {}), api: `${lwm2m.api.url}/` },
    lwm2m.close,
  );
}
