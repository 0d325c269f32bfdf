/**
 * The LwM2M TLS listener (docs/contracts.md C3): CoAP over TLS 1.2 (RFC 8323) with exactly one PSK suite,
 * PSK identity `3GPP-bootstrapping.<B-TID>`, identity hint `3GPP-bootstrapping`, key Ks_NAF from an
 * asynchronous lookup (the NAF's PSK API).
 *
 * Node's server pskCallback is synchronous (docs/toolchain-notes.md §6.2), so every connection runs through a
 * PskPrefetchDuplex that learns the identity from the client's plaintext records and holds the record that
 * would make OpenSSL ask for the key until the lookup has answered. The first handshake of a new identity
 * therefore succeeds without a client retry, and the event loop is never blocked.
 *
 * Choices:
 * - One suite, server preference: pskCallback cannot see the suite (docs/standards-notes/lwm2m-coap-dtls.md §2.4), and Ks_NAF
 *   depends on it through the Ua security protocol id `01 00 01 yy zz` (TS 33.222 §5.4).
 * - No session tickets (SSL_OP_NO_TICKET) and no session cache: every connection does a full PSK handshake,
 *   so every connection is checked against the lookup (B-TIDs expire, TS 33.220 §4.5.2).
 * - SNI is read for the log only; ClientHellos without SNI are accepted (C3).
 * - ALPN: when configured, a client offering ALPN must offer one of these (RFC 7301 §3.2 alert otherwise);
 *   a client offering none is accepted (RFC 8323 §8.2 makes ALPN optional on 5684).
 * - Keys never appear in logs: log events carry identities, suites, reasons and error codes only.
 */
import net from 'node:net';
import tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import { InputError } from '../../errors.js';
import type { TlsEvent } from '../events.js';
import { SourceRateLimiter } from '../lookup-limits.js';
import { PskPrefetchDuplex, PskPrefetchError } from './psk-prefetch-duplex.js';
import { PskResolverCache, type PskResolver } from './psk-resolver-cache.js';

export interface PskTlsServerOptions {
  /** Exactly one OpenSSL TLS 1.2 PSK suite name, e.g. 'PSK-AES128-CCM8' (default) or 'PSK-AES128-GCM-SHA256'. */
  ciphers: string;
  /** Sent in ServerKeyExchange (RFC 4279 §2); '3GPP-bootstrapping' for GBA_ME (TS 24.109 Annex F.3). */
  pskIdentityHint: string;
  /**
   * Key for an identity, or null if the identity is unknown (PSK API 404). May reject (treated as a failure
   * of this handshake, not cached). `ctx.tlsVersion` is 'TLSv1.3' only when `tls13` is on and the client uses it
   * (TLS 1.3 has its own Ua id `01 00 00 00 07`, TS 33.222 §5.4.0.2, hence another Ks_NAF).
   */
  resolvePsk: PskResolver;
  /** ALPN protocol ids, e.g. ['coap'] (RFC 8323 §8.2). Clients that offer no ALPN are accepted. */
  alpn?: string[];
  /** Allow TLS 1.3 (external PSK, RFC 8446 §4.2.11). Default false: TLS 1.2 only. */
  tls13?: boolean;
  limits?: {
    /** Most client bytes accepted before the PSK identity is known and the key fetched (default 16384). */
    maxPendingBytes?: number;
    /** Time from TCP accept to a finished handshake (default 10000 ms). */
    handshakeTimeoutMs?: number;
    /** Most simultaneous TCP connections (default 1024); more are closed at once (net.Server.maxConnections). */
    maxConnections?: number;
    /** Time one PSK lookup may take (default 5000 ms); then the connections waiting for it are closed. */
    resolveTimeoutMs?: number;
    /**
     * PSK lookups each source IP address earns per second (token bucket, default 1000). Cached or in-flight answers
     * cost nothing; a refused identity gets no key, so the handshake fails with OpenSSL's unknown_psk_identity.
     */
    lookupRatePerSource?: number;
    /** Lookups a source address may make at once (bucket size, default 1000). */
    lookupBurstPerSource?: number;
  };
  /** How long lookup answers (keys and "unknown") are reused (default 10000 ms; 0 = only in-flight sharing). */
  cacheTtlMs?: number;
  /** Structured log sink (events.ts). Events never contain keys. */
  log?: (event: TlsEvent) => void;
}

