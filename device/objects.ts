/**
 * The device's LwM2M objects (types from the OMA registry model, shared/lwm2m/object-model.ts): Server /1/0,
 * Device /3/0 and a simulated Temperature sensor /3303/0. Security /0 is never exposed.
 *
 * The Device Management and Information Reporting interfaces it serves (LwM2M Core 1.1 §5.4, §5.5):
 *   Read (GET)            TLV (11542), SenML JSON (110) or, for a single resource, text/plain (0)
 *   Discover (GET, Accept 40)  link format with the attributes set on each path
 *   Write (PUT + payload)  text/plain, TLV or SenML JSON; /1/0/1 Lifetime tells the agent (it sends an Update)
 *   Write-Attributes (PUT, Uri-Query only)  pmin, pmax, gt, lt, st (kept; pmin/pmax pace notifications)
 *   Execute (POST)         /3/0/4 Reboot (the agent registers again)
 *   Observe (GET, Observe 0/1)  notifications when the value changes, no sooner than pmin and at least every
 *                          pmax (Core 1.1 §5.1.2); cancelled by Observe 1, or by RST over UDP (RFC 7641 §3.6)
 */
import {
  Code,
  decodeUint,
  encodeUint,
  getAccept,
  getContentFormat,
  getOption,
  getUriPath,
  getUriQuery,
  OptionNumber,
  setContentFormat,
  type CoapMessage,
  type CoapResponse,
} from '../shared/coap/message.js';
import { ContentFormat } from '../shared/lwm2m/content-formats.js';
import { serializeLinkFormat, type Link } from '../shared/lwm2m/link-format.js';
import { objectDefinition, parseText, resourceDefinition, type TypedValue } from '../shared/lwm2m/object-model.js';
import { decodeSenmlJson, encodeSenmlJson, isObjectLink, type SenmlEntry } from '../shared/lwm2m/senml-json.js';
import {
  decodeTlv,
  encodeTlv,
  readTlvBoolean,
  readTlvFloat,
  readTlvSafeInteger,
  readTlvString,
  tlvBoolean,
  tlvFloat,
  tlvInteger,
  tlvResource,
  tlvResourceInstance,
  tlvString,
  type Tlv,
} from '../shared/lwm2m/tlv.js';

type Value = string | number | boolean;
interface Resource {
  id: number;
  value: () => Value | Value[];
  executable?: (args: string) => void;
  write?: (v: TypedValue) => boolean;
  float?: boolean;
}

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  binding: string; // "T" over TCP, "U" over UDP
  lifetimeSec: () => number;
  /** A Write of /1/0/1: the agent takes the new lifetime and sends an Update (Core 1.1 §6.2.2). */
  onLifetime?: (sec: number) => void;
  /** Execute /3/0/4: the agent restarts its LwM2M session (registers again). */
  onReboot?: () => void;
  /** Simulated temperature in °C (default: 21 °C and a slow random walk). */
  temperature?: () => number;
}

/** Sends a notification under a token; resolves false when the server no longer wants it (RST). */
export type Notifier = (token: Buffer, res: CoapResponse) => Promise<boolean> | boolean;

interface Attributes {
  pmin?: number;
  pmax?: number;
  gt?: number;
  lt?: number;
  st?: number;
}

interface Observation {
  token: Buffer;
  path: number[];
  accept: number | undefined;
  last: string;
  lastSentMs: number;
  seq: number;
}

const MAX_OBSERVATIONS = 32;
const MAX_ATTRIBUTE_PATHS = 128;

export class DeviceObjects {
  readonly #objects: Map<number, Map<number, Resource[]>>;
  readonly #attributes = new Map<string, Attributes>();
  readonly #observations = new Map<string, Observation>(); // by token hex
  #notifier: Notifier | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timeOffsetSec = 0;
  #utcOffset = '+00:00';
  #temperature = 21;

