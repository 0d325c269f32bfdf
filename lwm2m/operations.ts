/**
 * Server-initiated Device Management operations (LwM2M Core 1.1 §6.3, docs/standards-notes/lwm2m-coap-dtls.md §3.3) over a registered client's own
 * connection, any transport (Lwm2mPeer): Write (Replace, PUT), Execute (POST), Discover (GET Accept 40),
 * Write-Attributes (PUT with Uri-Query), Create (POST /o), Delete (DELETE /o/i), and the Information Reporting
 * interface's Observe / Cancel Observation (Core 1.1 §6.4; RFC 7641 over UDP, RFC 8323 §7 over TCP).
 *
 * Each operation resolves with the device's answer code whatever it is (the REST layer maps error codes) and
 * rejects with UnknownEndpoint, InputError (bad path or value), CoapExchangeError (timeout, connection gone) or
 * DecodeError (a 2.xx whose content does not parse).
 */
import { randomBytes } from 'node:crypto';
import {
  Code,
  type CoapMessage,
  type CoapOption,
  codeClass,
  codeToString,
  encodeUint,
  getContentFormat,
  getOption,
  OptionNumber,
} from '../shared/coap/message.js';
import { DecodeError, InputError } from '../shared/errors.js';
import { ContentFormat } from '../shared/lwm2m/content-formats.js';
import { parseLinkFormat } from '../shared/lwm2m/link-format.js';
import {
  encodeResourceWrite,
  resourceDefinition,
  tlvValueOf,
  typeValue,
  type TypedValue,
} from '../shared/lwm2m/object-model.js';
import { encodeSenmlJson, type SenmlValue } from '../shared/lwm2m/senml-json.js';
import { encodeTlv, tlvResource } from '../shared/lwm2m/tlv.js';
import type { Logger } from '../shared/log.js';
import { decodeContent, type Lwm2mJson } from './content-decoder.js';
import type { EventHub } from './events.js';
import type { Lwm2mPeer } from './peer.js';
import { defaultAccept, parseLwm2mPath, UnknownEndpoint, type ReadResult } from './reads.js';
import type { ClientRegistry, Registration } from './registry.js';

export type OperationResult = ReadResult;

/** Write-Attributes parameters (Core 1.1 §5.1.2): pmin/pmax integers ≥ 0, gt/lt/st numbers, epmin/epmax. */
export const ATTRIBUTE_NAMES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'] as const;

export interface Observation {
  endpoint: string;
  registrationId: string;
  /** "/3/0/13" */
  path: string;
  ids: number[];
  token: Buffer;
  pskIdentity: string;
  transport: 'tcp' | 'udp';
  /** Notifications seen (the first answer not counted). */
  count: number;
}

export interface DeviceManagerDeps {
  registry: ClientRegistry;
  log: Logger;
  events?: EventHub;
  now?: () => number;
  /** Observations per registration (default 32) and overall (default 10000). */
  maxObservationsPerClient?: number;
  maxObservations?: number;
}

const uriPath = (ids: readonly number[]): CoapOption[] =>
  ids.map((id) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(String(id)) }));
const pathString = (ids: readonly number[]): string => `/${ids.join('/')}`;

export class DeviceManager {
  readonly #byToken = new Map<string, Observation>();
  readonly #now: () => number;

  constructor(private readonly d: DeviceManagerDeps) {
    this.#now = d.now ?? Date.now;
    d.registry.onRemoved((r) => this.#dropObservationsOf(r.registrationId));
  }

  #client(endpoint: string): Registration {
    const r = this.d.registry.byEndpoint(endpoint);
    if (!r) throw new UnknownEndpoint(`no client registered as ${endpoint}`);
    return r;
  }

