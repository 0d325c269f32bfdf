/**
 * CoAP over TLS-PSK over TCP (RFC 8323) from the device: TLS 1.2 with the one PSK suite the Ua id names,
 * PSK = Ks_NAF, identity "3GPP-bootstrapping." ‖ B-TID, SNI = the server FQDN (contract C3), ALPN "coap".
 */
import tls from 'node:tls';
import { CoapTcpConnection } from '../shared/coap/tcp-connection.js';
import { OPENSSL_PSK_SUITE_NAMES, tlsSuiteOfUaId } from '../shared/ua-ids.js';
import type { CoapChannel, PskConnectOptions } from './coap-channel.js';

export function opensslSuiteForUaId(uaSecProtId: string): string {
  const suite = tlsSuiteOfUaId(uaSecProtId);
  const name = suite === undefined ? undefined : OPENSSL_PSK_SUITE_NAMES[suite];
  if (!name) throw new Error(`Ua id ${uaSecProtId} names no TLS 1.2 PSK suite this device supports`);
  return name;
}

export function connectCoapTls(o: PskConnectOptions): Promise<CoapChannel> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: o.host,
      port: o.port,
      servername: /^[\d.]+$|:/.test(o.serverFqdn) ? undefined : o.serverFqdn,
      ciphers: opensslSuiteForUaId(o.uaSecProtId),
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ALPNProtocols: ['coap'],
      pskCallback: () => ({ psk: o.psk, identity: o.pskIdentity }),
      checkServerIdentity: () => undefined, // PSK authenticates the server; there is no certificate
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS handshake with ${o.host}:${o.port} timed out`));
    }, o.timeoutMs ?? 10_000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`TLS handshake failed: ${err.message}`));
    });
    // CoAP messages are small and request/response: Nagle's algorithm would hold them back (~40 ms each).
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      const conn = new CoapTcpConnection(socket, { requestTimeoutMs: 15_000 });
      let closeCb: ((why: string) => void) | undefined;
      let closed = false;
      conn.onClose((info) => {
        if (!closed) {
          closed = true;
          closeCb?.(`${info.reason}${info.detail ? `: ${info.detail}` : ''}`);
        }
      });
      resolve({
        transport: 'tcp',
        request: (req) => conn.request(req),
        onRequest: (h) => conn.onRequest(h),
        notify: async (token, res) => conn.notify(token, res),
        onClose: (cb) => {
          closeCb = cb;
        },
        close: async () => {
          closed = true;
          conn.close();
        },
      });
    });
  });
}