  constructor(info: DeviceInfo) {
    const temperature =
      info.temperature ??
      (() => {
        this.#temperature = Math.round((this.#temperature + (Math.random() - 0.5) * 0.4) * 10) / 10;
        return this.#temperature;
      });
    let lastTemp = 21;
    const device: Resource[] = [
      { id: 0, value: () => info.manufacturer },
      { id: 1, value: () => info.model },
      { id: 2, value: () => info.serial },
      { id: 3, value: () => info.firmware },
      { id: 4, value: () => '', executable: () => info.onReboot?.() }, // Reboot (Mandatory, E)
      { id: 9, value: () => 100 }, // Battery Level
      { id: 11, value: () => [0] }, // Error Code (Mandatory, Multiple): 0 = no error
      {
        // Current Time (RW)
        id: 13,
        value: () => Math.floor(Date.now() / 1000) + this.#timeOffsetSec,
        write: (v) => {
          this.#timeOffsetSec = Number(v.value) - Math.floor(Date.now() / 1000);
          return true;
        },
      },
      {
        id: 14,
        value: () => this.#utcOffset,
        write: (v) => {
          this.#utcOffset = String(v.value);
          return true;
        },
      }, // UTC Offset (RW)
      { id: 16, value: () => info.binding }, // Supported Binding and Modes (Mandatory)
    ];
    const server: Resource[] = [
      { id: 0, value: () => 1 }, // Short Server ID
      {
        // Lifetime (RW)
        id: 1,
        value: () => info.lifetimeSec(),
        write: (v) => {
          const sec = Number(v.value);
          if (!Number.isSafeInteger(sec) || sec < 1) return false;
          info.onLifetime?.(sec);
          return true;
        },
      },
      { id: 6, value: () => false }, // Notification Storing
      { id: 7, value: () => info.binding }, // Binding
    ];
    const sensor: Resource[] = [
      { id: 5700, value: () => (lastTemp = temperature()), float: true }, // Sensor Value
      { id: 5701, value: () => 'Cel' }, // Sensor Units
      { id: 5601, value: () => 15, float: true }, // Min Measured Value
      { id: 5602, value: () => Math.max(30, lastTemp), float: true }, // Max Measured Value
    ];
    this.#objects = new Map([
      [1, new Map([[0, server]])],
      [3, new Map([[0, device]])],
      [3303, new Map([[0, sensor]])],
    ]);
  }

  /** Object instance links for Register: </1/0>,</3/0>,</3303/0>. */
  instances(): Array<{ objectId: number; instanceId: number }> {
    return [...this.#objects].flatMap(([o, insts]) => [...insts.keys()].map((i) => ({ objectId: o, instanceId: i })));
  }

  /** Where notifications go (the agent's CoAP channel). */
  setNotifier(n: Notifier | undefined): void {
    this.#notifier = n;
    if (!n) this.stopObservations();
  }

  get observations(): number {
    return this.#observations.size;
  }

  stopObservations(): void {
    this.#observations.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Serves a server request. */
  handle(req: CoapMessage): CoapResponse {
    const raw = getUriPath(req);
    const path = raw.map((s) => (/^(0|[1-9]\d{0,4})$/.test(s) ? Number(s) : NaN));
    if (path.length < 1 || path.length > 3 || path.some(Number.isNaN)) return diag(Code.NOT_FOUND, 'no such object');
    const instances = this.#objects.get(path[0]!);
    if (!instances) return diag(Code.NOT_FOUND, 'no such object');
    switch (req.code) {
      case Code.GET: {
        if (getAccept(req) === ContentFormat.LINK_FORMAT) return this.#discover(path);
        const observe = getOption(req, OptionNumber.OBSERVE);
        if (observe !== undefined) return this.#observe(req, path, decodeUint(observe));
        return this.#read(path, getAccept(req));
      }
      case Code.PUT:
        if (req.payload.length === 0) return this.#writeAttributes(req, path);
        return this.#write(req, path);
      case Code.POST: {
        if (path.length !== 3) return diag(Code.METHOD_NOT_ALLOWED, 'Create is not supported on these objects');
        const r = instances.get(path[1]!)?.find((x) => x.id === path[2]);
        if (!r) return diag(Code.NOT_FOUND, 'no such resource');
        if (!r.executable) return diag(Code.METHOD_NOT_ALLOWED, 'not executable');
        const args = req.payload.toString('utf8');
        // Answer first; the action (a reboot, say) runs once the 2.04 is on its way.
        setImmediate(() => r.executable!(args));
        return { code: Code.CHANGED };
      }
      case Code.DELETE:
        return diag(Code.METHOD_NOT_ALLOWED, 'these object instances cannot be deleted');
      default:
        return { code: Code.METHOD_NOT_ALLOWED };
    }
  }

  #resources(path: number[]): Resource[] | undefined {
    return path.length >= 2 ? this.#objects.get(path[0]!)?.get(path[1]!) : undefined;
  }

  #read(path: number[], accept: number | undefined): CoapResponse {
    if (path.length < 2) return diag(Code.METHOD_NOT_ALLOWED, 'object-level reads are not supported');
    const resources = this.#resources(path);
    if (!resources) return diag(Code.NOT_FOUND, 'no such instance');
    const base = `/${path[0]}/${path[1]}/`;
    if (path.length === 3) {
      const r = resources.find((x) => x.id === path[2]);
      if (!r) return diag(Code.NOT_FOUND, 'no such resource');
      if (r.executable) return { code: Code.METHOD_NOT_ALLOWED };
      return this.#encode(
        base,
        [r],
        accept ?? (Array.isArray(r.value()) ? ContentFormat.LWM2M_TLV : ContentFormat.TEXT),
        true,
      );
    }
    return this.#encode(
      base,
      resources.filter((r) => !r.executable),
      accept ?? ContentFormat.LWM2M_TLV,
      false,
    );
  }

  /** Discover, Core 1.1 §5.4.2: the object (with ver), its instances and resources, with attributes set. */
  #discover(path: number[]): CoapResponse {
    const [o, i, r] = path;
    const links: Link[] = [];
    const add = (p: string, extra: Record<string, string> = {}): void => {
      const a = this.#attributes.get(p) ?? {};
      const params: Record<string, string | true> = { ...extra };
      for (const [k, v] of Object.entries(a)) if (v !== undefined) params[k] = String(v);
      links.push({ path: p, params });
    };
    const def = objectDefinition(o!);
    if (path.length === 1) add(`/${o}`, def && def.version !== '1.0' ? { ver: def.version } : {});
    for (const [iid, resources] of this.#objects.get(o!)!) {
      if (i !== undefined && iid !== i) continue;
      if (path.length <= 2) add(`/${o}/${iid}`);
      for (const res of resources) {
        if (r !== undefined && res.id !== r) continue;
        const v = res.value();
        add(`/${o}/${iid}/${res.id}`, Array.isArray(v) ? { dim: String(v.length) } : {});
      }
    }
    if (links.length === 0 || (path.length >= 2 && !this.#resources(path))) return diag(Code.NOT_FOUND, 'no such path');
    if (path.length === 3 && links.length === 0) return diag(Code.NOT_FOUND, 'no such resource');
    return setContentFormat(
      { code: Code.CONTENT, options: [], payload: Buffer.from(serializeLinkFormat(links), 'utf8') },
      ContentFormat.LINK_FORMAT,
    );
  }

  #write(req: CoapMessage, path: number[]): CoapResponse {
    if (path.length < 2) return diag(Code.METHOD_NOT_ALLOWED, 'Write addresses an instance or a resource');
    const resources = this.#resources(path);
    if (!resources) return diag(Code.NOT_FOUND, 'no such instance');
    let values: Array<[number, TypedValue]> | undefined;
    try {
      values = decodeWrite(req, path);
    } catch (err) {
      return diag(Code.BAD_REQUEST, err instanceof Error ? err.message : 'bad payload');
    }
    if (values === undefined) return { code: Code.UNSUPPORTED_CONTENT_FORMAT };
    if (values.length === 0) return diag(Code.BAD_REQUEST, 'nothing to write');
    for (const [id] of values) {
      const r = resources.find((x) => x.id === id);
      if (!r) return diag(Code.NOT_FOUND, `no resource ${id}`);
      if (!r.write) return diag(Code.METHOD_NOT_ALLOWED, `resource ${id} is not writable`);
    }
    for (const [id, v] of values)
      if (!resources.find((x) => x.id === id)!.write!(v))
        return diag(Code.BAD_REQUEST, `value not accepted for resource ${id}`);
    return { code: Code.CHANGED };
  }

  /** Write-Attributes, Core 1.1 §5.4.4: each query is name=value, or a bare name that removes it. */
  #writeAttributes(req: CoapMessage, path: number[]): CoapResponse {
    const queries = getUriQuery(req);
    if (queries.length === 0) return diag(Code.BAD_REQUEST, 'a Write needs a payload; Write-Attributes needs a query');
    const key = `/${path.join('/')}`;
    if (path.length >= 2 && !this.#resources(path)) return diag(Code.NOT_FOUND, 'no such path');
    const a: Attributes = { ...(this.#attributes.get(key) ?? {}) };
    for (const q of queries) {
      const [name, value] = q.split('=', 2) as [string, string | undefined];
      if (!['pmin', 'pmax', 'gt', 'lt', 'st'].includes(name))
        return diag(Code.BAD_REQUEST, `unknown attribute ${name}`);
      const k = name as keyof Attributes;
      if (value === undefined) {
        delete a[k];
        continue;
      }
      const n = Number(value);
      if (value === '' || !Number.isFinite(n) || ((k === 'pmin' || k === 'pmax') && (!Number.isInteger(n) || n < 0)))
        return diag(Code.BAD_REQUEST, `bad value for ${name}`);
      a[k] = n;
    }
    if (a.pmin !== undefined && a.pmax !== undefined && a.pmax < a.pmin) return diag(Code.BAD_REQUEST, 'pmax < pmin');
    if (!this.#attributes.has(key) && this.#attributes.size >= MAX_ATTRIBUTE_PATHS)
      return diag(Code.BAD_REQUEST, 'too many attribute sets');
    this.#attributes.set(key, a);
    return { code: Code.CHANGED };
  }

  /** Effective attributes of a path: the most specific level wins (Core 1.1 §5.1.1 inheritance). */
  #attrsOf(path: number[]): Attributes {
    const out: Attributes = {};
    for (let n = 1; n <= path.length; n++)
      Object.assign(out, this.#attributes.get(`/${path.slice(0, n).join('/')}`) ?? {});
    return out;
  }

  #observe(req: CoapMessage, path: number[], flag: number): CoapResponse {
    const key = req.token.toString('hex');
    if (flag === 1) {
      // Deregistration (RFC 7641 §3.6, RFC 8323 §7.2): forget the token, answer like a normal GET.
      this.#observations.delete(key);
      for (const [k, o] of this.#observations) if (o.path.join('/') === path.join('/')) this.#observations.delete(k);
      return this.#read(path, getAccept(req));
    }
    const res = this.#read(path, getAccept(req));
    if (
      res.code !== Code.CONTENT ||
      !this.#notifier ||
      (this.#observations.size >= MAX_OBSERVATIONS && !this.#observations.has(key))
    )
      return res;
    this.#observations.set(key, {
      token: req.token,
      path,
      accept: getAccept(req),
      last: payloadKey(res),
      lastSentMs: Date.now(),
      seq: 2,
    });
    this.#startTimer();
    return { ...res, options: [...(res.options ?? []), { number: OptionNumber.OBSERVE, value: encodeUint(1) }] };
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), 250);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#observations.size === 0) {
      this.stopObservations();
      return;
    }
    const now = Date.now();
    for (const [k, o] of this.#observations) {
      const a = this.#attrsOf(o.path);
      const since = (now - o.lastSentMs) / 1000;
      if (since < (a.pmin ?? 1)) continue;
      const res = this.#read(o.path, o.accept);
      const changed = payloadKey(res) !== o.last;
      if (!changed && (a.pmax === undefined || since < a.pmax)) continue;
      o.last = payloadKey(res);
      o.lastSentMs = now;
      const seq = o.seq++ & 0xffffff;
      const notification: CoapResponse = {
        ...res,
        options: [...(res.options ?? []), { number: OptionNumber.OBSERVE, value: encodeUint(seq) }],
      };
      void Promise.resolve(this.#notifier?.(o.token, notification)).then(
        (wanted) => {
          if (wanted === false) this.#observations.delete(k);
        },
        () => this.#observations.delete(k),
      );
    }
  }

  #encode(base: string, resources: Resource[], cf: number, single: boolean): CoapResponse {
    const enc = (r: Resource, x: Value): Buffer =>
      typeof x === 'number'
        ? r.float
          ? tlvFloat(x)
          : tlvInteger(x)
        : typeof x === 'boolean'
          ? tlvBoolean(x)
          : tlvString(x);
    if (cf === ContentFormat.TEXT) {
      const v = resources[0]!.value();
      if (!single || Array.isArray(v)) return { code: Code.NOT_ACCEPTABLE };
      return setContentFormat(
        { code: Code.CONTENT, options: [], payload: Buffer.from(typeof v === 'boolean' ? (v ? '1' : '0') : String(v)) },
        cf,
      );
    }
    if (cf === ContentFormat.LWM2M_TLV) {
      const tlvs: Tlv[] = resources.map((r) => {
        const v = r.value();
        return Array.isArray(v)
          ? { type: 'multipleResource', id: r.id, instances: v.map((x, i) => tlvResourceInstance(i, enc(r, x))) }
          : tlvResource(r.id, enc(r, v));
      });
      return setContentFormat({ code: Code.CONTENT, options: [], payload: encodeTlv(tlvs) }, cf);
    }
    if (cf === ContentFormat.SENML_JSON) {
      // `base` is the instance path "/o/i/"; each record names its resource (instance) below it.
      const entries: SenmlEntry[] = resources.flatMap((r) => {
        const v = r.value();
        return Array.isArray(v)
          ? v.map((x, i) => ({ path: `${base}${r.id}/${i}`, value: x }))
          : [{ path: `${base}${r.id}`, value: v }];
      });
      return setContentFormat(
        { code: Code.CONTENT, options: [], payload: Buffer.from(encodeSenmlJson(entries, single ? undefined : base)) },
        cf,
      );
    }
    return { code: Code.NOT_ACCEPTABLE };
  }
}

