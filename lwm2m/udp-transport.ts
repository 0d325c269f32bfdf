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
import { CoapUdpEndpoint } from '../shared/coap/udp-endpoint.js';
import { Code, type CoapMessage } from '../shared/coap/message.js';
import { PSK_IDENTITY_HINT } from '../shared/identifiers.js';
import type { Logger } from '../shared/log.js';
import { uaIdForTlsSuite } from '../shared/ua-ids.js';
import { DtlsServer, TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_GCM_SHA256, type DtlsSession } from '../shared/psk-tls/dtls/index.js';
import type { Lwm2mMetrics } from './metrics.js';
import type { Lwm2mPeer, PeerCloseReason, PeerRequest, PeerSecurity } from './peer.js';
import type { PskSource } from './psk-source.js';
import type { PeerRequestHandler } from './tcp-transport.js';
import { callAt } from './timers.js';

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
  now?: () => number;
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

class UdpPeer implements Lwm2mPeer {
  readonly transport = 'udp' as const;
  #closed = false;
  constructor(readonly id: string, readonly address: string, readonly security: PeerSecurity,
              private readonly session: DtlsSession, private readonly endpoint: CoapUdpEndpoint) {}
  get closed(): boolean { return this.#closed; }
  markClosed(): void { this.#closed = true; }
  request(req: PeerRequest): Promise<CoapMessage> { return this.endpoint.request({ type: 'CON', ...req }); }
  close(reason: PeerCloseReason): void {
    void reason;
    this.#closed = true;
    this.session.close();
  }
}

export async function startCoapDtlsListener(o: CoapDtlsListenerOptions): Promise<CoapDtlsListener> {
  const log = o.log;
  const now = o.now ?? Date.now;
  const suites = [TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256, ...(o.gcm ? [TLS_PSK_WITH_AES_128_GCM_SHA256] : [])];
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
      else if (e.event === 'dtls_handshake_failed') o.metrics?.dtlsHandshakes.inc({ result: String(e.alert ?? 'failed') });
      if (e.event === 'dtls_handshake_failed') log.info({ ...e }, 'DTLS handshake failed');
      else log.debug({ ...e }, String(e.event));
    },
  });
  server.on('error', (err: Error) => log.error({ event: 'dtls.listener-error', err }, 'DTLS listener error'));
  server.on('session', (session: DtlsSession) => {
    const id = `dtls-${++seq}`;
    const identity = session.pskIdentity.toString('utf8');
    const uaSecProtId = uaIdForTlsSuite(session.cipherSuite);
    const address = `${session.peer.address}:${session.peer.port}`;
    live.add(session);
    const endpoint = new CoapUdpEndpoint({
      send: (d) => session.send(d),
      responseTimeoutMs: o.requestTimeoutMs ?? 10_000,
      onError: (err) => log.warn({ event: 'coap.error', peer: id, err }, 'CoAP over DTLS error'),
    });
    session.on('data', (d: Buffer) => endpoint.receive(d));
    let peer: UdpPeer | undefined;
    let cancelExpiry: (() => void) | undefined;
    const ready = o.pskSource.describe(identity, uaSecProtId).then((security) => {
      if (!live.has(session)) return undefined;
      if (!security) { session.close(); return undefined; }
      peer = new UdpPeer(id, address, security, session, endpoint);
      const p = peer;
      cancelExpiry = callAt(security.expiresAtMs, now, () => {
        log.info({ event: 'lwm2m.psk-expired', peer: id, pskIdentity: security.pskIdentity }, 'bootstrapping key expired; closing the DTLS session');
        o.handler.peerPskExpired(p);
        p.close('psk-expired');
      });
      log.info({ event: 'lwm2m.connected', peer: id, address, pskIdentity: identity, endpoint: security.endpoint, suite: `0x${session.cipherSuite.toString(16).padStart(4, '0')}` }, 'CoAP over DTLS association');
      return peer;
    }, (err: unknown) => {
      log.warn({ event: 'lwm2m.peer-refused', peer: id, pskIdentity: identity, err }, 'PSK API failed; closing the DTLS session');
      session.close();
      return undefined;
    });
    endpoint.onUnmatchedResponse((res) => (peer && !peer.closed ? o.handler.notification?.(peer, res) ?? false : false));
    endpoint.onRequest(async (req) => {
      const p = await ready;
      return p && !p.closed ? o.handler.handle(p, req) : { code: Code.SERVICE_UNAVAILABLE };
    });
    session.once('close', () => {
      live.delete(session);
      cancelExpiry?.();
      endpoint.close();
      peer?.markClosed();
      log.debug({ event: 'lwm2m.disconnected', peer: id }, 'DTLS association ended');
    });
  });
  const { port } = await server.listen(o.port, o.host);
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '::1' : o.host;
  return {
    server, port,
    uri: `coaps://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get sessions() { return live.size; },
    close: async () => {
      for (const s of [...live]) s.close();
      await server.close();
    },
  };
}
