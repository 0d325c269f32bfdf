/**
 * How the UE reaches a NAF on Ua: plain HTTP (TS 24.109 clause 5), HTTPS with a server certificate
 * (TS 33.222 §5.3) or TLS with the GBA key as pre-shared key (TS 33.222 §5.4). Each request reports the Ua
 * security protocol id its key must be derived for (TS 33.220 Annex H): 0100000002 over plain HTTP,
 * 01 00 01 yy zz over TLS 1.2 with suite yy zz.
 */
import http from 'node:http';
import https from 'node:https';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { OPENSSL_PSK_SUITE_NAMES, tlsSuiteOfUaId, UA_HTTP_DIGEST, uaIdOfNegotiatedSuite } from '../shared/ua-ids.js';

export interface UaTlsOptions {
  /** PEM CA certificate(s) trusted for the NAF's server certificate (HTTPS). */
  ca?: string | Buffer;
  /** The name the certificate must carry (and SNI): the NAF FQDN; by default the URL's host. */
  servername?: string;
  /** TLS-PSK (§5.4): identity (the B-TID, prefixed or bare), key and the Ua id naming the one suite. */
  psk?: { identity: string; key: Buffer; uaSecProtId: string };
  timeoutMs?: number;
}

export interface UaReply {
  status: number;
  header(name: string): string | undefined;
  body: string;
  /** The Ua id for this connection's key (undefined: a TLS suite TS 33.220 Annex H gives no id for here). */
  uaSecProtId: string | undefined;
}

export class UaTransportError extends Error {
  override readonly name = 'UaTransportError';
}

const isIp = (h: string) => /^[\d.]+$|:/.test(h);

export function uaRequest(
  url: URL,
  o: UaTlsOptions & { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<UaReply> {
  const secure = url.protocol === 'https:';
  const headers = {
    ...(o.headers ?? {}),
    ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}),
  };
  const base = { method: o.method ?? 'GET', headers, agent: false as const, timeout: o.timeoutMs ?? 10_000 };
  let req: http.ClientRequest;
  if (!secure) req = http.request(url, base);
  else if (o.psk) {
    const suite = tlsSuiteOfUaId(o.psk.uaSecProtId);
    const ciphers = suite === undefined ? undefined : OPENSSL_PSK_SUITE_NAMES[suite];
    if (!ciphers) return Promise.reject(new UaTransportError(`Ua id ${o.psk.uaSecProtId} names no TLS 1.2 PSK suite`));
    const psk = o.psk;
    const pskOptions: https.RequestOptions & Pick<ConnectionOptions, 'pskCallback'> = {
      ...base,
      ciphers,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      servername: o.servername ?? (isIp(url.hostname) ? undefined : url.hostname),
      pskCallback: () => ({ psk: psk.key, identity: psk.identity }),
      checkServerIdentity: () => undefined, // the PSK handshake authenticates the NAF; there is no certificate
    };
    req = https.request(url, pskOptions);
  } else {
    // RFC 6125: Node checks the certificate against servername (the NAF FQDN) when given, else the URL's host.
    req = https.request(url, {
      ...base,
      ca: o.ca,
      rejectUnauthorized: true,
      ...(o.servername ? { servername: o.servername } : {}),
    });
  }
  return new Promise((resolve, reject) => {
    req.on('timeout', () =>
      req.destroy(new UaTransportError(`no answer from ${url.origin} within ${o.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', (err) =>
      reject(err instanceof UaTransportError ? err : new UaTransportError(`${url.origin}: ${err.message}`)),
    );
    req.on('response', (res) => {
      const sock = res.socket as TLSSocket;
      const uaSecProtId = secure
        ? uaIdOfNegotiatedSuite(sock.getCipher?.()?.standardName, sock.getProtocol?.())
        : UA_HTTP_DIGEST;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new UaTransportError(err.message)));
      res.on('end', () => {
        const h = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          uaSecProtId,
          header: (n) => {
            const v = h[n.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
        });
      });
    });
    req.end(o.body);
  });
}