export interface PskTlsSecureInfo {
  pskIdentity: string;
  /** OpenSSL name of the negotiated suite, e.g. 'PSK-AES128-CCM8'. */
  cipher: string;
  protocol: string;
  alpnProtocol: string | false;
  /** SNI host_name the client sent, if any (informational: the server always acts for its configured FQDN). */
  serverName?: string;
  /** The client's address and port (the TLSSocket sits on the prefetch Duplex and has no address of its own). */
  remote: string;
}

export type OnSecure = (socket: tls.TLSSocket, info: PskTlsSecureInfo) => void;

const DEFAULTS = {
  maxPendingBytes: 16 * 1024,
  handshakeTimeoutMs: 10_000,
  maxConnections: 1024,
  resolveTimeoutMs: 5_000,
  cacheTtlMs: 10_000,
  lookupRatePerSource: 1000,
  lookupBurstPerSource: 1000,
};
/** Limits that may be fractional (a rate); the others are whole numbers. */
const FRACTIONAL = new Set(['lookupRatePerSource']);

/** One accepted TCP connection: raw socket → prefetch Duplex → TLSSocket. */
interface Connection {
  readonly raw: net.Socket;
  readonly duplex: PskPrefetchDuplex;
  readonly tls: tls.TLSSocket;
  readonly remote: string;
  readonly startedAtMs: number;
  secure: boolean;
  closed: boolean;
  serverName?: string;
  timer?: NodeJS.Timeout;
}

export class PskTlsServer extends net.Server {
  readonly resolver: PskResolverCache;
  readonly #lookupLimiter: SourceRateLimiter;
  // ES private fields: net.Server has internal properties of its own that plain names could shadow.
  readonly #conns = new Set<Connection>();
  readonly #context: tls.SecureContext;
  #closing = false;
  readonly #limits: typeof DEFAULTS;
  readonly #opts: PskTlsServerOptions;
  readonly #onSecure: OnSecure;

