/**
 * A Duplex placed between the client's TCP socket and the server-side TLSSocket, so that the PSK can come from
 * an asynchronous lookup although Node's `pskCallback` is synchronous (docs/toolchain-notes.md §6.2).
 *
 *   client → raw socket → [sniff records; hold back the record that would make OpenSSL ask for the key] → TLS engine
 *   TLS engine → [as is] → raw socket → client
 *
 * The client's plaintext records are parsed by HandshakeSniffer. When it reports the PSK identity (TLS 1.2:
 * ClientKeyExchange, RFC 4279 §2; TLS 1.3: ClientHello pre_shared_key, RFC 8446 §4.2.11), the bytes from that
 * record on are held until the lookup has answered and the answer is stored here, where the synchronous
 * `pskCallback` finds it (`pskFor`). Only whole records are passed on while sniffing: OpenSSL cannot use part of
 * a record anyway, and it keeps the hold point exact. Once the sniffer sees ChangeCipherSpec (or the caller says
 * the handshake is done), bytes are passed through untouched.
 *
 * Failures (malformed records, too many bytes held, lookup error or timeout) destroy the stream with a
 * PskPrefetchError; the owner closes the TLS socket. Keys are never part of an error.
 */
import { Duplex } from 'node:stream';
import { DecodeError } from '../../errors.js';
import { HandshakeSniffer, type ClientHelloInfo, type SniffEvent } from './handshake-sniffer.js';
import { identityWithinLimit, MAX_LOOKUPS_PER_CONNECTION } from '../lookup-limits.js';
import type { TlsVersion } from './psk-resolver-cache.js';

/** TLS 1.3 supported_versions value, RFC 8446 §4.2.1. */
const TLS13 = 0x0304;

export interface PskPrefetchOptions {
  /** Asynchronous key lookup (normally PskResolverCache.lookup); null = unknown identity. May reject. */
  lookup: (identity: string, tlsVersion: TlsVersion) => Promise<Buffer | null>;
  /** Most client bytes accepted before the PSK is known (octets), and most held back at any time. */
  maxPendingBytes: number;
  /** Whether TLS 1.3 may be negotiated: only then are ClientHello pre_shared_key identities looked up. */
  tls13: boolean;
  /** Most TLS 1.3 identities looked up per ClientHello (the rest get no key). Default 4. */
  maxIdentities?: number;
  /**
   * Most lookups this connection may cause, however many ClientHellos and ClientKeyExchanges it sends; further
   * identities get no key (OpenSSL then fails the handshake). Default MAX_LOOKUPS_PER_CONNECTION (4).
   */
  maxLookups?: number;
  /** Asked before each lookup (the per-source rate limit); false: the identity gets no key. */
  admitLookup?: (identity: string, tlsVersion: TlsVersion) => boolean;
  /** Called once per identity refused a lookup (budget spent or rate limited). */
  onLookupRefused?: (identity: string, tlsVersion: TlsVersion, reason: 'per-connection' | 'rate-limited') => void;
  onClientHello?: (hello: ClientHelloInfo) => void;
  /** Called once per identity when its lookup starts. */
  onLookup?: (identity: string, tlsVersion: TlsVersion) => void;
}

export class PskPrefetchError extends Error {
  override readonly name = 'PskPrefetchError';
  constructor(
    readonly reason: 'malformed' | 'too-many-bytes' | 'lookup-failed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface Gate {
  offset: number;
  open: boolean;
}

export class PskPrefetchDuplex extends Duplex {
  private readonly sniffer = new HandshakeSniffer();
  private sniffing = true;
  /** Bytes received from the client but not yet passed to the TLS engine. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Absolute stream offsets: bytes received so far, and bytes passed on. */
  private received = 0;
  private forwarded = 0;
  private readonly gates: Gate[] = [];
  private readonly keys = new Map<string, Buffer | null>();
  private rawEnded = false;
  private eofPushed = false;
  private lookupsRunning = 0;
  private lookupsStarted = 0;
  /** Identities refused a lookup (budget spent or rate limited). */
  lookupsRefused = 0;
  /** The identity whose key the TLS engine asked for last (for the owner's log and onSecure). */
  usedIdentity: string | undefined;
  /** The last identity the client's records named (for the owner's log when the handshake fails earlier). */
  sniffedIdentity: string | undefined;

  constructor(
    private readonly raw: Duplex,
    private readonly opts: PskPrefetchOptions,
  ) {
    super({ allowHalfOpen: true });
    raw.on('data', (chunk: Buffer) => this.onRawData(chunk));
    raw.on('end', () => {
      this.rawEnded = true;
      this.pump();
    });
    raw.on('close', () => this.destroy());
    // The owner listens to the raw socket's errors; a listener here keeps an error from being unhandled.
    raw.on('error', () => this.destroy());
  }

  /** Lookups this connection is waiting for. */
  get waiting(): number {
    return this.lookupsRunning;
  }

  /**
   * For the synchronous pskCallback: the key prefetched for this identity, or null (unknown, not prefetched,
   * or looked up for another TLS version). Never throws.
   */
  pskFor(identity: string, tlsVersion: string): Buffer | null {
    this.usedIdentity = identity;
    return this.keys.get(`${tlsVersion} ${identity}`) ?? null;
  }

  /** The handshake is over: stop parsing, pass everything through, forget the keys. */
  handshakeDone(): void {
    this.keys.clear();
    if (!this.sniffing) return;
    this.sniffing = false;
    this.sniffer.stop();
    this.gates.length = 0;
    this.pump();
  }

