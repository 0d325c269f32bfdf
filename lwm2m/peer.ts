/**
 * What the registration logic needs from a transport: "a connection that can send CoAP requests and has a PSK
 * identity". Both listeners provide it through the one binding in peer-binding.ts: CoAP over TLS (RFC 8323,
 * coap-tls-listener.ts) and CoAP over DTLS (RFC 7252 §9.1: the association is the endpoint, coap-dtls-listener.ts).
 */
import type { CoapMessage, CoapOption, CoapResponse } from '../shared/coap/message.js';

/** What the NAF's PSK API said about the key this peer authenticated with (docs/contracts.md C3). Never the key. */
export interface PeerSecurity {
  /** As sent in the handshake: `3GPP-bootstrapping.<B-TID>` (or a bare B-TID). */
  pskIdentity: string;
  /** The only endpoint client name this identity may register (C3: otherwise 4.03). */
  endpoint: string;
  btid: string;
  impi: string;
  /** When the bootstrapping session, and so the key, expires (TS 33.220 §4.5.2). Epoch milliseconds. */
  expiresAtMs: number;
  /** Ua security protocol id the key was derived for (TS 33.220 Annex H), e.g. 010001c0a8. */
  uaSecProtId: string;
}

export type PeerTransport = 'tcp' | 'udp';

export interface PeerRequest {
  code: number;
  /** A chosen token (Observe and its cancellation reuse one, RFC 7641 §3.6); fresh when absent. */
  token?: Buffer;
  options?: CoapOption[];
  payload?: Buffer;
}

export interface Lwm2mPeer {
  /** Unique per connection/association, for logs. */
  readonly id: string;
  readonly transport: PeerTransport;
  /** Remote "ip:port". */
  readonly address: string;
  readonly security: PeerSecurity;
  readonly closed: boolean;
  /** Sends a request to the client and resolves with its response; rejects with CoapExchangeError. */
  request(req: PeerRequest): Promise<CoapMessage>;
  /** Ends the connection (or association). `reason` is for logs and the peer's diagnostic. */
  close(reason: PeerCloseReason): void;
}

export type PeerCloseReason = 'psk-expired' | 'shutdown' | 'error';

/** What the transports ask of the registration logic (RegistrationHandler implements it). */
export interface PeerRequestHandler {
  handle(peer: Lwm2mPeer, req: CoapMessage): CoapResponse | Promise<CoapResponse>;
  peerClosed(peer: Lwm2mPeer): unknown;
  peerPskExpired(peer: Lwm2mPeer): unknown;
  /** A response no request waits for (an Observe notification, RFC 7641 §4.2 / RFC 8323 §7.1); false = not ours. */
  notification?(peer: Lwm2mPeer, res: CoapMessage): boolean;
}
