/**
 * The LwM2M Registration interface, server side (LwM2M Core 1.1 §6.2; docs/standards-notes/lwm2m-coap-dtls.md §3.1, §3.2), independent of the
 * transport: it takes a parsed CoAP request and the peer it came from, and returns the CoAP response.
 *
 *   Register    POST   /rd?ep=&lt=&lwm2m=&b=   → 2.01 Location-Path rd, <id>   (4.00, 4.03, 4.12)
 *   Update      POST   /rd/<id>?lt=&b=         → 2.04                          (4.00, 4.03, 4.04)
 *   De-register DELETE /rd/<id>                → 2.02                          (4.03, 4.04)
 *
 * Identity binding (LwM2M Transport 1.1 §5.2.6, C3): the endpoint name is not authenticated, so Register must
 * name the endpoint the NAF's PSK API gave for the peer's PSK identity (else 4.03). A 1.1+ client may leave `ep`
 * out; it is then filled from that mapping (Core 1.1.1 §6.2.1). Update and De-register are allowed only from the
 * PSK identity, over the transport, that registered (else 4.03; Leshan says 4.00 here, the brief and C3 say 4.03).
 *
 * Ending a registration: De-register; lifetime (a sweep removes it once now > lastUpdate + lt); the peer's
 * connection closing when the transport binds registrations to connections (CoAP over TCP: the server cannot
 * reach the client without it, RFC 8323 §3.4 "a response travels on the same connection"); and the
 * bootstrapping key expiring (the sweep then also closes the peer, so the device must bootstrap again).
 */
import { randomBytes } from 'node:crypto';
import {
  Code,
  type CoapMessage,
  type CoapResponse,
  codeToString,
  getUriPath,
  OptionNumber,
} from '../shared/coap/message.js';
import { DecodeError } from '../shared/errors.js';
import { parseLinkFormat, type Link } from '../shared/lwm2m/link-format.js';
import { parseRegisterRequest, parseUpdateRequest, type RegisterRequest } from '../shared/lwm2m/registration.js';
import type { Logger } from '../shared/log.js';
import type { Lwm2mMetrics } from './metrics.js';
import type { Lwm2mPeer } from './peer.js';
import { ClientRegistry, isExpired, type Registration, type RemovalReason } from './registry.js';

/** The resource directory path; Location-Path is `rd/<id>` (Leshan, docs/standards-notes/lwm2m-coap-dtls.md §3.1). */
const RD = 'rd';
/** Security (0) and OSCORE (21) MUST NOT be listed at Register (Core 1.1 §6.2.1); we drop them rather than refuse. */
const NOT_REPORTED = new Set([0, 21]);

export interface RegistrationHandlerDeps {
  registry: ClientRegistry;
  log: Logger;
  now?: () => number;
  /** Registration ids: short, unguessable, usable as a Uri-Path segment. */
  newRegistrationId?: () => string;
  metrics?: Lwm2mMetrics;
  /** Told of every Register and accepted Update (the event stream, the store). */
  onRegistered?: (r: Registration, kind: 'registration' | 'update') => void;
}

const METRIC_REASON: Record<RemovalReason, string> = {
  deregistered: 'deregistered',
  expired: 'expired',
  replaced: 'replaced',
  'connection-closed': 'connection_closed',
  'psk-expired': 'psk_expired',
};

export class RegistrationHandler {
  readonly registry: ClientRegistry;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #metrics: Lwm2mMetrics | undefined;
  readonly #onRegistered: RegistrationHandlerDeps['onRegistered'];

