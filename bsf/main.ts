/** The BSF process: Ub (TS 24.109) and Zn (TS 29.309) listeners, Zh client to the HSS, state in the store. */
import { ConfigError, type ResolvedConfig } from '../shared/config.js';
import { Router, startHttpServer, type RunningServer } from '../shared/http/server.js';
import { problems } from '../shared/http/problem.js';
import { Counter } from '../shared/metrics.js';
import { nfContext, runUntilSignalled } from '../shared/nf/runtime.js';
import { createLogger, type Logger } from '../shared/log.js';
import { openStores } from '../shared/store/open.js';
import type { Stores } from '../shared/store/types.js';
import { openapiHandler } from '../shared/http/openapi.js';
import { readAsset } from '../shared/assets.js';
import { UB_OUTCOMES, UB_THROTTLE_REASONS, UbHandler } from './ub.js';
import { SourceRateLimiter } from '../shared/net/rate-limit.js';
import { ZnCore, ZnHandler, type NafAccess } from './zn.js';
import { HttpZhService } from './zh-http.js';
import { GussCachingZh } from './guss-cache.js';
import { batchedStdout } from './log-sink.js';
import { mountAdminApi, type AdminRouteRegistration } from './admin.js';
import { scenarioHooks, scenarioRoutes } from './scenarios.js';
import { NafDirectory } from './naf-directory.js';
import { StoreTimeline } from './timeline.js';
import { tokenFromConfigOrState } from '../shared/nf/runtime.js';
import type { IncomingHttpHeaders } from 'node:http';
import { startDiameterServer, type RunningDiameterServer } from '../shared/diameter/peer.js';
import { DiameterMetrics } from '../shared/diameter/metrics.js';
import { APP_ZN } from '../shared/diameter/dictionary.js';
import { bsfDiameterPort, diameterIdentity, parseAaaUri } from '../shared/diameter/identity.js';
import type { ZhService } from '../shared/services/zh.js';
import { ZhDiameterClient } from './zh-diameter.js';
import { birHandler } from './zn-diameter.js';

export interface RunningBsf {
  ub: RunningServer;
  zn: RunningServer;
  diameter: RunningDiameterServer;
  stores: Stores;
  log: Logger;
  close(): Promise<void>;
}

