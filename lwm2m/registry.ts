/**
 * The registered LwM2M clients, by registration id and by endpoint client name (unique on the server: LwM2M Core
 * 1.1 §7.3.1, docs/standards-notes/lwm2m-coap-dtls.md §3.6). In memory: a registration lives no longer than the server process, like the
 * connection it is bound to. Only the registration handler changes it.
 */
import type { Link, RegisteredObject } from '../shared/lwm2m/link-format.js';
import type { Lwm2mVersion } from '../shared/lwm2m/registration.js';
import type { Lwm2mPeer } from './peer.js';

export interface Registration {
  readonly registrationId: string;
  readonly endpoint: string;
  readonly lwm2mVersion: Lwm2mVersion;
  lifetimeSec: number;
  binding: string;
  queueMode: boolean;
  sms?: string;
  /** The links as the client sent them (Security /0 and OSCORE /21 left out). */
  links: Link[];
  objects: RegisteredObject[];
  /** Alternate root path, "/" by default. */
  rootPath: string;
  /** From the root link's `ct` (what the client says it can encode); empty when not given. */
  contentFormats: number[];
  /** Register parameters the server does not know, kept as Leshan keeps "additional attributes". */
  extra: Record<string, string | true>;
  readonly registeredAtMs: number;
  lastUpdateMs: number;
  /** Where requests to the client go; an Update from another connection of the same identity moves it there. */
  peer: Lwm2mPeer;
}

export type RemovalReason = 'deregistered' | 'expired' | 'replaced' | 'connection-closed' | 'psk-expired';

/** Registration lifetime is over: now > lastUpdate + lt (Leshan Registration.isAlive, grace 0; docs/standards-notes/lwm2m-coap-dtls.md §3.2). */
export const isExpired = (r: Registration, nowMs: number): boolean => nowMs > r.lastUpdateMs + r.lifetimeSec * 1000;

export const expiresAtMs = (r: Registration): number => r.lastUpdateMs + r.lifetimeSec * 1000;

export class ClientRegistry {
  readonly #byId = new Map<string, Registration>();
  readonly #idByEndpoint = new Map<string, string>();
  readonly #listeners: ((r: Registration, reason: RemovalReason) => void)[] = [];

  get size(): number {
    return this.#byId.size;
  }

  get(registrationId: string): Registration | undefined {
    return this.#byId.get(registrationId);
  }

  byEndpoint(endpoint: string): Registration | undefined {
    const id = this.#idByEndpoint.get(endpoint);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  list(): Registration[] {
    return [...this.#byId.values()];
  }

  /** Adds a registration; an existing one for the same endpoint is removed ('replaced') and returned. */
  add(r: Registration): Registration | undefined {
    if (this.#byId.has(r.registrationId)) throw new Error(`registration id ${r.registrationId} already in use`);
    const old = this.byEndpoint(r.endpoint);
    if (old) this.remove(old.registrationId, 'replaced');
    this.#byId.set(r.registrationId, r);
    this.#idByEndpoint.set(r.endpoint, r.registrationId);
    return old;
  }

  remove(registrationId: string, reason: RemovalReason): Registration | undefined {
    const r = this.#byId.get(registrationId);
    if (!r) return undefined;
    this.#byId.delete(registrationId);
    if (this.#idByEndpoint.get(r.endpoint) === registrationId) this.#idByEndpoint.delete(r.endpoint);
    for (const l of this.#listeners) l(r, reason);
    return r;
  }

  /** Called after every removal, with the reason. */
  onRemoved(listener: (r: Registration, reason: RemovalReason) => void): void {
    this.#listeners.push(listener);
  }

  /** Removes everything without notifying (server shutdown). */
  clear(): void {
    this.#byId.clear();
    this.#idByEndpoint.clear();
  }
}
