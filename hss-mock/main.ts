/** The HSS-mock process: provisioning API + Zh (N65) on one HTTP listener. */
import type { ResolvedConfig } from '../shared/config.js';
import { bearerAuthorizer, Router, startHttpServer, type RunningServer } from '../shared/http/server.js';
import { Counter } from '../shared/metrics.js';
import { nfContext, runUntilSignalled, tokenFromConfigOrState } from '../shared/nf/runtime.js';
import { openStores } from '../shared/store/open.js';
import type { Stores } from '../shared/store/types.js';
import { secretEqualString } from '../shared/bytes.js';
import { randomOctets } from '../shared/crypto/random-pool.js';
import { openapiHandler } from '../shared/http/openapi.js';
import { readAsset } from '../shared/assets.js';
import { Auc } from './auc.js';
import { PROVISIONING_BASE, provisioningRoutes } from './provisioning-api.js';
import { zhRoutes } from './zh-api.js';
import { startDiameterServer, type RunningDiameterServer } from '../shared/diameter/peer.js';
import { DiameterMetrics } from '../shared/diameter/metrics.js';
import { APP_ZH } from '../shared/diameter/dictionary.js';
import { diameterIdentity, hssDiameterPort } from '../shared/diameter/identity.js';
import { marHandler } from './zh-diameter.js';

export interface RunningHss {
  http: RunningServer;
  diameter: RunningDiameterServer;
  stores: Stores;
  close(): Promise<void>;
}

export async function startHss(
  config: ResolvedConfig,
  opts: { stores?: Stores; random?: (n: number) => Buffer } = {},
): Promise<RunningHss> {
  const { log, registry } = nfContext('hss-mock', config);
  const stores = opts.stores ?? (await openStores(config.store, log));
  const adminToken = tokenFromConfigOrState(config.hss.adminToken, config.stateDir, 'hss-admin-token', log);
  const zhTokens = config.hss.zhTokens;
  if (!zhTokens.length) log.warn({}, 'hss.zhTokens is empty: no BSF can call Zh');
  const mncDigits = config.homeNetwork.mnc.length as 2 | 3;

  const vectors = registry.register(
    new Counter('gba_hss_vectors_total', 'Authentication vectors generated, by kind.', ['kind']),
  );
  vectors.init({ kind: 'normal' });
  vectors.init({ kind: 'resync' });
  const auc = new Auc({
    subscribers: stores.subscribers,
    random: opts.random ?? randomOctets,
    indBits: config.hss.indBits,
    delta: config.hss.delta,
  });
  const router = new Router();
  provisioningRoutes(
    router,
    { subscribers: stores.subscribers, mncDigits, now: Date.now },
    { authorize: bearerAuthorizer((t) => secretEqualString(t, adminToken)) },
  );
  zhRoutes(
    router,
    { auc, subscribers: stores.subscribers, mncDigits, vectors },
    { authorize: bearerAuthorizer((t) => zhTokens.some((z) => secretEqualString(t, z))) },
  );
  const openapi = readAsset('hss-mock/openapi.yaml');
  router.get(
    `${PROVISIONING_BASE}/openapi.yaml`,
    openapiHandler(openapi, () => [{ url: http.url }]),
  );

  const http = await startHttpServer({
    name: 'hss',
    router,
    log,
    registry,
    host: config.hss.host,
    port: config.hss.port,
    health: () => stores.ping(),
  });
  // Zh over Diameter (C5/C6): CER accepted only from the configured BSF identities.
  const allowed = new Set(config.hss.diameter.allowedPeers.map((p) => p.toLowerCase()));
  if (!allowed.size) log.warn({}, 'hss.diameter.allowedPeers is empty: no BSF can connect over Diameter');
  const diameter = await startDiameterServer({
    host: config.hss.host,
    port: hssDiameterPort(config),
    local: { ...diameterIdentity(config, 'hss'), applicationId: APP_ZH },
    allowedPeers: (h) => allowed.has(h.toLowerCase()),
    log: log.child({ iface: 'zh-diameter' }),
    metrics: new DiameterMetrics(registry, 'zh'),
    onRequest: marHandler({ auc, mncDigits, vectors, log: log.child({ iface: 'zh-diameter' }) }),
  });
  return {
    http,
    diameter,
    stores,
    close: async () => {
      await Promise.all([http.close(), diameter.close()]);
      if (!opts.stores) await stores.close();
    },
  };
}

export async function runHss(config: ResolvedConfig): Promise<void> {
  const hss = await startHss(config);
  const { log } = nfContext('hss-mock', config);
  runUntilSignalled(
    log,
    { hss: hss.http.url, provisioning: `${hss.http.url}${PROVISIONING_BASE}`, zhDiameter: hss.diameter.uri },
    hss.close,
  );
}
