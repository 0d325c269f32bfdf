/** The NAF process: Ua provisioning endpoint (8083) and the PSK API for LwM2M servers (8084), Zn client to the BSF. */
import { ConfigError, nafUaTlsPorts, type ResolvedConfig } from '../shared/config.js';
import { bearerAuthorizer, Router, startHttpServer, type RunningServer } from '../shared/http/server.js';
import { Counter } from '../shared/metrics.js';
import { nfContext, runUntilSignalled, tokenFromConfigOrState } from '../shared/nf/runtime.js';
import { openStores } from '../shared/store/open.js';
import type { Stores } from '../shared/store/types.js';
import { watchRevocations } from '../shared/store/revocations.js';
import { secretEqualString } from '../shared/bytes.js';
import { openapiHandler } from '../shared/http/openapi.js';
import { readAsset } from '../shared/assets.js';
import { pskIdentityForBtid } from '../shared/identifiers.js';
import { loadOrCreateTenantSecret } from '../shared/tenant-secret.js';
import { HttpZnService } from './zn-http.js';
import { ZnDiameterClient } from './zn-diameter.js';
import { NafKeys } from './key-cache.js';
import { DiameterMetrics } from '../shared/diameter/metrics.js';
import { diameterIdentity, parseAaaUri } from '../shared/diameter/identity.js';
import type { ZnService } from '../shared/services/zn.js';
import { UA_OUTCOMES, UaHandler } from './ua.js';
import type { DeviceConfig } from '../shared/wire/sbi/ua.js';
import { pskLookup } from './psk-api.js';
import { endpointForImpi } from './endpoint-policy.js';
import { pushSecurityInfo } from './push.js';
import { startUaHttps, startUaPsk, UA_HTTPS_ID, type RunningTlsListener } from './ua-tls.js';

export interface RunningNaf {
  ua: RunningServer;
  psk: RunningServer;
  stores: Stores;
  /** Ua over HTTPS (TS 33.222 §5.3) and over TLS-PSK (§5.4), when configured. */
  uaHttps?: RunningTlsListener;
  uaPsk?: RunningTlsListener;
  close(): Promise<void>;
}

