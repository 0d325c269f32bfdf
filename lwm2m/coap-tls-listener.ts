/**
 * CoAP over TLS-PSK over TCP (RFC 8323) for the LwM2M server (docs/contracts.md C3, "LwM2M TLS listener"):
 * TLS 1.2 with exactly the PSK suite `lwm2m.uaSecProtId` names, identity hint `3GPP-bootstrapping`, ALPN `coap`
 * (clients offering none are accepted, RFC 8323 §8.2), TLS 1.3 only when configured. Keys come from the NAF's PSK
 * API through PskSource, asked for the listener's Ua id (or 0100000007 under TLS 1.3, TS 33.222 §5.4.0.2).
 *
 * Each secure socket becomes a CoapTcpConnection (our CSM first, §3.3), bound as an Lwm2mPeer by peer-binding.ts
 * (the same binding as the DTLS listener). Registrations are bound to the connection: when it closes they end.
 * When the bootstrapping key expires the peer's registrations end and the connection is released (7.04,
 * §5.5), then closed, so the device must bootstrap again and reconnect with a fresh key.
 */
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { CoapTcpConnection } from '../shared/coap/tcp-connection.js';
import { PSK_IDENTITY_HINT } from '../shared/identifiers.js';
import type { Logger } from '../shared/log.js';
import {
  OPENSSL_PSK_SUITE_NAMES,
  tlsSuiteOfUaId,
  UA_TLS13_SHARED_KEY,
  UA_TLS_PSK_AES128_CCM8,
  UA_TLS_PSK_AES128_GCM,
} from '../shared/ua-ids.js';
import {
  createPskTlsServer,
  type PskTlsSecureInfo,
  type PskTlsServer,
  type PskTlsServerOptions,
} from '../shared/psk-tls/tls/psk-tls-server.js';
import type { Lwm2mMetrics } from './metrics.js';
import type { PeerRequestHandler } from './peer.js';
import { bindPeer } from './peer-binding.js';
import type { PskSource } from './psk-source.js';

/** The Ua ids the TLS listener can serve, and the one OpenSSL suite each names (TS 33.222 §5.4: 01 00 01 yy zz). */
export const TLS_SUITE_BY_UA_ID: Readonly<Record<string, string>> = Object.fromEntries(
  // TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8, RFC 7925) and TLS_PSK_WITH_AES_128_GCM_SHA256 (0x00A8)
  [UA_TLS_PSK_AES128_CCM8, UA_TLS_PSK_AES128_GCM].map((ua) => [ua, OPENSSL_PSK_SUITE_NAMES[tlsSuiteOfUaId(ua)!]!]),
);

/** The OpenSSL suite name for a Ua id, or undefined when the TLS listener does not serve that id. */
export const tlsSuiteForUaId = (uaSecProtId: string): string | undefined =>
  TLS_SUITE_BY_UA_ID[uaSecProtId.toLowerCase()];

export type { PeerRequestHandler } from './peer.js';

export interface CoapTlsListenerOptions {
  host: string;
  port: number;
  /** Must be a key of TLS_SUITE_BY_UA_ID (main.ts reports anything else as a configuration error). */
  uaSecProtId: string;
  tls13: boolean;
  pskSource: Pick<PskSource, 'resolvePsk' | 'describe'>;
  handler: PeerRequestHandler;
  log: Logger;
  metrics?: Lwm2mMetrics;
  /** Server-initiated requests (reads) wait this long for an answer. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Our Max-Message-Size (RFC 8323 §5.3.1). Default 16384 octets. */
  maxMessageSize?: number;
  /** Per-connection flow control (shared/coap/tcp-connection.ts TCP_FLOW_DEFAULTS when absent). */
  flow?: { maxRequestsInProgress?: number; writeStallTimeoutMs?: number; maxQueuedOutputBytes?: number };
  now?: () => number;
  /** Passed to the PSK listener (handshake timeout, connection cap, lookup timeout) and its key cache TTL. */
  limits?: PskTlsServerOptions['limits'];
  pskCacheTtlMs?: number;
}