  async #exchange(
    r: Registration,
    op: string,
    ids: readonly number[],
    req: Parameters<Lwm2mPeer['request']>[0],
  ): Promise<CoapMessage> {
    try {
      const res = await r.peer.request(req);
      this.d.log.debug(
        { event: `lwm2m.${op}`, endpoint: r.endpoint, path: pathString(ids), status: codeToString(res.code) },
        op,
      );
      return res;
    } catch (err) {
      this.d.log.info(
        {
          event: `lwm2m.${op}-failed`,
          endpoint: r.endpoint,
          path: pathString(ids),
          reason: err instanceof Error ? err.message : String(err),
        },
        `${op} failed`,
      );
      throw err;
    }
  }

  /**
   * Write (Replace) of /o/i/r with a value typed by the object model, or of /o/i with {"resId": value}. A single
   * resource goes as text/plain when the client listed no Content-Format at registration, else as SenML JSON if
   * it listed it, else TLV (Core 1.1 §7.4); an instance as SenML JSON or TLV by the same rule.
   */
  async write(endpoint: string, path: string | readonly number[], value: unknown): Promise<OperationResult> {
    const ids = parseLwm2mPath(path);
    if (ids.length < 2 || ids.length > 3)
      throw new InputError('Write addresses an object instance /o/i or a resource /o/i/r');
    const r = this.#client(endpoint);
    const ct = r.contentFormats;
    let cf: number;
    let payload: Buffer;
    if (ids.length === 3) {
      const t = typed(ids[0]!, ids[2]!, value);
      cf =
        ct.length === 0
          ? t.type === 'opaque'
            ? ContentFormat.OPAQUE
            : ContentFormat.TEXT
          : ct.includes(ContentFormat.SENML_JSON)
            ? ContentFormat.SENML_JSON
            : ct.includes(ContentFormat.LWM2M_TLV)
              ? ContentFormat.LWM2M_TLV
              : ContentFormat.TEXT;
      payload = encodeResourceWrite([ids[0]!, ids[1]!, ids[2]!], t, cf);
    } else {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
        throw new InputError('an instance Write takes {"value": {"<resourceId>": value, …}}');
      }
      const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
        if (!/^(0|[1-9]\d{0,4})$/.test(k) || Number(k) > 65534) throw new InputError(`'${k}' is not a resource id`);
        return [Number(k), typed(ids[0]!, Number(k), v)] as const;
      });
      cf = ct.includes(ContentFormat.SENML_JSON) ? ContentFormat.SENML_JSON : ContentFormat.LWM2M_TLV;
      payload =
        cf === ContentFormat.SENML_JSON
          ? Buffer.from(
              encodeSenmlJson(
                entries.map(([id, t]) => ({ path: `${pathString(ids)}/${id}`, value: t.value as SenmlValue })),
                `${pathString(ids)}/`,
              ),
            )
          : encodeTlv([
              {
                type: 'objectInstance',
                id: ids[1]!,
                resources: entries.map(([id, t]) => tlvResource(id, tlvValueOf(t))),
              },
            ]);
    }
    const res = await this.#exchange(r, 'write', ids, {
      code: Code.PUT,
      options: [...uriPath(ids), { number: OptionNumber.CONTENT_FORMAT, value: encodeUint(cf) }],
      payload,
    });
    return plain(res);
  }

  /** Execute /o/i/r with an optional argument list passed as is (Core 1.1 §5.4.5, §6.3.5). */
  async execute(endpoint: string, path: string | readonly number[], args?: string): Promise<OperationResult> {
    const ids = parseLwm2mPath(path);
    if (ids.length !== 3) throw new InputError('Execute addresses a resource /o/i/r');
    if (args !== undefined && !/^[\x20-\x7e]*$/.test(args))
      throw new InputError('Execute arguments are printable ASCII (Core 1.1 §5.4.5)');
    const r = this.#client(endpoint);
    const res = await this.#exchange(r, 'execute', ids, {
      code: Code.POST,
      options: [
        ...uriPath(ids),
        ...(args ? [{ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(ContentFormat.TEXT) }] : []),
      ],
      ...(args ? { payload: Buffer.from(args, 'ascii') } : {}),
    });
    return plain(res);
  }

  /** Discover (Core 1.1 §5.4.2): GET with Accept application/link-format; content is the link list with attributes. */
  async discover(endpoint: string, path: string | readonly number[]): Promise<OperationResult> {
    const ids = parseLwm2mPath(path);
    if (ids.length > 3) throw new InputError('Discover addresses /o, /o/i or /o/i/r');
    const r = this.#client(endpoint);
    const res = await this.#exchange(r, 'discover', ids, {
      code: Code.GET,
      options: [...uriPath(ids), { number: OptionNumber.ACCEPT, value: encodeUint(ContentFormat.LINK_FORMAT) }],
    });
    if (codeClass(res.code) !== 2) return plain(res);
    let links;
    try {
      links = parseLinkFormat(res.payload);
    } catch (err) {
      throw err instanceof DecodeError ? err : new DecodeError('link-format', String(err));
    }
    return {
      ...plain(res),
      content: links.map((l) => ({ url: l.path, attributes: { ...l.params } })) as unknown as Lwm2mJson,
    };
  }

  /** Write-Attributes (Core 1.1 §5.4.4): PUT with the attributes as Uri-Query and no payload. */
  async writeAttributes(
    endpoint: string,
    path: string | readonly number[],
    attrs: Record<string, string>,
  ): Promise<OperationResult> {
    const ids = parseLwm2mPath(path);
    if (ids.length > 3) throw new InputError('Write-Attributes addresses /o, /o/i or /o/i/r');
    const query = checkAttributes(attrs);
    const r = this.#client(endpoint);
    const res = await this.#exchange(r, 'write-attributes', ids, {
      code: Code.PUT,
      options: [...uriPath(ids), ...query.map((q) => ({ number: OptionNumber.URI_QUERY, value: Buffer.from(q) }))],
    });
    return plain(res);
  }

  /** Create (Core 1.1 §5.4.6): POST /o with the new instance's resources (the instance id is optional). */
  async create(endpoint: string, objectId: number, body: unknown): Promise<OperationResult> {
    const ids = parseLwm2mPath([objectId]);
    const b = body as { instanceId?: unknown; resources?: unknown } | null;
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.resources !== 'object' ||
      b.resources === null ||
      Array.isArray(b.resources)
    ) {
      throw new InputError('Create takes {"instanceId"?: n, "resources": {"<resourceId>": value, …}}');
    }
    const inst = b.instanceId;
    if (inst !== undefined && (typeof inst !== 'number' || !Number.isInteger(inst) || inst < 0 || inst > 65534))
      throw new InputError('instanceId is an integer 0..65534');
    const entries = Object.entries(b.resources as Record<string, unknown>).map(([k, v]) => {
      if (!/^(0|[1-9]\d{0,4})$/.test(k) || Number(k) > 65534) throw new InputError(`'${k}' is not a resource id`);
      return [Number(k), typed(objectId, Number(k), v)] as const;
    });
    const r = this.#client(endpoint);
    const resources = entries.map(([id, t]) => tlvResource(id, tlvValueOf(t)));
    const payload = encodeTlv(inst === undefined ? resources : [{ type: 'objectInstance', id: inst, resources }]);
    const res = await this.#exchange(r, 'create', ids, {
      code: Code.POST,
      options: [...uriPath(ids), { number: OptionNumber.CONTENT_FORMAT, value: encodeUint(ContentFormat.LWM2M_TLV) }],
      payload,
    });
    const location = res.options
      .filter((o) => o.number === OptionNumber.LOCATION_PATH)
      .map((o) => o.value.toString('utf8'));
    return { ...plain(res), ...(location.length ? { content: { location: `/${location.join('/')}` } } : {}) };
  }

  /** Delete (Core 1.1 §5.4.7) of /o/i. */
  async delete(endpoint: string, path: string | readonly number[]): Promise<OperationResult> {
    const ids = parseLwm2mPath(path);
    if (ids.length !== 2) throw new InputError('Delete addresses an object instance /o/i');
    const r = this.#client(endpoint);
    return plain(await this.#exchange(r, 'delete', ids, { code: Code.DELETE, options: uriPath(ids) }));
  }

  /**
   * Observe (Core 1.1 §6.4.1): GET with Observe 0 and a fresh token. The answer is the first value; when it
   * carries an Observe option the observation is kept and later responses under the token become `notification`
   * events. A second Observe of the same path replaces the first.
   */
  async observe(endpoint: string, path: string | readonly number[]): Promise<OperationResult> {
    const ids = parseLwm2mPath(path);
    const r = this.#client(endpoint);
    const key = pathString(ids);
    const mine = [...this.#byToken.values()].filter((o) => o.registrationId === r.registrationId);
    if (!mine.some((o) => o.path === key) && mine.length >= (this.d.maxObservationsPerClient ?? 32))
      throw new InputError(`at most ${this.d.maxObservationsPerClient ?? 32} observations per client`);
    if (this.#byToken.size >= (this.d.maxObservations ?? 10_000))
      throw new InputError('the server observes too many resources already');
    const token = randomBytes(8);
    const accept = ids.length >= 3 && r.contentFormats.length === 0 ? ContentFormat.TEXT : defaultAccept(r);
    const res = await this.#exchange(r, 'observe', ids, {
      code: Code.GET,
      token,
      options: [
        { number: OptionNumber.OBSERVE, value: encodeUint(0) },
        ...uriPath(ids),
        { number: OptionNumber.ACCEPT, value: encodeUint(accept) },
      ],
    });
    const result = decoded(res, ids);
    if (codeClass(res.code) === 2 && getOption(res, OptionNumber.OBSERVE) !== undefined) {
      for (const o of mine) if (o.path === key) this.#byToken.delete(o.token.toString('hex'));
      this.#byToken.set(token.toString('hex'), {
        endpoint: r.endpoint,
        registrationId: r.registrationId,
        path: key,
        ids,
        token,
        pskIdentity: r.peer.security.pskIdentity,
        transport: r.peer.transport,
        count: 0,
      });
      this.d.log.info({ event: 'lwm2m.observing', endpoint, path: key }, 'observation established');
    }
    return result;
  }

  /**
   * Cancel Observation (Core 1.1 §6.4.2): an explicit GET with Observe 1 and the observation's token (RFC 7641
   * §3.6; RFC 8323 §7.2 over TCP, where RST does not exist). Undefined when nothing is observed at that path.
   */
  async cancelObservation(endpoint: string, path: string | readonly number[]): Promise<OperationResult | undefined> {
    const ids = parseLwm2mPath(path);
    const r = this.#client(endpoint);
    const o = [...this.#byToken.values()].find(
      (x) => x.registrationId === r.registrationId && x.path === pathString(ids),
    );
    if (!o) return undefined;
    this.#byToken.delete(o.token.toString('hex'));
    const res = await this.#exchange(r, 'cancel-observation', ids, {
      code: Code.GET,
      token: o.token,
      options: [
        { number: OptionNumber.OBSERVE, value: encodeUint(1) },
        ...uriPath(ids),
        { number: OptionNumber.ACCEPT, value: encodeUint(defaultAccept(r)) },
      ],
    });
    return plain(res);
  }

  observations(endpoint?: string): Observation[] {
    return [...this.#byToken.values()].filter((o) => endpoint === undefined || o.endpoint === endpoint);
  }

  /**
   * A response no request waits for, from `peer`: a notification of one of our observations (token and PSK
   * identity match) becomes a `notification` event. Returns false for anything else (UDP answers it with RST).
   * An error code or a response without Observe ends the observation (RFC 7641 §3.2, §4.2).
   */
  notification(peer: Lwm2mPeer, res: CoapMessage): boolean {
    const o = this.#byToken.get(res.token.toString('hex'));
    if (!o || o.pskIdentity !== peer.security.pskIdentity) return false;
    const ended = codeClass(res.code) !== 2 || getOption(res, OptionNumber.OBSERVE) === undefined;
    if (ended) this.#byToken.delete(o.token.toString('hex'));
    let value: Lwm2mJson = null;
    try {
      if (codeClass(res.code) === 2) value = decodeContent(getContentFormat(res), res.payload, o.ids);
    } catch (err) {
      this.d.log.info(
        {
          event: 'lwm2m.notification-undecodable',
          endpoint: o.endpoint,
          path: o.path,
          reason: err instanceof Error ? err.message : String(err),
        },
        'notification content does not parse',
      );
    }
    o.count++;
    this.d.events?.publish({
      name: 'notification',
      endpoint: o.endpoint,
      data: {
        endpoint: o.endpoint,
        path: o.path,
        value,
        status: codeToString(res.code),
        at: new Date(this.#now()).toISOString(),
      },
    });
    return true;
  }

  #dropObservationsOf(registrationId: string): void {
    for (const [k, o] of this.#byToken) if (o.registrationId === registrationId) this.#byToken.delete(k);
  }
}

function typed(objectId: number, resourceId: number, v: unknown): TypedValue {
  const def = resourceDefinition(objectId, resourceId);
  if (!def) throw new InputError(`the object model has no resource /${objectId}/x/${resourceId}`);
  if (def.operations !== '' && !def.operations.includes('W'))
    throw new InputError(
      `${def.name} (/${objectId}/x/${resourceId}) is not writable (${def.operations || 'no operations'})`,
    );
  return typeValue(def, v);
}

const ATTR_INT = /^(0|[1-9]\d{0,9})$/;
const ATTR_NUM = /^-?(0|[1-9]\d{0,15})(\.\d{1,15})?$/;

/** Checks ?pmin=&pmax=&gt=&lt=&st= (empty value = remove, Core 1.1 §5.4.4); at least one, no others. */
export function checkAttributes(attrs: Record<string, string>): string[] {
  const names = Object.keys(attrs);
  if (names.length === 0) throw new InputError(`name at least one attribute of ${ATTRIBUTE_NAMES.join(', ')}`);
  const out: string[] = [];
  for (const n of names) {
    const v = attrs[n]!;
    if (!(ATTRIBUTE_NAMES as readonly string[]).includes(n))
      throw new InputError(`unknown attribute '${n}' (known: ${ATTRIBUTE_NAMES.join(', ')})`);
    const int = n === 'pmin' || n === 'pmax' || n === 'epmin' || n === 'epmax';
    if (v !== '' && !(int ? ATTR_INT : ATTR_NUM).test(v))
      throw new InputError(`${n} must be ${int ? 'a non-negative integer (seconds)' : 'a decimal number'}`);
    if (n === 'st' && v.startsWith('-')) throw new InputError('st must not be negative');
    out.push(v === '' ? n : `${n}=${v}`);
  }
  const pmin = attrs.pmin,
    pmax = attrs.pmax;
  if (pmin && pmax && Number(pmax) < Number(pmin)) throw new InputError('pmax must not be less than pmin');
  return out;
}

function plain(res: CoapMessage): OperationResult {
  const cf = getContentFormat(res);
  return {
    code: res.code,
    status: codeToString(res.code),
    contentFormat: cf ?? null,
    content: codeClass(res.code) === 2 ? null : res.payload.length ? res.payload.toString('utf8').slice(0, 200) : null,
  };
}

function decoded(res: CoapMessage, ids: readonly number[]): OperationResult {
  if (codeClass(res.code) !== 2) return plain(res);
  const cf = getContentFormat(res);
  return {
    code: res.code,
    status: codeToString(res.code),
    contentFormat: cf ?? null,
    content: res.payload.length ? decodeContent(cf, res.payload, ids) : null,
  };
}
