/**
 * DTLS 1.2 PSK server on a UDP socket (RFC 6347 over node:dgram). Protocol work is done by DtlsEndpoint;
 * this class owns the socket and the public API.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { DtlsEndpoint, type DtlsServerOptions } from './endpoint.js';

export type { DtlsServerOptions, PskResolver } from './endpoint.js';
export type { DtlsSession } from './session.js';

/** Events: 'session' (DtlsSession) when a handshake completes; 'error' for socket errors and listener exceptions. */
export class DtlsServer extends EventEmitter {
  private readonly endpoint: DtlsEndpoint;
  private socket: Socket | undefined;
  private pendingSends = 0;
  private pendingBytes = 0;
  private readonly maxPendingBytes: number;
  private dropping = false;
  /** Datagrams dropped because the socket was backed up. */
  sendDrops = 0;
  private drained: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: DtlsServerOptions) {
    super();
    this.maxPendingBytes = opts.limits?.maxPendingSendBytes ?? 4 * 1024 * 1024;
    this.endpoint = new DtlsEndpoint(opts, (datagram, peer) => this.send(datagram, peer.address, peer.port));
    this.endpoint.on('session', (s) => this.emit('session', s));
    this.endpoint.on('error', (e) => this.reportError(e));
  }

  listen(port: number, host = '0.0.0.0'): Promise<{ port: number }> {
    if (this.socket) return Promise.reject(new Error('DtlsServer is already listening'));
    if (this.closed) return Promise.reject(new Error('DtlsServer is closed'));
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        this.socket = undefined;
        socket.close();
        reject(e);
      };
      socket.once('error', onError);
      socket.on('message', (msg, rinfo) => this.endpoint.receive(msg, { address: rinfo.address, port: rinfo.port }));
      socket.bind(port, host, () => {
        socket.off('error', onError);
        socket.on('error', (e) => this.reportError(e));
        resolve({ port: socket.address().port });
      });
    });
  }

  /** Sends close_notify to every established peer, waits for the sends, closes the socket. No timers remain. */
  async close(): Promise<void> {
    this.closed = true;
    this.endpoint.close();
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    if (this.pendingSends > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000); // never wait for ever on a stuck send
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  stats(): { halfOpen: number; associations: number } {
    return this.endpoint.stats();
  }

  /** Octets handed to the socket and not yet sent. */
  get pendingSendBytes(): number {
    return this.pendingBytes;
  }

  /** PSK lookups refused by the per-source rate limit so far. */
  get lookupsLimited(): number {
    return this.endpoint.lookupsLimited;
  }

  private send(datagram: Buffer, address: string, port: number): void {
    const socket = this.socket;
    if (!socket) return;
    // UDP has no backpressure of its own: libuv queues what the kernel will not take yet, without a bound.
    if (this.pendingBytes + datagram.length > this.maxPendingBytes) {
      this.sendDrops++;
      if (!this.dropping)
        this.opts.log?.({ event: 'dtls_send_dropped', peer: `${address}:${port}`, pendingBytes: this.pendingBytes });
      this.dropping = true;
      return;
    }
    this.pendingSends++;
    this.pendingBytes += datagram.length;
    socket.send(datagram, port, address, (err) => {
      if (err) this.opts.log?.({ event: 'dtls_send_failed', peer: `${address}:${port}`, error: err.message });
      this.pendingBytes -= datagram.length;
      if (this.pendingBytes === 0) this.dropping = false;
      if (--this.pendingSends === 0 && this.drained) {
        this.drained();
        this.drained = undefined;
      }
    });
  }

  private reportError(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else this.opts.log?.({ event: 'dtls_error', error: e instanceof Error ? e.message : String(e) });
  }
}
