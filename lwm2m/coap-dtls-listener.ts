/**
 * CoAP over DTLS-PSK on UDP (RFC 7252 §9.1, RFC 6347) for the LwM2M server, on the same port number as the TLS
 * listener: what real modems, Zephyr, Anjay and Wakaama speak.
 *
 * Unlike TLS, the DTLS server knows the negotiated suite before it asks for the key, so keys are per suite: the
 * PSK API is asked for NAF_Id = lwm2m fqdn ‖ 01 00 01 yy zz of the suite actually negotiated (TS 33.222 §5.4).
 * Each association is the CoAP endpoint (RFC 7252 §9.1): one CoapUdpEndpoint per session gives CON/ACK,
 * message-ID deduplication and token matching. Registrations over UDP outlive an association (a device may
 * handshake again and Update); they end by lifetime, De-register, or key expiry, which also closes the session.
 */
import { Code, getUriPath, getUriQuery, type CoapMessage, type CoapResponse } from '../shared/coap/message.js';
import { CoapUdpEndpoint } from '../shared/coap/udp-endpoint.js';
import { PSK_IDENTITY_HINT } from '../shared/identifiers.js';
import type { Logger } from '../shared/log.js';
import { uaIdForTlsSuite } from '../shared/ua-ids.js';
import {
  DtlsServer,
  TLS_PSK_WITH_AES_128_CBC_SHA256,
  TLS_PSK_WITH_AES_128_CCM_8,
  TLS_PSK_WITH_AES_128_GCM_SHA256,
  type DtlsSession,
} from '../shared/psk-tls/dtls/index.js';
import type { Lwm2mMetrics } from './metrics.js';
import type { PeerRequestHandler } from './peer.js';
import { bindPeer } from './peer-binding.js';
import type { Lwm2mPeer } from './peer.js';
import type { PskSource } from './psk-source.js';

export interface CoapDtlsListenerOptions {
  host: string;
  port: number;
  /** Also offer TLS_PSK_WITH_AES_128_GCM_SHA256 (CCM_8, RFC 7925's mandatory one, and CBC_SHA256 always). */
  gcm?: boolean;
  /** RFC 9146 Connection ID, so a device whose NAT binding changes keeps its association. */
  connectionId?: boolean;
  pskSource: Pick<PskSource, 'resolvePsk' | 'describe'>;
  handler: PeerRequestHandler;
  log: Logger;
  metrics?: Lwm2mMetrics;
  requestTimeoutMs?: number;
  /** CoAP requests of one association handled at once; more get 5.03 (shared/coap/udp-endpoint.ts, default 16). */
  maxRequestsInProgress?: number;
  now?: () => number;
  /**
   * Admission and lookup limits (see DtlsServerOptions). `idleTimeoutMs` applies until the device registers; a
   * Register or Update then keeps the association for the registration lifetime plus `idleTimeoutMs`.
   */
  limits?: ConstructorParameters<typeof DtlsServer>[0]['limits'];
}

export interface CoapDtlsListener {
  server: DtlsServer;
  port: number;
  /** coaps://host:port */
  uri: string;
  readonly sessions: number;
  close(): Promise<void>;
}

/** LwM2M Core 1.1 §6.2.1: the Lifetime of a Register without `lt`. */
const DEFAULT_LIFETIME_SEC = 86_400;
/** The DTLS server's default idle timeout (DtlsServerOptions.limits.idleTimeoutMs). */
const DEFAULT_IDLE_MS = 300_000;

/**
 * The registration lifetime a successful Register (POST /rd → 2.01) or Update (POST /rd/<id> → 2.04) gives the
 * association (LwM2M Core 1.1 §6.2.1, §6.2.2), or undefined when the exchange was neither or kept the lifetime.
 */
export function registrationLifetimeSec(req: CoapMessage, res: CoapResponse): number | undefined {
  let path: string[];
  // A Uri-Path that does not decode (not UTF-8) was answered 4.00 already; it gives no lifetime, and no 5.00.
  try {
    path = getUriPath(req);
  } catch {
    return undefined;
  }
  if (req.code !== Code.POST || path[0] !== 'rd') return undefined;
  const register = path.length === 1;
  if (res.code !== (register ? Code.CREATED : Code.CHANGED)) return undefined;
  const lt = getUriQuery(req).find((q) => q.startsWith('lt='));
  const sec = lt === undefined ? undefined : Number(lt.slice(3));
  if (sec !== undefined && Number.isInteger(sec) && sec > 0) return sec;
  return register ? DEFAULT_LIFETIME_SEC : undefined;
}