export async function startBsf(
  config: ResolvedConfig,
  opts: { stores?: Stores; adminRoutes?: AdminRouteRegistration[] } = {},
): Promise<RunningBsf> {
  const { registry } = nfContext('bsf', config);
  // The same JSON lines nfContext's logger writes, coalesced into one write per event-loop turn (log-sink.ts).
  const log = createLogger({ level: config.log.level, bindings: { nf: 'bsf' }, write: batchedStdout().write });
  const c = config.bsf;
  const problemsFound: string[] = [];
  if (!c.hssUrl && c.zhTransport === 'http')
    problemsFound.push('bsf.hssUrl: required (the HSS Zh base URL, e.g. http://127.0.0.1:8082)');
  if (!c.hssToken && c.zhTransport === 'http')
    problemsFound.push('bsf.hssToken: required (a token listed in hss.zhTokens)');
  if (c.zhTransport === 'diameter' && !c.diameter.hssUri)
    problemsFound.push(
      'bsf.diameter.hssUri: required with bsf.zhTransport diameter (e.g. aaa://127.0.0.1:3868;transport=tcp)',
    );
  if (problemsFound.length) throw new ConfigError(problemsFound);
  if (!c.nafs.length) log.warn({}, 'bsf.nafs is empty: no NAF can use Zn');

  const stores = opts.stores ?? (await openStores(config.store, log));
  const identity = diameterIdentity(config, 'bsf');
  // One ZhService whatever the transport: the Diameter client caches GUSS from every MAA itself; the N65
  // binding has a GUSS-only request, cached here.
  const zh: ZhService =
    c.zhTransport === 'diameter'
      ? new ZhDiameterClient({
          local: identity,
          hss: {
            ...parseAaaUri(c.diameter.hssUri!),
            realm: c.diameter.hssRealm ?? identity.realm,
            identity: c.diameter.hssHost,
          },
          log: log.child({ iface: 'zh-diameter' }),
          metrics: new DiameterMetrics(registry, 'zh'),
          gussCacheMs: c.gussCacheSec * 1000,
        })
      : new GussCachingZh(new HttpZhService(c.hssUrl!, c.hssToken!), c.gussCacheSec * 1000);

  const outcomes = registry.register(
    new Counter('gba_ub_outcomes_total', 'Ub bootstrap attempts by outcome.', ['outcome']),
  );
  for (const outcome of UB_OUTCOMES) outcomes.init({ outcome });
  const challengesIssued = registry.register(
    new Counter('gba_ub_challenges_total', 'Ub challenges issued, by reason.', ['reason']),
  );
  const znRequests = registry.register(new Counter('gba_zn_requests_total', 'Zn requests by result.', ['result']));
  const throttled = registry.register(
    new Counter('gba_ub_throttled_total', 'Ub requests refused with 429, by limit.', ['reason']),
  );
  for (const reason of UB_THROTTLE_REASONS) throttled.init({ reason });

  const ub = new UbHandler({
    domain: c.domain,
    algorithm: c.akaAlgorithm,
    lifetimeSec: c.lifetimeSec,
    challengeTtlMs: c.challengeTtlSec * 1000,
    zh,
    challenges: stores.challenges,
    sessions: stores.sessions,
    log: log.child({ iface: 'ub' }),
    outcomes,
    challengesIssued,
    now: Date.now,
    recorder: new StoreTimeline(stores.ops, stores.sessions, log.child({ iface: 'timeline' })),
    scenarios: scenarioHooks(stores.scenarios, log.child({ iface: 'scenarios' })),
    maxOutstandingChallenges: c.maxOutstandingChallengesPerImpi,
    throttled,
    sourceLimiter: new SourceRateLimiter({ ratePerSecond: c.ubRatePerSource, burst: c.ubBurstPerSource }),
  });
  // Ub answers at any path and method: TS 24.109 uses GET /, and the procedure itself says what is wrong with
  // anything else (the digest uri must match whatever path the UE used).
  const ubRouter = new Router().fallback((req) =>
    ub.handle({
      method: req.method,
      uri: req.url,
      authorization: req.headers.authorization,
      remoteAddress: req.remoteAddress,
    }),
  );
  const ubServer = await startHttpServer({
    name: 'ub',
    router: ubRouter,
    log,
    registry,
    host: c.host,
    port: c.ubPort,
    health: () => stores.ping(),
  });

  // Configured NAFs and those added at run time (admin API), re-read from the store (bsf/naf-directory.ts).
  const nafDirectory = new NafDirectory(c.nafs as NafAccess[], stores.nafApps, log.child({ iface: 'nafs' }));
  await nafDirectory.start();
  const znCore = new ZnCore({
    sessions: stores.sessions,
    zh,
    log: log.child({ iface: 'zn' }),
    requests: znRequests,
    now: Date.now,
  });
  const zn = new ZnHandler({
    get nafs() {
      return nafDirectory.all;
    },
    provider: znCore,
    requests: znRequests,
  });
  const znRouter = new Router();
  const nafByHeaders = (h: IncomingHttpHeaders): NafAccess => {
    const m = /^Bearer (\S+)$/i.exec(h.authorization ?? '');
    const naf = m ? zn.nafOf(m[1]!) : undefined;
    if (!naf)
      throw problems.unauthorized(
        h.authorization ? 'unknown bearer token' : 'missing bearer token',
        h.authorization ? 'Bearer error="invalid_token"' : 'Bearer',
      );
    return naf;
  };
  znRouter.post('/nbsp-gba/v1/bootstrapping-info-retrieval', (req) => zn.handle(req, nafByHeaders(req.headers)), {
    authorize: (h) => {
      nafByHeaders(h);
    },
  });
  const openapi = readAsset('bsf/openapi.yaml');
  znRouter.get(
    '/nbsp-gba/v1/openapi.yaml',
    openapiHandler(openapi, () => [{ url: `${znServer.url}/nbsp-gba/v1` }]),
  );
  const adminToken = tokenFromConfigOrState(config.admin.token, config.stateDir, 'admin-token', log);
  mountAdminApi(
    znRouter,
    { token: adminToken, ops: stores.ops, log: log.child({ iface: 'admin' }), nafs: nafDirectory },
    [...(opts.adminRoutes ?? []), scenarioRoutes(stores.scenarios, log.child({ iface: 'admin' }))],
  );
  const znServer = await startHttpServer({
    name: 'zn',
    router: znRouter,
    log,
    registry,
    host: c.host,
    port: c.znPort,
    health: () => stores.ping(),
  });

  // Zn over Diameter (C5/C6): NAFs known by their Diameter identity, with the FQDN allow-list of N66; the
  // same ZnCore decides as for N66.
  const nafByHost = (h: string) =>
    c.nafs.find((n) => n.diameterHost !== undefined && n.diameterHost.toLowerCase() === h.toLowerCase());
  const diameter = await startDiameterServer({
    host: c.host,
    port: bsfDiameterPort(config),
    local: { ...identity, applicationId: APP_ZN },
    allowedPeers: (h) => nafByHost(h) !== undefined,
    log: log.child({ iface: 'zn-diameter' }),
    metrics: new DiameterMetrics(registry, 'zn'),
    onRequest: birHandler({
      provider: znCore,
      nafByHost,
      realm: identity.realm,
      log: log.child({ iface: 'zn-diameter' }),
    }),
  });

  return {
    ub: ubServer,
    zn: znServer,
    diameter,
    stores,
    log,
    close: async () => {
      nafDirectory.close();
      await Promise.all([ubServer.close(), znServer.close(), diameter.close()]);
      await zh.close();
      if (!opts.stores) await stores.close();
    },
  };
}

export async function runBsf(config: ResolvedConfig): Promise<void> {
  const bsf = await startBsf(config);
  runUntilSignalled(
    bsf.log,
    {
      ub: `${bsf.ub.url}/`,
      zn: `${bsf.zn.url}/nbsp-gba/v1`,
      admin: `${bsf.zn.url}/admin/v1`,
      realm: config.bsf.domain,
      znDiameter: bsf.diameter.uri,
    },
    bsf.close,
  );
}