const payloadKey = (res: CoapResponse): string => `${res.code}:${res.payload?.toString('hex') ?? ''}`;

function diag(code: number, reason: string): CoapResponse {
  return { code, payload: Buffer.from(reason, 'utf8') };
}

/** The resource values of a Write, typed by the model; undefined for a Content-Format we do not take. */
function decodeWrite(req: CoapMessage, path: number[]): Array<[number, TypedValue]> | undefined {
  const cf = getContentFormat(req) ?? ContentFormat.TEXT;
  const typeOf = (rid: number) => {
    const def = resourceDefinition(path[0]!, rid);
    if (!def) throw new Error(`no model for resource ${rid}`);
    return def.type;
  };
  if (cf === ContentFormat.TEXT) {
    if (path.length !== 3) throw new Error('text/plain writes one resource');
    const t = parseText(typeOf(path[2]!), req.payload.toString('utf8'));
    if (!t) throw new Error('value does not fit the resource type');
    return [[path[2]!, t]];
  }
  if (cf === ContentFormat.LWM2M_TLV) {
    const out: Array<[number, TypedValue]> = [];
    const take = (t: Tlv): void => {
      if (t.type === 'objectInstance') {
        t.resources.forEach(take);
        return;
      }
      if (t.type !== 'resource') throw new Error('multiple-instance resources are not writable here');
      out.push([t.id, fromTlv(typeOf(t.id), t.value)]);
    };
    decodeTlv(req.payload).forEach(take);
    return out;
  }
  if (cf === ContentFormat.SENML_JSON) {
    return decodeSenmlJson(req.payload).map((e) => {
      const ids = e.path.slice(1).split('/').map(Number);
      if (ids[0] !== path[0] || ids[1] !== path[1] || ids.length !== 3)
        throw new Error(`record ${e.path} is outside ${path.join('/')}`);
      const type = typeOf(ids[2]!);
      const v = e.value;
      if (Buffer.isBuffer(v) || isObjectLink(v)) throw new Error('opaque and objlnk writes are not supported');
      const t =
        typeof v === 'string'
          ? (parseText(type, v) ?? (type === 'string' ? { type: 'string' as const, value: v } : undefined))
          : typeof v === 'boolean'
            ? type === 'boolean'
              ? { type: 'boolean' as const, value: v }
              : undefined
            : parseText(type, String(v));
      if (!t) throw new Error(`value of ${e.path} does not fit the resource type`);
      return [ids[2]!, t] as [number, TypedValue];
    });
  }
  return undefined;
}

function fromTlv(type: string, v: Buffer): TypedValue {
  switch (type) {
    case 'string':
      return { type: 'string', value: readTlvString(v) };
    case 'integer':
    case 'unsigned':
    case 'time':
      return { type, value: readTlvSafeInteger(v) };
    case 'float':
      return { type: 'float', value: readTlvFloat(v) };
    case 'boolean':
      return { type: 'boolean', value: readTlvBoolean(v) };
    default:
      throw new Error(`${type} writes are not supported`);
  }
}