  constructor(d: RegistrationHandlerDeps) {
    this.registry = d.registry;
    this.#log = d.log;
    this.#now = d.now ?? Date.now;
    this.#newId = d.newRegistrationId ?? (() => randomBytes(6).toString('hex'));
    this.#metrics = d.metrics;
    this.#onRegistered = d.onRegistered;
    this.registry.onRemoved((r, reason) => {
      this.#metrics?.deregistrations.inc({ reason: METRIC_REASON[reason] });
      this.#log.info(
        {
          event: 'lwm2m.deregistered',
          endpoint: r.endpoint,
          registrationId: r.registrationId,
          reason,
          peer: r.peer.id,
        },
        'registration ended',
      );
    });
  }

  /** Answers one request from `peer`. Never throws: a request it cannot serve gets a 4.xx with a diagnostic. */
  handle(peer: Lwm2mPeer, req: CoapMessage): CoapResponse {
    let path: string[];
    try {
      path = getUriPath(req);
    } catch (err) {
      return diag(Code.BAD_REQUEST, err instanceof DecodeError ? err.reason : 'bad Uri-Path');
    }
    if (path[0] !== RD || path.length > 2)
      return diag(Code.NOT_FOUND, 'this server serves only the registration interface (/rd)');
    if (path.length === 1) return req.code === Code.POST ? this.register(peer, req) : { code: Code.METHOD_NOT_ALLOWED };
    if (req.code === Code.POST) return this.update(peer, path[1]!, req);
    if (req.code === Code.DELETE) return this.deregister(peer, path[1]!);
    return { code: Code.METHOD_NOT_ALLOWED };
  }

  /** Register, Core 1.1 §6.2.1. */
  register(peer: Lwm2mPeer, req: CoapMessage): CoapResponse {
    const refuse = (code: number, result: string, reason: string): CoapResponse => {
      this.#metrics?.registrations.inc({ result });
      this.#log.info(
        {
          event: 'lwm2m.register-refused',
          peer: peer.id,
          pskIdentity: peer.security.pskIdentity,
          code: codeToString(code),
          reason,
        },
        'Register refused',
      );
      return diag(code, reason);
    };
    const now = this.#now();
    if (now >= peer.security.expiresAtMs)
      return refuse(Code.FORBIDDEN, 'forbidden', 'the bootstrapping key has expired; bootstrap again');
    const parsed = parseRegisterRequest(req);
    if (!parsed.ok) {
      return refuse(
        parsed.code,
        parsed.code === Code.PRECONDITION_FAILED ? 'unsupported_version' : 'bad_request',
        parsed.reason,
      );
    }
    const { query, links } = parsed.value;
    // The parser refuses a missing ep for 1.0; from 1.1 on it is the identity's endpoint (Core 1.1.1 §6.2.1).
    const endpoint = query.endpoint ?? peer.security.endpoint;
    if (endpoint !== peer.security.endpoint) {
      return refuse(Code.FORBIDDEN, 'forbidden', 'endpoint client name does not belong to this PSK identity');
    }
    const r: Registration = {
      registrationId: this.#freshId(),
      endpoint,
      lwm2mVersion: query.lwm2mVersion,
      lifetimeSec: query.lifetimeSec,
      binding: query.binding,
      queueMode: query.queueMode,
      ...(query.sms !== undefined ? { sms: query.sms } : {}),
      links: reportedLinks(req, parsed.value),
      objects: links.objects.filter((o) => !NOT_REPORTED.has(o.objectId)),
      rootPath: links.rootPath,
      contentFormats: links.contentFormats,
      extra: query.extra,
      registeredAtMs: now,
      lastUpdateMs: now,
      peer,
    };
    if (r.objects.length === 0)
      return refuse(Code.BAD_REQUEST, 'bad_request', 'no object links besides Security/OSCORE');
    const replaced = this.registry.add(r);
    this.#metrics?.registrations.inc({ result: 'created' });
    this.#log.info(
      {
        event: 'lwm2m.registered',
        endpoint,
        registrationId: r.registrationId,
        lwm2mVersion: r.lwm2mVersion,
        lifetimeSec: r.lifetimeSec,
        binding: r.binding,
        peer: peer.id,
        transport: peer.transport,
        address: peer.address,
        pskIdentity: peer.security.pskIdentity,
        ...(replaced ? { replaced: replaced.registrationId } : {}),
        ...(links.forbiddenObjects.length ? { ignoredObjects: links.forbiddenObjects } : {}),
      },
      'registered',
    );
    this.#onRegistered?.(r, 'registration');
    return {
      code: Code.CREATED,
      options: [RD, r.registrationId].map((s) => ({
        number: OptionNumber.LOCATION_PATH,
        value: Buffer.from(s, 'utf8'),
      })),
    };
  }

  /** Update, Core 1.1 §6.2.2: refreshes the lifetime; lt, b, sms and the object list may change. */
  update(peer: Lwm2mPeer, registrationId: string, req: CoapMessage): CoapResponse {
    const r = this.registry.get(registrationId);
    const result = (res: string, code: number, reason?: string): CoapResponse => {
      this.#metrics?.updates.inc({ result: res });
      if (code !== Code.CHANGED)
        this.#log.info(
          { event: 'lwm2m.update-refused', peer: peer.id, registrationId, code: codeToString(code), reason },
          'Update refused',
        );
      return reason === undefined ? { code } : diag(code, reason);
    };
    if (!r) return result('not_found', Code.NOT_FOUND, 'no such registration; register again');
    if (!this.#sameClient(r, peer))
      return result('forbidden', Code.FORBIDDEN, 'registration belongs to another PSK identity');
    if (this.#now() >= peer.security.expiresAtMs)
      return result('forbidden', Code.FORBIDDEN, 'the bootstrapping key has expired; bootstrap again');
    const parsed = parseUpdateRequest(req, r.lwm2mVersion);
    if (!parsed.ok) return result('bad_request', Code.BAD_REQUEST, parsed.reason);
    const { query, links } = parsed.value;
    if (links && links.objects.every((o) => NOT_REPORTED.has(o.objectId))) {
      return result('bad_request', Code.BAD_REQUEST, 'no object links besides Security/OSCORE');
    }
    if (query.lifetimeSec !== undefined) r.lifetimeSec = query.lifetimeSec;
    if (query.binding !== undefined) r.binding = query.binding;
    if (query.queueMode !== undefined) r.queueMode = query.queueMode;
    if (query.sms !== undefined) r.sms = query.sms;
    if (links) {
      r.links = reportedLinks(req, { links });
      r.objects = links.objects.filter((o) => !NOT_REPORTED.has(o.objectId));
      r.rootPath = links.rootPath;
      r.contentFormats = links.contentFormats;
    }
    Object.assign(r.extra, query.extra);
    r.lastUpdateMs = this.#now();
    // The client is reachable where it last spoke from (a new DTLS association, say); over TCP this is the
    // connection that registered or a newer one of the same identity.
    r.peer = peer;
    this.#log.debug(
      { event: 'lwm2m.updated', endpoint: r.endpoint, registrationId, lifetimeSec: r.lifetimeSec, peer: peer.id },
      'updated',
    );
    this.#onRegistered?.(r, 'update');
    return result('updated', Code.CHANGED);
  }

  /** De-register, Core 1.1 §6.2.3. */
  deregister(peer: Lwm2mPeer, registrationId: string): CoapResponse {
    const r = this.registry.get(registrationId);
    if (!r) return diag(Code.NOT_FOUND, 'no such registration');
    if (!this.#sameClient(r, peer)) {
      this.#log.info({ event: 'lwm2m.deregister-refused', peer: peer.id, registrationId }, 'De-register refused');
      return diag(Code.FORBIDDEN, 'registration belongs to another PSK identity');
    }
    this.registry.remove(registrationId, 'deregistered');
    return { code: Code.DELETED };
  }

  /** The transport says this peer's connection is gone: registrations bound to it end (CoAP over TCP). */
  peerClosed(peer: Lwm2mPeer): Registration[] {
    return this.#removeWhere((r) => r.peer === peer, 'connection-closed');
  }

  /** The peer's bootstrapping key has expired: its registrations end now (the transport closes the peer). */
  peerPskExpired(peer: Lwm2mPeer): Registration[] {
    return this.#removeWhere((r) => r.peer === peer, 'psk-expired');
  }

  /**
   * Periodic sweep: removes registrations whose lifetime is over, and those whose key has expired (closing their
   * peer, so the device has to bootstrap again). Returns what it removed.
   */
  sweep(): Registration[] {
    const now = this.#now();
    const keyExpired = this.#removeWhere((r) => now >= r.peer.security.expiresAtMs, 'psk-expired');
    for (const r of keyExpired) if (!r.peer.closed) r.peer.close('psk-expired');
    return [...keyExpired, ...this.#removeWhere((r) => isExpired(r, now), 'expired')];
  }

  #removeWhere(pred: (r: Registration) => boolean, reason: RemovalReason): Registration[] {
    const out: Registration[] = [];
    for (const r of this.registry.list()) {
      if (pred(r) && this.registry.remove(r.registrationId, reason)) out.push(r);
    }
    return out;
  }

  /** Same PSK identity over the same kind of transport (Leshan also refuses another server endpoint URI). */
  #sameClient(r: Registration, peer: Lwm2mPeer): boolean {
    return r.peer.security.pskIdentity === peer.security.pskIdentity && r.peer.transport === peer.transport;
  }

  #freshId(): string {
    for (;;) {
      const id = this.#newId();
      if (!this.registry.get(id)) return id;
    }
  }
}

/** An error response whose payload is a diagnostic message: no Content-Format needed (RFC 7252 §5.5.2). */
/** RFC 7252 §5.5.2: a diagnostic payload is brief; it may quote what the client sent, so it is capped. */
export const MAX_DIAGNOSTIC_BYTES = 128;

function diag(code: number, reason: string): CoapResponse {
  let s = reason.length > MAX_DIAGNOSTIC_BYTES ? `${reason.slice(0, MAX_DIAGNOSTIC_BYTES - 1)}…` : reason;
  while (Buffer.byteLength(s, 'utf8') > MAX_DIAGNOSTIC_BYTES) s = `${s.slice(0, -2)}…`;
  return { code, payload: Buffer.from(s, 'utf8') };
}

/** The links as sent, for the REST view; the payload already parsed once, so this cannot fail. */
function reportedLinks(req: CoapMessage, parsed: Pick<RegisterRequest, 'links'>): Link[] {
  const root = parsed.links.rootPath;
  return parseLinkFormat(req.payload).filter((l) => {
    if (!l.path.startsWith(root)) return true;
    const first = l.path.slice(root.length).split('/')[0];
    return !(first !== undefined && /^\d+$/.test(first) && NOT_REPORTED.has(Number(first)));
  });
}