export async function startNaf(config: ResolvedConfig, opts: { stores?: Stores } = {}): Promise<RunningNaf> {
  const { log, registry } = nfContext('naf', config);
  const c = config.naf;
  const missing: string[] = [];
  if (!c.znUrl && c.znTransport === 'http')
    missing.push('naf.znUrl: required (the BSF Zn base URL, e.g. http://127.0.0.1:8081/nbsp-gba/v1)');
  if (!c.znToken && c.znTransport === 'http') missing.push("naf.znToken: required (this NAF's token in bsf.nafs)");
  if (!c.lwm2m.uri)
    missing.push('naf.lwm2m.uri: required (the LwM2M server URI handed to devices, e.g. coaps+tcp://127.0.0.1:5684)');
  if (c.znTransport === 'diameter' && !c.diameter.bsfUri)
    missing.push(
      'naf.diameter.bsfUri: required with naf.znTransport diameter (e.g. aaa://127.0.0.1:3869;transport=tcp)',
    );
  if (missing.length) throw new ConfigError(missing);

  const stores = opts.stores ?? (await openStores(config.store, log));
  const pskApiToken = tokenFromConfigOrState(c.pskApiToken, config.stateDir, 'naf-psk-api-token', log);
  const tenantSecret = loadOrCreateTenantSecret(c.tenantSecretFile);
  // One key cache over either ZnService binding (N66 JSON or Diameter BIR/BIA), one path for every key use.
  const znService: ZnService =
    c.znTransport === 'diameter'
      ? new ZnDiameterClient({
          local: diameterIdentity(config, 'naf'),
          bsf: { ...parseAaaUri(c.diameter.bsfUri!), realm: c.diameter.bsfRealm, identity: c.diameter.bsfHost },
          log: log.child({ iface: 'zn-diameter' }),
          metrics: new DiameterMetrics(registry, 'zn'),
        })
      : new HttpZnService(c.znUrl!, c.znToken!);
  const zn = new NafKeys({ zn: znService, store: stores.nafKeys, revocations: stores.ops });
  const stopRevocations = await watchRevocations(stores.ops, log, (btid) => zn.forget(btid));
  const key = (btid: string, fqdn: string, ua: string) => zn.key(btid, fqdn, ua);
  const endpointOf = (impi: string) => endpointForImpi(c.endpointPolicy, impi, tenantSecret);

  const uaOutcomes = registry.register(
    new Counter('gba_naf_ua_total', 'Ua provisioning requests by outcome.', ['outcome']),
  );
  for (const outcome of UA_OUTCOMES) uaOutcomes.init({ outcome });
  const lookups = registry.register(new Counter('gba_naf_psk_lookups_total', 'PSK API lookups by result.', ['result']));
  const pushes = registry.register(
    new Counter('gba_naf_psk_pushes_total', 'PSK pushes to LwM2M servers by result.', ['result']),
  );

  const deviceConfig = (btid: string, impi: string, expiresAtMs: number): DeviceConfig => ({
    endpoint: endpointOf(impi),
    serverUri: c.lwm2m.uri!,
    serverFqdn: c.lwm2m.fqdn,
    pskIdentity: pskIdentityForBtid(btid),
    uaSecProtId: c.lwm2m.uaSecProtId,
    expiresAt: new Date(expiresAtMs).toISOString(),
    ...(c.lwm2m.uriDtls ? { serverUriDtls: c.lwm2m.uriDtls } : {}),
  });
  const onProvisioned =
    c.lwm2m.push.length === 0
      ? undefined
      : (dc: DeviceConfig, btid: string) => {
          void key(btid, c.lwm2m.fqdn, c.lwm2m.uaSecProtId).then(
            (e) =>
              Promise.all(
                c.lwm2m.push.map((t) =>
                  pushSecurityInfo(t, dc.endpoint, dc.pskIdentity, e.keyHex, log.child({ iface: 'push' }), pushes),
                ),
              ),
            (err: Error) => log.warn({ event: 'push', err: err.message }, 'no key to push'),
          );
        };
  const ua = new UaHandler({
    fqdn: c.fqdn,
    nonceTtlMs: c.nonceTtlSec * 1000,
    nonces: stores.nonces,
    key,
    deviceConfig,
    onProvisioned,
    log: log.child({ iface: 'ua' }),
    outcomes: uaOutcomes,
  });

  const openapi = readAsset('naf/openapi.yaml');
  const serveOpenapi = openapiHandler(openapi, () => [
    { url: uaServer.url, description: 'Ua listener' },
    { url: pskServer.url, description: 'PSK API listener' },
  ]);
  const uaRouter = new Router()
    .get('/device/v1/config', (req) => ua.handle(req))
    .get('/naf/v1/openapi.yaml', serveOpenapi);
  const pskRouter = new Router()
    .post(
      '/naf/v1/psk-lookup',
      (req) =>
        pskLookup(
          {
            lwm2mFqdn: c.lwm2m.fqdn,
            defaultUaSecProtId: c.lwm2m.uaSecProtId,
            key,
            endpointOf,
            log: log.child({ iface: 'psk' }),
            lookups,
          },
          req,
        ),
      { authorize: bearerAuthorizer((t) => secretEqualString(t, pskApiToken)), maxBodyBytes: 4096 },
    )
    .get('/naf/v1/openapi.yaml', serveOpenapi);
  const health = () => stores.ping();
  const uaServer = await startHttpServer({
    name: 'ua',
    router: uaRouter,
    log,
    registry,
    host: c.host,
    port: c.uaPort,
    health,
  });
  const pskServer = await startHttpServer({
    name: 'psk',
    router: pskRouter,
    log,
    registry,
    host: c.host,
    port: c.pskPort,
    health,
  });
  // Ua over HTTPS: the same Digest flow, with the key for fqdn ‖ the TLS suite's Ua id (TS 33.222 §5.3).
  const uaTlsLog = log.child({ iface: 'ua-tls' });
  const uaOverTls = new UaHandler({ ...ua.d, uaSecProtId: UA_HTTPS_ID });
  const uaHttps =
    c.uaHttps.cert && c.uaHttps.key
      ? await startUaHttps({
          host: c.host,
          port: nafUaTlsPorts(config).https,
          cert: c.uaHttps.cert,
          key: c.uaHttps.key,
          log: uaTlsLog,
          registry,
          health,
          router: new Router()
            .get('/device/v1/config', (req) => uaOverTls.handle(req))
            .get('/naf/v1/openapi.yaml', serveOpenapi),
        })
      : undefined;
  // Ua over TLS-PSK: the handshake authenticated the UE by its B-TID (TS 33.222 §5.4).
  const uaPsk = c.uaPsk.enabled
    ? await startUaPsk({
        host: c.host,
        port: nafUaTlsPorts(config).psk,
        fqdn: c.fqdn,
        uaSecProtId: c.uaPsk.uaSecProtId,
        key,
        log: uaTlsLog,
        registry,
        health,
        routerFor: (btid, entry) =>
          new Router()
            .get('/device/v1/config', () => ({
              status: 200,
              headers: { 'Cache-Control': 'no-store' },
              json: deviceConfig(btid, entry.impi, entry.expiresAtMs),
            }))
            .get('/naf/v1/openapi.yaml', serveOpenapi),
      })
    : undefined;
  return {
    ua: uaServer,
    psk: pskServer,
    stores,
    uaHttps,
    uaPsk,
    close: async () => {
      await Promise.all([uaServer.close(), pskServer.close(), uaHttps?.close(), uaPsk?.close()]);
      await stopRevocations();
      await zn.close();
      if (!opts.stores) await stores.close();
    },
  };
}

export async function runNaf(config: ResolvedConfig): Promise<void> {
  const naf = await startNaf(config);
  const { log } = nfContext('naf', config);
  runUntilSignalled(
    log,
    {
      ua: `${naf.ua.url}/`,
      pskLookup: `${naf.psk.url}/naf/v1/psk-lookup`,
      fqdn: config.naf.fqdn,
      ...(naf.uaHttps ? { uaHttps: naf.uaHttps.url } : {}),
      ...(naf.uaPsk ? { uaPsk: naf.uaPsk.url } : {}),
    },
    naf.close,
  );
}
