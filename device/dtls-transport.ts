/**
 * CoAP over DTLS-PSK (RFC 7252 §9, RFC 6347) from the device, with node-dtls-client 2.0.3 as the DTLS client:
 * DTLS 1.2 offering exactly the PSK suite the Ua id names, PSK = Ks_NAF, identity "3GPP-bootstrapping." ‖ B-TID.
 * One CoAP message per DTLS record; CON/ACK reliability and deduplication come from CoapUdpEndpoint.
 */
import { dtls } from 'node-dtls-client';
import { CoapUdpEndpoint } from '../shared/coap/udp-endpoint.js';
import { tlsSuiteOfUaId } from '../shared/ua-ids.js';
import type { CoapChannel, PskConnectOptions } from './coap-channel.js';

const SUITE_NAMES: Readonly<
  Record<number, 'TLS_PSK_WITH_AES_128_CCM_8' | 'TLS_PSK_WITH_AES_128_GCM_SHA256' | 'TLS_PSK_WITH_AES_128_CBC_SHA256'>
> = {
  0xc0a8: 'TLS_PSK_WITH_AES_128_CCM_8',
  0x00a8: 'TLS_PSK_WITH_AES_128_GCM_SHA256',
  0x00ae: 'TLS_PSK_WITH_AES_128_CBC_SHA256',
};

export function connectCoapDtls(o: PskConnectOptions): Promise<CoapChannel> {
  const suite = tlsSuiteOfUaId(o.uaSecProtId);
  const name = suite === undefined ? undefined : SUITE_NAMES[suite];
  if (!name) return Promise.reject(new Error(`Ua id ${o.uaSecProtId} names no DTLS PSK suite this device supports`));
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = dtls.createSocket({
      type: o.host.includes(':') ? 'udp6' : 'udp4',
      address: o.host,
      port: o.port,
      psk: { [o.pskIdentity]: o.psk },
      timeout: o.timeoutMs ?? 10_000,
      ciphers: [name],
    });
    let closeCb: ((why: string) => void) | undefined;
    let closed = false;
    const endpoint = new CoapUdpEndpoint({ send: (d) => socket.send(d), onError: () => undefined });
    const finish = (why: string) => {
      if (closed) return;
      closed = true;
      endpoint.close();
      closeCb?.(why);
    };
    socket.on('message', (m: Buffer) => endpoint.receive(m));
    socket.on('error', (err: Error) => {
      if (!settled) {
        settled = true;
        reject(new Error(`DTLS handshake failed: ${err.message}`));
        return;
      }
      finish(`error: ${err.message}`);
    });
    socket.on('close', () => finish('closed'));
    socket.on('connected', () => {
      settled = true;
      resolve({
        transport: 'udp',
        request: (req) => endpoint.request({ type: 'CON', ...req }),
        onRequest: (h) => endpoint.onRequest(h),
        notify: async (token, res) => !closed && (await endpoint.notify(token, res, 'CON')) === 'ack',
        onClose: (cb) => {
          closeCb = cb;
        },
        close: async () => {
          closed = true;
          endpoint.close();
          await new Promise<void>((r) => {
            try {
              socket.close(() => r());
            } catch {
              r();
            }
          });
        },
      });
    });
  });
}