  override _read(): void {
    if (this.raw.isPaused()) this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    // Output of the TLS engine. A socket that is already gone takes nothing more; its 'close' tears down the rest.
    if (this.raw.destroyed || this.raw.writableEnded) return cb();
    if (this.raw.write(chunk)) return cb();
    const done = (): void => {
      this.raw.off('drain', done);
      this.raw.off('close', done);
      cb();
    };
    this.raw.on('drain', done);
    this.raw.on('close', done);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.raw.destroyed) this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.keys.clear();
    this.held = [];
    this.heldBytes = 0;
    this.gates.length = 0;
    this.sniffer.stop();
    this.raw.destroy();
    cb(err);
  }

  private onRawData(chunk: Buffer): void {
    if (this.destroyed) return;
    this.received += chunk.length;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.sniffing && !this.sniffer.done) {
      let events: SniffEvent[];
      try {
        events = this.sniffer.push(chunk);
      } catch (err) {
        const reason = err instanceof DecodeError ? err.message : 'unparsable handshake';
        this.destroy(new PskPrefetchError('malformed', reason, { cause: err }));
        return;
      }
      for (const ev of events) this.onSniffEvent(ev);
      // Until the sniffer is through, everything the client sent counts against the limit.
      if (!this.sniffer.done && this.received > this.opts.maxPendingBytes) {
        this.destroy(
          new PskPrefetchError(
            'too-many-bytes',
            `more than ${this.opts.maxPendingBytes} octets before the PSK identity`,
          ),
        );
        return;
      }
    }
    this.pump();
    // What is still held waits for a lookup or for the rest of a record; once the handshake is over nothing is.
    if (this.heldBytes > this.opts.maxPendingBytes) {
      this.destroy(
        new PskPrefetchError(
          'too-many-bytes',
          `more than ${this.opts.maxPendingBytes} octets held while waiting for the PSK`,
        ),
      );
    }
  }

  private onSniffEvent(ev: SniffEvent): void {
    if (ev.type === 'client-hello') {
      this.opts.onClientHello?.(ev.hello);
      // RFC 8446 §4.2.11: with TLS 1.3 OpenSSL asks for the key while processing the ClientHello.
      if (this.opts.tls13 && ev.hello.supportedVersions.includes(TLS13) && ev.hello.pskIdentities.length > 0) {
        this.hold(ev.recordOffset, ev.hello.pskIdentities.slice(0, this.opts.maxIdentities ?? 4), 'TLSv1.3');
      }
    } else if (ev.type === 'client-key-exchange') {
      this.hold(ev.recordOffset, [ev.pskIdentity], 'TLSv1.2');
    }
  }

  private hold(offset: number, identities: string[], tlsVersion: TlsVersion): void {
    this.sniffedIdentity = identities[0];
    for (const id of identities) {
      // OpenSSL refuses identities over PSK_MAX_IDENTITY_LEN itself, so they are not worth a lookup.
      if (!identityWithinLimit(id)) this.keys.set(`${tlsVersion} ${id}`, null);
    }
    const todo = [...new Set(identities)].filter(
      (id) => !this.keys.has(`${tlsVersion} ${id}`) && this.admit(id, tlsVersion),
    );
    if (todo.length === 0) return;
    const gate: Gate = { offset, open: false };
    this.gates.push(gate);
    this.lookupsRunning++;
    for (const id of todo) this.opts.onLookup?.(id, tlsVersion);
    Promise.all(todo.map((id) => this.opts.lookup(id, tlsVersion))).then(
      (answers) => {
        this.lookupsRunning--;
        if (this.destroyed) return;
        todo.forEach((id, i) => this.keys.set(`${tlsVersion} ${id}`, answers[i] ?? null));
        gate.open = true;
        this.pump();
      },
      (err: unknown) => {
        this.lookupsRunning--;
        if (this.destroyed) return;
        this.destroy(
          new PskPrefetchError('lookup-failed', err instanceof Error ? err.message : 'PSK lookup failed', {
            cause: err,
          }),
        );
      },
    );
  }

  /** Spends one of the connection's lookups, if the budget and the rate limit allow; else the identity gets null. */
  private admit(identity: string, tlsVersion: TlsVersion): boolean {
    let refusal: 'per-connection' | 'rate-limited' | undefined;
    if (this.lookupsStarted >= (this.opts.maxLookups ?? MAX_LOOKUPS_PER_CONNECTION)) refusal = 'per-connection';
    else if (this.opts.admitLookup && !this.opts.admitLookup(identity, tlsVersion)) refusal = 'rate-limited';
    if (refusal === undefined) {
      this.lookupsStarted++;
      return true;
    }
    this.keys.set(`${tlsVersion} ${identity}`, null);
    this.lookupsRefused++;
    this.opts.onLookupRefused?.(identity, tlsVersion, refusal);
    return false;
  }

  /** Passes on what may go: whole parsed records up to the first closed gate; everything once sniffing is over. */
  private pump(): void {
    if (this.destroyed) return;
    while (this.gates.length > 0 && this.gates[0]!.open) this.gates.shift();
    let limit = this.received;
    if (this.gates.length > 0) limit = this.gates[0]!.offset;
    else if (this.sniffing && !this.sniffer.done) limit = this.sniffer.parsedOffset;
    let n = limit - this.forwarded;
    let ok = true;
    while (n > 0 && this.held.length > 0) {
      const head = this.held[0]!;
      const part = head.length <= n ? head : head.subarray(0, n);
      if (part === head) this.held.shift();
      else this.held[0] = head.subarray(n);
      n -= part.length;
      this.forwarded += part.length;
      this.heldBytes -= part.length;
      ok = this.push(part) && ok;
    }
    // Backpressure from the TLS engine: stop reading the client until _read() asks for more.
    if (!ok) this.raw.pause();
    if (this.rawEnded && this.heldBytes === 0 && !this.eofPushed) {
      this.eofPushed = true;
      this.push(null);
    }
  }
}