  constructor(opts: PskTlsServerOptions, onSecure: OnSecure) {
    super({ noDelay: true });
    this.#opts = opts;
    this.#onSecure = onSecure;
    this.#limits = checkOptions(opts);
    this.#context = createContext(opts);
    this.resolver = new PskResolverCache(opts.resolvePsk, {
      ttlMs: this.#limits.cacheTtlMs,
      timeoutMs: this.#limits.resolveTimeoutMs,
    });
    this.#lookupLimiter = new SourceRateLimiter({
      ratePerSecond: this.#limits.lookupRatePerSource,
      burst: this.#limits.lookupBurstPerSource,
    });
    this.maxConnections = this.#limits.maxConnections;
    this.on('connection', (raw: net.Socket) => this.#accept(raw));
    this.on('listening', () => {
      this.#closing = false;
    });
    this.on('drop', (d?: { remoteAddress?: string; remotePort?: number }) => {
      this.#log({
        event: 'tls.connection-dropped',
        reason: 'max-connections',
        remote: `${d?.remoteAddress}:${d?.remotePort}`,
      });
    });
  }

  /** Snapshot for tests and metrics. */
  stats(): {
    connections: number;
    handshaking: number;
    lookupsInFlight: number;
    cachedAnswers: number;
    resolverCalls: number;
    lookupsLimited: number;
  } {
    let handshaking = 0;
    for (const c of this.#conns) if (!c.secure) handshaking++;
    return {
      connections: this.#conns.size,
      handshaking,
      lookupsInFlight: this.resolver.pending,
      cachedAnswers: this.resolver.size,
      resolverCalls: this.resolver.calls,
      lookupsLimited: this.#lookupLimiter.refused,
    };
  }

  /** Stops listening and closes every connection, handshaking or established. */
  override close(callback?: (err?: Error) => void): this {
    this.#closing = true;
    super.close(callback);
    for (const c of [...this.#conns]) this.#teardown(c);
    return this;
  }

  #log(event: TlsEvent): void {
    if (!this.#opts.log) return;
    try {
      this.#opts.log(event);
    } catch {
      /* a broken log sink must not take the listener down */
    }
  }

  #accept(raw: net.Socket): void {
    if (this.#closing) {
      raw.destroy();
      return;
    }
    const remote = `${raw.remoteAddress}:${raw.remotePort}`;
    const duplex = new PskPrefetchDuplex(raw, {
      lookup: (identity, tlsVersion) => this.resolver.lookup(identity, tlsVersion),
      maxPendingBytes: this.#limits.maxPendingBytes,
      tls13: this.#opts.tls13 === true,
      // A token is spent only when the resolver would really be asked.
      admitLookup: (identity, tlsVersion) =>
        this.resolver.has(identity, tlsVersion) || this.#lookupLimiter.take(raw.remoteAddress ?? ''),
      onLookupRefused: (identity, tlsVersion, reason) => {
        this.#log({ event: 'tls.psk-lookup-limited', remote, pskIdentity: identity.slice(0, 256), tlsVersion, reason });
      },
      onClientHello: (hello) => {
        conn.serverName = hello.serverName;
        this.#log({ event: 'tls.client-hello', remote, serverName: hello.serverName, alpn: hello.alpn });
      },
      onLookup: (identity, tlsVersion) => {
        this.#log({
          event: 'tls.psk-lookup',
          remote,
          pskIdentity: identity,
          tlsVersion,
          cached: this.resolver.peek(identity, tlsVersion) !== undefined,
        });
      },
    });
    const tlsOptions: tls.TLSSocketOptions & Pick<tls.TlsOptions, 'pskCallback' | 'pskIdentityHint'> = {
      isServer: true,
      secureContext: this.#context,
      requestCert: false,
      rejectUnauthorized: false,
      pskIdentityHint: this.#opts.pskIdentityHint,
      // Synchronous by Node's design: the key is already here, fetched while the Duplex held the record back.
      pskCallback: (socket, identity) => duplex.pskFor(identity, socket.getProtocol() ?? 'TLSv1.2'),
      ...(this.#opts.alpn ? { ALPNProtocols: this.#opts.alpn } : {}),
    };
    const tlsSocket = new tls.TLSSocket(duplex, tlsOptions);
    const conn: Connection = {
      raw,
      duplex,
      tls: tlsSocket,
      remote,
      startedAtMs: Date.now(),
      secure: false,
      closed: false,
    };
    this.#conns.add(conn);

    conn.timer = setTimeout(() => this.#fail(conn, 'handshake-timeout'), this.#limits.handshakeTimeoutMs);
    conn.timer.unref();

    raw.on('error', (err: NodeJS.ErrnoException) => this.#fail(conn, 'socket-error', err));
    raw.on('close', () => this.#teardown(conn));
    duplex.on('error', (err: Error) =>
      this.#fail(conn, err instanceof PskPrefetchError ? err.reason : 'stream-error', err),
    );
    tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
      if (conn.secure) this.#log({ event: 'tls.error', remote, code: err.code, reason: shortReason(err) });
      else this.#fail(conn, 'handshake-failed', err);
    });
    tlsSocket.on('close', () => this.#teardown(conn));
    tlsSocket.once('secure', () => this.#secured(conn));
  }

  #secured(conn: Connection): void {
    if (conn.closed) return;
    clearTimeout(conn.timer);
    conn.duplex.handshakeDone();
    const pskIdentity = conn.duplex.usedIdentity;
    const cipher = conn.tls.getCipher()?.name;
    // With tickets off every handshake calls pskCallback; if not, it was not a PSK handshake we vetted.
    if (pskIdentity === undefined || cipher === undefined) {
      this.#fail(conn, 'no-psk-handshake');
      return;
    }
    conn.secure = true;
    const info: PskTlsSecureInfo = {
      pskIdentity,
      cipher,
      protocol: conn.tls.getProtocol() ?? 'unknown',
      alpnProtocol: conn.tls.alpnProtocol ?? false,
      remote: conn.remote,
      ...(conn.serverName !== undefined ? { serverName: conn.serverName } : {}),
    };
    this.#log({ event: 'tls.secure', ...info, handshakeMs: Date.now() - conn.startedAtMs });
    try {
      this.#onSecure(conn.tls, info);
    } catch (err) {
      this.#log({
        event: 'tls.on-secure-threw',
        remote: conn.remote,
        error: err instanceof Error ? err.name : typeof err,
      });
      this.#teardown(conn);
    }
  }

  /** A failure: log once (the same failure often surfaces on two or three streams), then close everything. */
  #fail(conn: Connection, reason: string, err?: Error & { code?: string }): void {
    if (conn.closed) return;
    const identity = conn.duplex.usedIdentity ?? conn.duplex.sniffedIdentity;
    this.#log({
      event: conn.secure ? 'tls.connection-failed' : 'tls.handshake-failed',
      remote: conn.remote,
      reason,
      ...(err?.code ? { code: err.code } : {}),
      ...(err ? { detail: shortReason(err) } : {}),
      ...(identity !== undefined ? { pskIdentity: identity } : {}),
    });
    this.#teardown(conn);
  }

  #teardown(conn: Connection): void {
    if (!conn.closed) {
      conn.closed = true;
      clearTimeout(conn.timer);
      this.#conns.delete(conn);
    }
    // Idempotent; the TLSSocket first, so an alert it produced is handed to the raw socket before that closes.
    conn.tls.destroy();
    conn.duplex.destroy();
    conn.raw.destroy();
  }
}

