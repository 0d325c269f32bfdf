/**
 * Registrations kept in the store (shared/store/lwm2m-registrations.ts), so that a restarted LwM2M server lists
 * its clients again and accepts their Update without a new Register (issue 14; Core 1.1 §6.2.2: an Update names
 * its registration by location, whatever connection it arrives on).
 *
 * A restored registration has no connection: its peer is a DetachedPeer that refuses requests until the client
 * speaks again; the first accepted Update from the same PSK identity over the same transport moves it to the
 * live peer (registration-handler.ts).
 */
import { CoapExchangeError, type CoapMessage } from '../shared/coap/message.js';
import type { Logger } from '../shared/log.js';
import type { Lwm2mVersion } from '../shared/lwm2m/registration.js';
import type { Lwm2mRegistrationStore, StoredRegistration } from '../shared/store/lwm2m-registrations.js';
import type { Lwm2mPeer, PeerSecurity, PeerTransport } from './peer.js';
import { expiresAtMs, isExpired, type ClientRegistry, type Registration } from './registry.js';

/** A peer the server cannot reach: the client has not spoken since the server restarted. */
export class DetachedPeer implements Lwm2mPeer {
  readonly closed = true;
  constructor(
    readonly id: string,
    readonly transport: PeerTransport,
    readonly address: string,
    readonly security: PeerSecurity,
  ) {}
  request(): Promise<CoapMessage> {
    return Promise.reject(new CoapExchangeError('closed', 'the client has not connected since the server restarted'));
  }
  close(): void {}
}

export function toStored(r: Registration): StoredRegistration {
  const s = r.peer.security;
  return {
    registrationId: r.registrationId,
    endpoint: r.endpoint,
    location: ['rd', r.registrationId],
    lwm2mVersion: r.lwm2mVersion,
    lifetimeSec: r.lifetimeSec,
    binding: r.binding,
    queueMode: r.queueMode,
    ...(r.sms !== undefined ? { sms: r.sms } : {}),
    links: r.links.map((l) => ({ path: l.path, params: { ...l.params } })),
    objects: r.objects.map((o) => ({
      objectId: o.objectId,
      ...(o.version !== undefined ? { version: o.version } : {}),
      instances: [...o.instances],
    })),
    rootPath: r.rootPath,
    contentFormats: [...r.contentFormats],
    extra: { ...r.extra },
    registeredAtMs: r.registeredAtMs,
    lastUpdateMs: r.lastUpdateMs,
    transport: r.peer.transport,
    address: r.peer.address,
    pskIdentity: s.pskIdentity,
    btid: s.btid,
    impi: s.impi,
    identityEndpoint: s.endpoint,
    uaSecProtId: s.uaSecProtId,
    pskExpiresAtMs: s.expiresAtMs,
  };
}

export function fromStored(s: StoredRegistration): Registration {
  const security: PeerSecurity = {
    pskIdentity: s.pskIdentity,
    endpoint: s.identityEndpoint,
    btid: s.btid,
    impi: s.impi,
    expiresAtMs: s.pskExpiresAtMs,
    uaSecProtId: s.uaSecProtId,
  };
  return {
    registrationId: s.registrationId,
    endpoint: s.endpoint,
    lwm2mVersion: s.lwm2mVersion as Lwm2mVersion,
    lifetimeSec: s.lifetimeSec,
    binding: s.binding,
    queueMode: s.queueMode,
    ...(s.sms !== undefined ? { sms: s.sms } : {}),
    links: s.links,
    objects: s.objects,
    rootPath: s.rootPath,
    contentFormats: s.contentFormats,
    extra: s.extra,
    registeredAtMs: s.registeredAtMs,
    lastUpdateMs: s.lastUpdateMs,
    peer: new DetachedPeer(`restored-${s.registrationId}`, s.transport, s.address, security),
  };
}

/** Mirrors the registry into the store: writes on Register/Update, deletes on every end but a shutdown. */
export class RegistrationPersistence {
  #shuttingDown = false;
  #writes = Promise.resolve();

  constructor(
    private readonly store: Lwm2mRegistrationStore,
    private readonly log: Logger,
  ) {}

  /** Loads the live stored registrations into the registry; returns how many. */
  async restore(registry: ClientRegistry, now: number): Promise<number> {
    let n = 0;
    for (const s of await this.store.list()) {
      const r = fromStored(s);
      if (isExpired(r, now) || now >= s.pskExpiresAtMs || registry.get(r.registrationId)) continue;
      registry.add(r);
      n++;
    }
    return n;
  }

  saved(r: Registration): void {
    const s = toStored(r);
    const until = Math.min(expiresAtMs(r), s.pskExpiresAtMs);
    this.#queue(() => this.store.put(s, until), r.registrationId, 'put');
  }

  removed(r: Registration): void {
    if (this.#shuttingDown) return; // a graceful restart keeps them; lifetime still bounds them
    this.#queue(() => this.store.delete(r.registrationId), r.registrationId, 'delete');
  }

  /** From now on, connections closing are the server's doing: keep their registrations. */
  shutdown(): Promise<void> {
    this.#shuttingDown = true;
    return this.#writes;
  }

  /** Store writes in order (an Update after its Register), never blocking the CoAP answer. */
  #queue(op: () => Promise<unknown>, registrationId: string, what: string): void {
    this.#writes = this.#writes.then(op).then(
      () => undefined,
      (err: unknown) => {
        this.log.warn(
          {
            event: 'lwm2m.store-failed',
            registrationId,
            op: what,
            err: err instanceof Error ? err.message : String(err),
          },
          'registration store write failed',
        );
      },
    );
  }
}
