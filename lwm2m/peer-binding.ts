/**
 * The one binding between a secure CoAP channel and the registration logic, for both listeners: a CoAP over
 * TLS connection (RFC 8323, coap-tls-listener.ts) and a CoAP over DTLS association (RFC 7252 §9.1,
 * coap-dtls-listener.ts). It asks the PSK API what the handshake's identity may do (docs/contracts.md C3), turns the
 * channel into an Lwm2mPeer, ends the peer when the bootstrapping key expires (TS 33.220 §4.5.2), and logs the
 * same events for both transports:
 *
 *   lwm2m.connected      the peer is bound (pskIdentity, endpoint, and the channel's own details)
 *   lwm2m.peer-refused   the PSK API no longer knows the identity, or failed
 *   lwm2m.psk-expired    the key expired; the peer is released
 *   lwm2m.disconnected   the channel closed
 *   coap.error           a CoAP-level error on the channel
 */
import { Code, type CoapMessage, type CoapResponse } from '../shared/coap/message.js';
import type { Logger } from '../shared/log.js';
import type {
  Lwm2mPeer,
  PeerCloseReason,
  PeerRequest,
  PeerRequestHandler,
  PeerSecurity,
  PeerTransport,
} from './peer.js';
import type { PskSource } from './psk-source.js';
import { callAt } from './timers.js';

/** What a listener gives the binding: one secure channel that carries CoAP. */
export interface PeerChannel {
  readonly closed: boolean;
  request(req: PeerRequest): Promise<CoapMessage>;
  close(reason: PeerCloseReason): void;
  /** Installs the handler of the client's requests. */
  onRequest(handler: (req: CoapMessage) => Promise<CoapResponse>): void;
}

export interface BindPeerOptions {
  id: string;
  transport: PeerTransport;
  /** Remote "ip:port". */
  address: string;
  pskIdentity: string;
  /** The Ua id the key was derived for (TS 33.222 §5.4): the PSK API is asked about this one. */
  uaSecProtId: string;
  /** What the listener knows of the channel (suite, protocol …), for the lwm2m.connected event. */
  details: Record<string, unknown>;
  channel: PeerChannel;
  pskSource: Pick<PskSource, 'describe'>;
  handler: PeerRequestHandler;
  log: Logger;
  now: () => number;
  /**
   * Whether the peer's registrations end when the channel closes: yes over TLS, where RFC 8323 binds them to the
   * connection; no over DTLS, where a device may handshake again and Update (RFC 7252 §9.1: the association is
   * only the endpoint), so they end by lifetime, De-register or key expiry.
   */
  registrationsEndWithChannel: boolean;
  /** Called after each request the handler answered (the DTLS listener ties its idle timeout to Register/Update). */
  afterRequest?: (req: CoapMessage, res: CoapResponse) => void;
}

export interface PeerBinding {
  /** The peer, or undefined when the PSK API refused it (the channel is then closed). */
  readonly ready: Promise<Lwm2mPeer | undefined>;
  /** The listener calls this once when the channel has closed (for any reason). */
  channelClosed(detail?: Record<string, unknown>): void;
}

class BoundPeer implements Lwm2mPeer {
  constructor(
    readonly id: string,
    readonly transport: PeerTransport,
    readonly address: string,
    readonly security: PeerSecurity,
    private readonly channel: PeerChannel,
  ) {}
  get closed(): boolean {
    return this.channel.closed;
  }
  request(req: PeerRequest): Promise<CoapMessage> {
    return this.channel.request(req);
  }
  close(reason: PeerCloseReason): void {
    this.channel.close(reason);
  }
}

export function bindPeer(o: BindPeerOptions): PeerBinding {
  const { id, log, channel } = o;
  let cancelExpiry: (() => void) | undefined;
  let ended = false;
  const ready: Promise<Lwm2mPeer | undefined> = o.pskSource.describe(o.pskIdentity, o.uaSecProtId).then(
    (security) => {
      if (ended || channel.closed) return undefined;
      if (!security) {
        log.info(
          { event: 'lwm2m.peer-refused', peer: id, pskIdentity: o.pskIdentity },
          'the PSK API no longer knows this identity',
        );
        channel.close('error');
        return undefined;
      }
      const peer = new BoundPeer(id, o.transport, o.address, security, channel);
      cancelExpiry = callAt(security.expiresAtMs, o.now, () => {
        log.info(
          { event: 'lwm2m.psk-expired', peer: id, pskIdentity: security.pskIdentity },
          'bootstrapping key expired; releasing the peer',
        );
        o.handler.peerPskExpired(peer);
        peer.close('psk-expired');
      });
      log.info(
        {
          event: 'lwm2m.connected',
          peer: id,
          transport: o.transport,
          address: o.address,
          pskIdentity: security.pskIdentity,
          endpoint: security.endpoint,
          ...o.details,
        },
        `CoAP over ${o.transport === 'tcp' ? 'TLS' : 'DTLS'} peer`,
      );
      return peer;
    },
    (err: unknown) => {
      log.warn(
        { event: 'lwm2m.peer-refused', peer: id, pskIdentity: o.pskIdentity, err },
        'PSK API failed; closing the channel',
      );
      channel.close('error');
      return undefined;
    },
  );
  channel.onRequest(async (req) => {
    const peer = await ready;
    // A closed peer gets nothing registered: its peerClosed may already have run.
    if (!peer || peer.closed) return { code: Code.SERVICE_UNAVAILABLE };
    const res = await o.handler.handle(peer, req);
    o.afterRequest?.(req, res);
    return res;
  });
  return {
    ready,
    channelClosed: (detail = {}) => {
      if (ended) return;
      ended = true;
      cancelExpiry?.();
      log.debug({ event: 'lwm2m.disconnected', peer: id, transport: o.transport, ...detail }, 'peer channel closed');
      if (o.registrationsEndWithChannel)
        void ready.then((peer) => {
          if (peer) o.handler.peerClosed(peer);
        });
    },
  };
}