/** Creates the listener; call `listen()` on the result. The server needs no certificate. */
export function createPskTlsServer(opts: PskTlsServerOptions, onSecure: OnSecure): PskTlsServer {
  return new PskTlsServer(opts, onSecure);
}

function checkOptions(opts: PskTlsServerOptions): typeof DEFAULTS {
  // A single suite name: letters, digits and dashes, no list separators or OpenSSL keywords (!, +, @, :).
  if (!/^[A-Z0-9]+(?:-[A-Z0-9]+)*$/.test(opts.ciphers) || !opts.ciphers.includes('PSK')) {
    throw new InputError(
      `ciphers: expected exactly one OpenSSL PSK suite name such as PSK-AES128-CCM8, got ${JSON.stringify(opts.ciphers)}`,
    );
  }
  if (typeof opts.pskIdentityHint !== 'string' || Buffer.byteLength(opts.pskIdentityHint) > 128) {
    throw new InputError('pskIdentityHint: expected a string of at most 128 octets');
  }
  if (typeof opts.resolvePsk !== 'function') throw new InputError('resolvePsk: expected a function');
  if (
    opts.alpn !== undefined &&
    (opts.alpn.length === 0 || opts.alpn.some((p) => p.length === 0 || Buffer.byteLength(p) > 255))
  ) {
    throw new InputError('alpn: expected a non-empty list of protocol ids of 1..255 octets (RFC 7301 §3.1)');
  }
  const limits = {
    ...DEFAULTS,
    ...definedOnly(opts.limits ?? {}),
    ...(opts.cacheTtlMs !== undefined ? { cacheTtlMs: opts.cacheTtlMs } : {}),
  };
  for (const [name, value] of Object.entries(limits)) {
    if (FRACTIONAL.has(name)) {
      if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
        throw new InputError(`${name}: expected a number > 0, got ${value}`);
      continue;
    }
    const min = name === 'cacheTtlMs' ? 0 : 1;
    if (!Number.isInteger(value) || value < min)
      throw new InputError(`${name}: expected an integer >= ${min}, got ${value}`);
  }
  return limits;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function createContext(opts: PskTlsServerOptions): tls.SecureContext {
  try {
    return tls.createSecureContext({
      ciphers: opts.ciphers,
      minVersion: 'TLSv1.2',
      maxVersion: opts.tls13 ? 'TLSv1.3' : 'TLSv1.2',
      // honorCipherOrder, and no session tickets: every connection goes through the PSK lookup.
      secureOptions: cryptoConstants.SSL_OP_CIPHER_SERVER_PREFERENCE | cryptoConstants.SSL_OP_NO_TICKET,
    });
  } catch (err) {
    throw new InputError(`ciphers: OpenSSL accepts no suite named ${JSON.stringify(opts.ciphers)}`, { cause: err });
  }
}

/** OpenSSL's reason ("psk identity not found") or the first line of the message, without file paths. */
function shortReason(err: Error & { reason?: unknown }): string {
  if (typeof err.reason === 'string') return err.reason;
  return err.message.split('\n')[0]!.slice(0, 200);
}
