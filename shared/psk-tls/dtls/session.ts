/** The application's view of an established association: 'data' per application_data record, 'close' once. */
import { EventEmitter } from 'node:events';
import type { Peer } from './cookie.js';

export interface DtlsSession extends EventEmitter {
  readonly peer: { address: string; port: number };
  readonly pskIdentity: Buffer;
  readonly cipherSuite: number;
  /** SNI host_name from the ClientHello (RFC 6066 §3), if sent: TS 24.109 puts the NAF FQDN there. */
  readonly serverName: string | undefined;
  /** Sends one application_data record (RFC 6347 §4.1). Throws InputError when larger than the record limit. */
  send(plaintext: Buffer): void;
  /** Sends close_notify and forgets the association. */
  close(): void;
  /** The association ends after this long without an authenticated record from the peer (ms > 0). */
  setIdleTimeout(ms: number): void;
}

/** What a session needs from its association. */
export interface SessionBackend {
  readonly peer: Peer;
  readonly pskIdentity: Buffer;
  readonly cipherSuite: number;
  readonly serverName: string | undefined;
  sendApplicationData(plaintext: Buffer): void;
  closeByApplication(): void;
  setIdleTimeout(ms: number): void;
}

export class Session extends EventEmitter implements DtlsSession {
  private closed = false;

  constructor(private readonly backend: SessionBackend) {
    super();
  }

  get peer(): { address: string; port: number } {
    return { ...this.backend.peer };
  }
  get pskIdentity(): Buffer {
    return Buffer.from(this.backend.pskIdentity);
  }
  get cipherSuite(): number {
    return this.backend.cipherSuite;
  }
  get serverName(): string | undefined {
    return this.backend.serverName;
  }

  send(plaintext: Buffer): void {
    this.backend.sendApplicationData(plaintext);
  }
  close(): void {
    this.backend.closeByApplication();
  }
  setIdleTimeout(ms: number): void {
    this.backend.setIdleTimeout(ms);
  }

  /** Called by the association. */
  deliver(plaintext: Buffer): void {
    this.emit('data', plaintext);
  }

  /** Called by the association exactly once when it goes away. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}
