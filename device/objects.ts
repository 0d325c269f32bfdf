/**
 * The device's LwM2M objects (OMA LwM2M 1.1 registry): Server /1/0 and a minimal Device /3/0, readable as
 * TLV (11542), SenML JSON (110) or, for a single resource, plain text (0). Security /0 is never exposed.
 */
import { Code, getAccept, getUriPath, setContentFormat, type CoapMessage, type CoapResponse } from '../shared/coap/message.js';
import { ContentFormat } from '../shared/lwm2m/content-formats.js';
import { encodeSenmlJson, type SenmlEntry } from '../shared/lwm2m/senml-json.js';
import { encodeTlv, tlvBoolean, tlvInteger, tlvResource, tlvResourceInstance, tlvString, type Tlv } from '../shared/lwm2m/tlv.js';

type Value = string | number | boolean;
interface Resource { id: number; value: () => Value | Value[]; executable?: boolean }

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  binding: string;            // "T" over TCP, "U" over UDP
  lifetimeSec: () => number;
}

export class DeviceObjects {
  readonly #objects: Map<number, Map<number, Resource[]>>;

  constructor(info: DeviceInfo) {
    const device: Resource[] = [
      { id: 0, value: () => info.manufacturer },
      { id: 1, value: () => info.model },
      { id: 2, value: () => info.serial },
      { id: 3, value: () => info.firmware },
      { id: 4, value: () => '', executable: true },                       // Reboot (Mandatory, E)
      { id: 9, value: () => 100 },                                         // Battery Level
      { id: 11, value: () => [0] },                                        // Error Code (Mandatory, Multiple): 0 = no error
      { id: 13, value: () => Math.floor(Date.now() / 1000) },             // Current Time
      { id: 16, value: () => info.binding },                               // Supported Binding and Modes (Mandatory)
    ];
    const server: Resource[] = [
      { id: 0, value: () => 1 },                                           // Short Server ID
      { id: 1, value: () => info.lifetimeSec() },                          // Lifetime
      { id: 6, value: () => false },                                       // Notification Storing
      { id: 7, value: () => info.binding },                                // Binding
    ];
    this.#objects = new Map([[1, new Map([[0, server]])], [3, new Map([[0, device]])]]);
  }

  /** Object instance links for Register: </1/0>,</3/0>. */
  instances(): Array<{ objectId: number; instanceId: number }> {
    return [...this.#objects].flatMap(([o, insts]) => [...insts.keys()].map((i) => ({ objectId: o, instanceId: i })));
  }

  /** Serves a server request (Read only; other operations are not allowed on these objects). */
  handle(req: CoapMessage): CoapResponse {
    const path = getUriPath(req).map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
    if (req.code !== Code.GET) return { code: Code.METHOD_NOT_ALLOWED };
    if (path.length < 2 || path.length > 3 || path.some(Number.isNaN)) return { code: Code.NOT_FOUND };
    const resources = this.#objects.get(path[0]!)?.get(path[1]!);
    if (!resources) return { code: Code.NOT_FOUND };
    const accept = getAccept(req);
    if (path.length === 3) {
      const r = resources.find((x) => x.id === path[2]);
      if (!r) return { code: Code.NOT_FOUND };
      if (r.executable) return { code: Code.METHOD_NOT_ALLOWED };
      return this.#encode(`/${path[0]}/${path[1]}/`, [r], accept ?? (Array.isArray(r.value()) ? ContentFormat.LWM2M_TLV : ContentFormat.TEXT), true);
    }
    return this.#encode(`/${path[0]}/${path[1]}/`, resources.filter((r) => !r.executable), accept ?? ContentFormat.LWM2M_TLV, false);
  }

  #encode(base: string, resources: Resource[], cf: number, single: boolean): CoapResponse {
    if (cf === ContentFormat.TEXT) {
      const v = resources[0]!.value();
      if (!single || Array.isArray(v)) return { code: Code.NOT_ACCEPTABLE };
      return setContentFormat({ code: Code.CONTENT, options: [], payload: Buffer.from(String(v)) }, cf);
    }
    if (cf === ContentFormat.LWM2M_TLV) {
      const tlvs: Tlv[] = resources.map((r) => {
        const v = r.value();
        const enc = (x: Value) => (typeof x === 'number' ? tlvInteger(x) : typeof x === 'boolean' ? tlvBoolean(x) : tlvString(x));
        return Array.isArray(v)
          ? { type: 'multipleResource', id: r.id, instances: v.map((x, i) => tlvResourceInstance(i, enc(x))) }
          : tlvResource(r.id, enc(v));
      });
      return setContentFormat({ code: Code.CONTENT, options: [], payload: encodeTlv(tlvs) }, cf);
    }
    if (cf === ContentFormat.SENML_JSON) {
      // `base` is the instance path "/o/i/"; each record names its resource (instance) below it.
      const entries: SenmlEntry[] = resources.flatMap((r) => {
        const v = r.value();
        return Array.isArray(v) ? v.map((x, i) => ({ path: `${base}${r.id}/${i}`, value: x })) : [{ path: `${base}${r.id}`, value: v }];
      });
      return setContentFormat({ code: Code.CONTENT, options: [], payload: Buffer.from(encodeSenmlJson(entries, single ? undefined : base)) }, cf);
    }
    return { code: Code.NOT_ACCEPTABLE };
  }
}