export async function startCoapDtlsListener(o: CoapDtlsListenerOptions): Promise<CoapDtlsListener> {
  const log = o.log;
  const now = o.now ?? Date.now;
  const idleMs = o.limits?.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const suites = [
    TLS_PSK_WITH_AES_128_CCM_8,
    TLS_PSK_WITH_AES_128_CBC_SHA256,
    ...(o.gcm ? [TLS_PSK_WITH_AES_128_GCM_SHA256] : []),
  ];
  const live = new Set<DtlsSession>();
  let seq = 0;
  const server = new DtlsServer({
    pskIdentityHint: PSK_IDENTITY_HINT,
    cipherSuites: suites,
    resolvePsk: (identity, suite) => o.pskSource.resolvePsk(identity.toString('utf8'), uaIdForTlsSuite(suite)),
    connectionId: o.connectionId ?? true,
    ...(o.limits ? { limits: o.limits } : {}),
    log: (e) => {
      if (e.event === 'dtls_established') o.metrics?.dtlsHandshakes.inc({ result: 'ok' });
      else if (e.event === 'dtls_handshake_failed')
        o.metrics?.dtlsHandshakes.inc({ result: String(e.alert ?? 'failed') });
      else if (e.event === 'dtls_psk_lookup_limited') o.metrics?.pskLookupsLimited.inc({ transport: 'udp' });
      if (e.event === 'dtls_handshake_failed') log.info({ ...e }, 'DTLS handshake failed');
      else log.debug({ ...e }, String(e.event));
    },
  });
  server.on('error', (err: Error) => log.error({ event: 'dtls.listener-error', err }, 'DTLS listener error'));
  server.on('session', (session: DtlsSession) => {
    const id = `dtls-${++seq}`;
    live.add(session);
    const endpoint = new CoapUdpEndpoint({
      send: (d) => session.send(d),
      responseTimeoutMs: o.requestTimeoutMs ?? 10_000,
      ...(o.maxRequestsInProgress !== undefined ? { maxRequestsInProgress: o.maxRequestsInProgress } : {}),
      onError: (err) => log.warn({ event: 'coap.error', peer: id, err }, 'CoAP error'),
    });
    session.on('data', (d: Buffer) => endpoint.receive(d));
    let closed = false;
    const binding = bindPeer({
      id,
      transport: 'udp',
      address: `${session.peer.address}:${session.peer.port}`,
      pskIdentity: session.pskIdentity.toString('utf8'),
      uaSecProtId: uaIdForTlsSuite(session.cipherSuite),
      details: { suite: `0x${session.cipherSuite.toString(16).padStart(4, '0')}` },
      pskSource: o.pskSource,
      handler: o.handler,
      log,
      now,
      registrationsEndWithChannel: false,
      channel: {
        get closed() {
          return closed;
        },
        request: (req) => endpoint.request({ type: 'CON', ...req }),
        close: () => {
          closed = true;
          session.close();
        },
        onRequest: (h) => endpoint.onRequest(h),
      },
      // Issue 18: an association lives idle as long as the registration it carries, not a fixed hour.
      afterRequest: (req, res) => {
        const lt = registrationLifetimeSec(req, res);
        if (lt !== undefined && !closed) session.setIdleTimeout(lt * 1000 + idleMs);
      },
    });
    // Observe notifications (RFC 7641 §4.2): false (not ours) makes the endpoint answer RST.
    let bound: Lwm2mPeer | undefined;
    void binding.ready.then((peer) => {
      bound = peer;
    });
    endpoint.onUnmatchedResponse((res) =>
      bound && !bound.closed ? (o.handler.notification?.(bound, res) ?? false) : false,
    );
    session.once('close', () => {
      closed = true;
      live.delete(session);
      endpoint.close();
      binding.channelClosed();
    });
  });
  const { port } = await server.listen(o.port, o.host);
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '::1' : o.host;
  return {
    server,
    port,
    uri: `coaps://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get sessions() {
      return live.size;
    },
    close: async () => {
      for (const s of [...live]) s.close();
      await server.close();
    },
  };
}
