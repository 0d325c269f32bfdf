/**
 * What the device's LwM2M client needs from a transport: send requests, serve the server's requests, and
 * hear about the connection going away. CoAP over TLS (RFC 8323) and over DTLS (RFC 7252) both provide it.
 */
import type { CoapMessage, CoapOption, CoapResponse, RequestHandler } from '../shared/coap/message.js';

export interface CoapChannel {
  readonly transport: 'tcp' | 'udp';
  request(req: { code: number; options?: CoapOption[]; payload?: Buffer }): Promise<CoapMessage>;
  onRequest(handler: RequestHandler): void;
  /**
   * Sends an Observe notification under the observation's token (RFC 7641 §4.2; RFC 8323 §7.1). Resolves false
   * when the server rejected it (RST over UDP) or the connection is gone: the observation is then over.
   */
  notify(token: Buffer, res: CoapResponse): Promise<boolean>;
  /** Called once, when the connection or association ends (by either side). */
  onClose(cb: (why: string) => void): void;
  close(): Promise<void>;
}

/** How the agent reaches the LwM2M server: PSK = Ks_NAF for serverFqdn ‖ uaSecProtId (contract C3). */
export interface PskConnectOptions {
  host: string;
  port: number;
  serverFqdn: string;
  pskIdentity: string;
  psk: Buffer;
  uaSecProtId: string;
  timeoutMs?: number;
}
