/** Public API of the DTLS 1.2 PSK server (RFC 6347, RFC 4279) used by the LwM2M server. */
export { DtlsServer } from './server.js';
export type { DtlsServerOptions, PskResolver } from './endpoint.js';
export type { DtlsSession } from './session.js';
export type { DtlsEvent } from '../events.js';
export {
  TLS_PSK_WITH_AES_128_CBC_SHA256,
  TLS_PSK_WITH_AES_128_CCM_8,
  TLS_PSK_WITH_AES_128_GCM_SHA256,
} from './suites.js';