export interface CoapTlsListener {
  server: PskTlsServer;
  port: number;
  /** coaps+tcp://host:port */
  uri: string;
  /** Open CoAP connections (handshake done). */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startCoapTlsListener(o: CoapTlsListenerOptions): Promise<CoapTlsListener> {
  const suite = tlsSuiteForUaId(o.uaSecProtId);
  if (!suite) throw new Error(`no TLS PSK suite for Ua id ${o.uaSecProtId}`);
  const now = o.now ?? Date.now;
  const log = o.log;
  const conns = new Set<CoapTcpConnection>();
  let seq = 0;
  const uaIdFor = (protocol: string): string =>
    protocol === 'TLSv1.3' ? UA_TLS13_SHARED_KEY : o.uaSecProtId.toLowerCase();

  const onSecure = (socket: tls.TLSSocket, info: PskTlsSecureInfo): void => {
    const id = `tls-${++seq}`;
    const address = info.remote;
    const conn = new CoapTcpConnection(socket, {
      requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
      maxMessageSize: o.maxMessageSize ?? 16_384,
      // Block1 on incoming requests is not implemented, so we do not claim block-wise support (§5.3.2).
      blockWiseTransfer: false,
      releaseTimeoutMs: 2_000,
      ...o.flow,
      onError: (err) => log.warn({ event: 'coap.error', peer: id, err }, 'CoAP connection error'),
    });
    conns.add(conn);
    const binding = bindPeer({
      id,
      transport: 'tcp',
      address,
      pskIdentity: info.pskIdentity,
      uaSecProtId: uaIdFor(info.protocol),
      details: { cipher: info.cipher, protocol: info.protocol },
      pskSource: o.pskSource,
      handler: o.handler,
      log,
      now,
      registrationsEndWithChannel: true,
      channel: {
        get closed() {
          return conn.closed;
        },
        request: (req) => conn.request(req),
        close: (reason) => {
          if (reason === 'psk-expired')
            void conn.release({ diagnostic: 'GBA bootstrapping key expired; bootstrap again' });
          else conn.close();
        },
        onRequest: (h) => conn.onRequest(h),
      },
    });
    // Observe notifications (RFC 8323 §7.1) are responses no request waits for: hand them to the handler.
    conn.onUnmatchedResponse((res) => {
      void binding.ready.then((peer) => {
        if (peer && !peer.closed) o.handler.notification?.(peer, res);
      });
    });
    conn.onClose((ci) => {
      conns.delete(conn);
      // A peer that stopped reading (RFC 8323 gives it no other way to refuse our output) is dropped, not queued for.
      if (ci.reason === 'stalled')
        log.info(
          { event: 'coap.peer-stalled', peer: id, address, detail: ci.detail },
          'closed a peer that does not read',
        );
      binding.channelClosed({ reason: ci.reason, detail: ci.detail });
    });
  };

  const server = createPskTlsServer(
    {
      ciphers: suite,
      pskIdentityHint: PSK_IDENTITY_HINT,
      resolvePsk: (identity, ctx) => o.pskSource.resolvePsk(identity, uaIdFor(ctx.tlsVersion)),
      alpn: ['coap'],
      tls13: o.tls13,
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.pskCacheTtlMs !== undefined ? { cacheTtlMs: o.pskCacheTtlMs } : {}),
      log: (e) => tlsEvent(log, o.metrics, e),
    },
    onSecure,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ event: 'tls.listener-error', err }, 'TLS listener error'));
  const port = (server.address() as AddressInfo).port;
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '::1' : o.host;
  return {
    server,
    port,
    uri: `coaps+tcp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    get connections() {
      return conns.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of [...conns]) c.close();
        server.close(() => resolve());
      }),
  };
}

/** The listener's events (never keys) to the log and the handshake counter. */
function tlsEvent(log: Logger, metrics: Lwm2mMetrics | undefined, e: Record<string, unknown>): void {
  const { event, ...fields } = e;
  if (event === 'tls.secure') {
    metrics?.handshakes.inc({ result: 'ok' });
    log.debug({ event, ...fields }, 'TLS handshake done');
  } else if (event === 'tls.psk-lookup-limited') {
    metrics?.pskLookupsLimited.inc({ transport: 'tcp' });
    log.info({ event, ...fields }, 'PSK lookup refused by the per-source rate limit');
  } else if (event === 'tls.handshake-failed') {
    metrics?.handshakes.inc({ result: String(fields.reason ?? 'failed') });
    log.info({ event, ...fields }, 'TLS handshake failed');
  } else {
    log.debug({ event, ...fields }, String(event));
  }
}
