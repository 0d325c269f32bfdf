/**
 * Test peers for the LwM2M server: a fake NAF PSK API (the C3 shape, on node:http) and a CoAP over TLS-PSK
 * device built from tls.connect + CoapTcpConnection.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import { Code, type CoapMessage, type RequestHandler } from '../../shared/coap/message.js';
import { CoapTcpConnection } from '../../shared/coap/tcp-connection.js';
import { registrationLinks, type RegisteredObject } from '../../shared/lwm2m/link-format.js';
import { buildRegisterRequest, type RegisterParams } from '../../shared/lwm2m/registration.js';

export interface FakePskEntry {
  psk: Buffer;
  endpoint: string;
  btid: string;
  impi: string;
  /** ISO-8601; a function is evaluated per request. */
  expiresAt: string | (() => string);
}

export interface FakePskApi {
  url: string;
  entries: Map<string, FakePskEntry>;
  /** Every request, in order. */
  requests: Array<{ pskIdentity?: string; uaSecProtId?: string; authorized: boolean }>;
  /** TCP connections accepted (keep-alive means one for many requests). */
  readonly connections: number;
  /** When set, answers this status (with a Problem body) to every authorised request. */
  forceStatus: number | undefined;
  close(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** POST /naf/v1/psk-lookup as the NAF answers it (docs/contracts.md C3): 200 / 400 / 401 / 404. */
export async function startFakePskApi(token: string, entries = new Map<string, FakePskEntry>()): Promise<FakePskApi> {
  const requests: FakePskApi['requests'] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const api: Partial<FakePskApi> = { entries, requests, forceStatus: undefined };
  const problem = (status: number, detail: string) => JSON.stringify({ title: 'error', status, detail });
  const server: Server = createServer((req, res) => {
    const authorized = req.headers.authorization === `Bearer ${token}`;
    if (req.method !== 'POST' || req.url !== '/naf/v1/psk-lookup') {
      res.writeHead(404, { 'Content-Type': 'application/problem+json' }).end(problem(404, 'no such resource'));
      return;
    }
    if (!authorized) {
      requests.push({ authorized });
      req.resume();
      res
        .writeHead(401, { 'Content-Type': 'application/problem+json', 'WWW-Authenticate': 'Bearer' })
        .end(problem(401, 'bad token'));
      return;
    }
    void readJson(req).then((body) => {
      const b = body as { pskIdentity?: unknown; uaSecProtId?: unknown } | undefined;
      const pskIdentity = typeof b?.pskIdentity === 'string' ? b.pskIdentity : undefined;
      const uaSecProtId = typeof b?.uaSecProtId === 'string' ? b.uaSecProtId : undefined;
      requests.push({
        ...(pskIdentity !== undefined ? { pskIdentity } : {}),
        ...(uaSecProtId !== undefined ? { uaSecProtId } : {}),
        authorized,
      });
      if (api.forceStatus !== undefined) {
        res
          .writeHead(api.forceStatus, { 'Content-Type': 'application/problem+json' })
          .end(problem(api.forceStatus, 'forced'));
        return;
      }
      if (pskIdentity === undefined) {
        res.writeHead(400, { 'Content-Type': 'application/problem+json' }).end(problem(400, 'pskIdentity missing'));
        return;
      }
      const e = entries.get(pskIdentity);
      if (!e) {
        res
          .writeHead(404, { 'Content-Type': 'application/problem+json' })
          .end(problem(404, 'unknown or expired B-TID'));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(
        JSON.stringify({
          psk: e.psk.toString('hex'),
          endpoint: e.endpoint,
          btid: e.btid,
          impi: e.impi,
          expiresAt: typeof e.expiresAt === 'function' ? e.expiresAt() : e.expiresAt,
          uaSecProtId: uaSecProtId ?? '010001c0a8',
        }),
      );
    });
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // Object.assign would copy the getter's value once; define it so it stays live.
  Object.defineProperty(api, 'connections', { get: () => connections });
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}/naf/v1/psk-lookup`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  }) as FakePskApi;
}

export interface TestDevice {
  socket: tls.TLSSocket;
  conn: CoapTcpConnection;
  /** Requests the server sent to this device. */
  received: CoapMessage[];
  close(): void;
}

export interface TestDeviceOptions {
  port: number;
  identity: string;
  psk: Buffer;
  /** Default 'PSK-AES128-CCM8'. */
  ciphers?: string;
  /** ALPN ids to offer; none by default (RFC 8323 §8.2 makes ALPN optional on 5684). */
  alpn?: string[];
  /** Answers the server's requests; default 4.04 for everything. */
  handler?: RequestHandler;
  /** Offer TLS 1.3 only (external PSK, RFC 8446 §4.2.11) instead of TLS 1.2. */
  tls13?: boolean;
}

/** A device: TLS 1.2 PSK client (checkServerIdentity off: PSK authenticates the server) + CoAP over TCP. */
export function connectTestDevice(o: TestDeviceOptions): Promise<TestDevice> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: o.port,
      ciphers: o.ciphers ?? 'PSK-AES128-CCM8',
      ...(o.tls13
        ? ({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const)
        : ({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const)),
      pskCallback: () => ({ psk: o.psk, identity: o.identity }),
      checkServerIdentity: () => undefined,
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed before the handshake finished')));
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // the CoAP connection reports it as a close
      const received: CoapMessage[] = [];
      const conn = new CoapTcpConnection(socket, { requestTimeoutMs: 5000 });
      conn.onRequest((req) => {
        received.push(req);
        return o.handler ? o.handler(req) : { code: Code.NOT_FOUND };
      });
      resolve({
        socket,
        conn,
        received,
        close: () => {
          conn.close();
          socket.destroy();
        },
      });
    });
  });
}

export const DEVICE_OBJECTS: RegisteredObject[] = [
  { objectId: 1, instances: [0] },
  { objectId: 3, instances: [0] },
];

/** CON POST /rd?… with a link-format payload (root link with ct when contentFormats is given). */
export function registerRequest(
  p: RegisterParams,
  opts: { objects?: RegisteredObject[]; contentFormats?: number[] } = {},
) {
  const root = opts.contentFormats ? { contentFormats: opts.contentFormats } : undefined;
  return buildRegisterRequest(p, registrationLinks(opts.objects ?? DEVICE_OBJECTS, root));
}
