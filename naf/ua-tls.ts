/**
 * The NAF's Ua over TLS (TS 33.222):
 *
 * - §5.3 HTTPS: "shared key-based UE authentication with certificate-based NAF authentication". The NAF shows
 *   a certificate; inside the tunnel the UE answers the same GBA HTTP Digest as on plain Ua, with the key for
 *   NAF_Id = fqdn ‖ 01 00 01 yy zz (yy zz the negotiated suite, TS 33.220 Annex H). The listener offers exactly
 *   one suite, TLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xC02B), so the Ua id is fixed: 010001c02b.
 * - §5.4 TLS-PSK: "shared key-based mutual authentication". The server sends the identity hint
 *   `3GPP-bootstrapping`, the UE the B-TID as PSK identity (`3GPP-bootstrapping.<B-TID>` or bare, as on the
 *   LwM2M listener, whose code this reuses: shared/psk-tls/tls), and the key is Ks_NAF for fqdn ‖ 01 00 01 yy zz
 *   of the one PSK suite. The handshake authenticates both sides: requests on the connection need no Digest.
 *   An unknown or expired B-TID fails the handshake (unknown_psk_identity), the UE's signal to bootstrap again.
 */
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createHttpHandler, MAX_HEADER_BYTES, type Router } from '../shared/http/server.js';
import { createPskTlsServer } from '../shared/psk-tls/tls/psk-tls-server.js';
import { btidOfPskIdentity, PSK_IDENTITY_HINT } from '../shared/identifiers.js';
import { OPENSSL_PSK_SUITE_NAMES, tlsSuiteOfUaId, UA_HTTPS_ECDHE_ECDSA_AES128_GCM } from '../shared/ua-ids.js';
import { BtidUnknown } from '../shared/services/errors.js';
import type { Logger } from '../shared/log.js';
import type { Registry } from '../shared/metrics.js';
import type { NafKeyEntry } from '../shared/store/types.js';

/** The one HTTPS suite (OpenSSL name) and its Ua id. */
export const UA_HTTPS_CIPHER = 'ECDHE-ECDSA-AES128-GCM-SHA256';
export const UA_HTTPS_ID = UA_HTTPS_ECDHE_ECDSA_AES128_GCM;

export interface RunningTlsListener {
  port: number;
  url: string;
  close(): Promise<void>;
}

interface Common {
  host: string;
  port: number;
  log: Logger;
  registry?: Registry;
  health?: () => Promise<boolean> | boolean;
}

const urlOf = (scheme: string, host: string, port: number) =>
  `${scheme}://${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;

const gone = (res: ServerResponse) => {
  res.destroy();
};

/** Malformed HTTP inside the tunnel: 400 (431 for oversized headers) and close, as on every listener. */
function badRequest(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Ua over HTTPS (§5.3): the router's handlers run the Digest with Ua id UA_HTTPS_ID. */
export async function startUaHttps(
  o: Common & { cert: string; key: string; router: Router },
): Promise<RunningTlsListener> {
  const server = createHttps(
    {
      cert: readFileSync(o.cert),
      key: readFileSync(o.key),
      ciphers: UA_HTTPS_CIPHER,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      honorCipherOrder: true,
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
      keepAliveTimeout: 65_000,
      requestTimeout: 30_000,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    createHttpHandler({ name: 'ua-https', router: o.router, log: o.log, registry: o.registry, health: o.health }),
  );
  server.on('tlsClientError', (err) =>
    o.log.debug({ event: 'ua-https.handshake-failed', reason: err.message.split('\n')[0] }, 'TLS handshake failed'),
  );
  server.on('clientError', badRequest);
  return listen(server, o, 'https');
}

export interface UaPskOptions extends Common {
  fqdn: string;
  /** Ua id of the one PSK suite, 01 00 01 yy zz. */
  uaSecProtId: string;
  key: (btid: string, fqdn: string, uaSecProtId: string) => Promise<NafKeyEntry>;
  /** The routes for one authenticated connection (its B-TID and key entry). */
  routerFor: (btid: string, entry: NafKeyEntry) => Router;
}

/** Ua over TLS-PSK (§5.4). */
export async function startUaPsk(o: UaPskOptions): Promise<RunningTlsListener> {
  const suite = tlsSuiteOfUaId(o.uaSecProtId);
  const cipher = suite === undefined ? undefined : OPENSSL_PSK_SUITE_NAMES[suite];
  if (!cipher) throw new Error(`naf.uaPsk.uaSecProtId ${o.uaSecProtId} names no TLS 1.2 PSK suite (01 00 01 yy zz)`);
  const handlers = new WeakMap<Socket, (req: IncomingMessage, res: ServerResponse) => void>();
  const http = createHttp(
    { keepAliveTimeout: 65_000, requestTimeout: 30_000, maxHeaderSize: MAX_HEADER_BYTES },
    (req, res) => {
      const h = handlers.get(req.socket);
      if (h) h(req, res);
      else gone(res);
    },
  );
  http.on('clientError', badRequest);
  const server = createPskTlsServer(
    {
      ciphers: cipher,
      pskIdentityHint: PSK_IDENTITY_HINT,
      cacheTtlMs: 0,
      resolvePsk: async (identity) => {
        let btid: string;
        try {
          btid = btidOfPskIdentity(identity);
        } catch {
          return null;
        }
        try {
          const e = await o.key(btid, o.fqdn, o.uaSecProtId);
          return e.expiresAtMs > Date.now() ? Buffer.from(e.keyHex, 'hex') : null;
        } catch (err) {
          if (err instanceof BtidUnknown) return null;
          throw err;
        }
      },
      log: (e) => o.log.debug({ ...e }, 'ua-psk'),
    },
    (socket: TLSSocket, info) => {
      const btid = btidOfPskIdentity(info.pskIdentity);
      void o.key(btid, o.fqdn, o.uaSecProtId).then(
        (entry) => {
          handlers.set(
            socket,
            createHttpHandler({
              name: 'ua-psk',
              router: o.routerFor(btid, entry),
              log: o.log,
              registry: o.registry,
              health: o.health,
            }),
          );
          http.emit('connection', socket);
        },
        () => socket.destroy(),
      );
    },
  );
  const running = await listen(server, o, 'https');
  return {
    ...running,
    close: async () => {
      await running.close();
      http.closeAllConnections();
    },
  };
}

function listen(server: import('node:net').Server, o: Common, scheme: string): Promise<RunningTlsListener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      server.on('error', (err) => o.log.error({ err }, 'Ua TLS listener error'));
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        url: `${urlOf(scheme, o.host, port)}/`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            const s = server as import('node:net').Server & { closeAllConnections?: () => void };
            setTimeout(() => s.closeAllConnections?.(), 2000).unref();
          }),
      });
    });
  });
}
