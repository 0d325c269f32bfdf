/**
 * The OMA object model (oma-objects.ts, generated from the LwM2M registry's XML) and what the server and the
 * device agent do with it: type a JSON value for a Write, and encode it as text/plain, TLV or SenML JSON
 * (LwM2M Core 1.1 §7.4.1, §7.4.3, §7.4.4; data types in Appendix C).
 */
import { InputError } from '../errors.js';
import { ContentFormat } from './content-formats.js';
import { OMA_OBJECTS } from './oma-objects.js';
import type { ObjectDefinition, ResourceDefinition, ResourceType } from './object-types.js';
import { encodeSenmlJson, type SenmlValue } from './senml-json.js';
import {
  encodeTlv,
  tlvBoolean,
  tlvFloat,
  tlvInteger,
  tlvObjlnk,
  tlvResource,
  tlvString,
  type ObjectLink,
} from './tlv.js';

export type { ObjectDefinition, ResourceDefinition, ResourceType } from './object-types.js';

const BY_ID = new Map<number, ObjectDefinition>(OMA_OBJECTS.map((o) => [o.id, o]));

export const objectDefinition = (objectId: number): ObjectDefinition | undefined => BY_ID.get(objectId);

export const resourceDefinition = (objectId: number, resourceId: number): ResourceDefinition | undefined =>
  BY_ID.get(objectId)?.resources.find((r) => r.id === resourceId);

export const resourceType = (objectId: number, resourceId: number): ResourceType | undefined =>
  resourceDefinition(objectId, resourceId)?.type;

/** A value typed by the model: what a Write carries. */
export type TypedValue =
  | { type: 'string'; value: string }
  | { type: 'integer' | 'unsigned' | 'time'; value: number }
  | { type: 'float'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'opaque'; value: Buffer }
  | { type: 'objlnk'; value: ObjectLink };

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `{"value": v}` of the REST Write, typed by the resource's definition: Integer/Float numbers, String, Boolean,
 * Time as epoch seconds, Opaque as base64, Objlnk as "obj:inst". Throws InputError with the reason otherwise.
 */
export function typeValue(def: Pick<ResourceDefinition, 'type' | 'name'>, v: unknown): TypedValue {
  const bad = (want: string): never => {
    throw new InputError(`${def.name} is ${def.type}: value must be ${want}`);
  };
  switch (def.type) {
    case 'string':
      return typeof v === 'string' && v.length <= 65_535 ? { type: 'string', value: v } : bad('a string');
    case 'integer':
    case 'time':
      return typeof v === 'number' && Number.isSafeInteger(v) ? { type: def.type, value: v } : bad('an integer number');
    case 'unsigned':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
        ? { type: 'unsigned', value: v }
        : bad('a non-negative integer');
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? { type: 'float', value: v } : bad('a finite number');
    case 'boolean':
      return typeof v === 'boolean' ? { type: 'boolean', value: v } : bad('true or false');
    case 'opaque':
      return typeof v === 'string' && v.length <= 1 << 20 && B64.test(v)
        ? { type: 'opaque', value: Buffer.from(v, 'base64') }
        : bad('base64');
    case 'objlnk': {
      const m = typeof v === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(v) : null;
      if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) return bad('"objectId:instanceId"');
      return { type: 'objlnk', value: { objectId: Number(m![1]), instanceId: Number(m![2]) } };
    }
    default:
      return bad('writable (this resource has no value type)');
  }
}

/** text/plain (Core 1.1 §7.4.1): numbers in decimal, Boolean 0/1, Opaque as base64 is not allowed there. */
export function textOf(t: TypedValue): Buffer {
  switch (t.type) {
    case 'boolean':
      return Buffer.from(t.value ? '1' : '0');
    case 'objlnk':
      return Buffer.from(`${t.value.objectId}:${t.value.instanceId}`);
    case 'opaque':
      return t.value;
    default:
      return Buffer.from(String(t.value), 'utf8');
  }
}

export function tlvValueOf(t: TypedValue): Buffer {
  switch (t.type) {
    case 'string':
      return tlvString(t.value);
    case 'float':
      return tlvFloat(t.value);
    case 'boolean':
      return tlvBoolean(t.value);
    case 'opaque':
      return t.value;
    case 'objlnk':
      return tlvObjlnk(t.value);
    default:
      return tlvInteger(t.value);
  }
}

/** Payload and Content-Format for a Write of one resource /o/i/r in the given format. */
export function encodeResourceWrite(path: readonly [number, number, number], t: TypedValue, cf: number): Buffer {
  if (cf === ContentFormat.TEXT) return textOf(t);
  if (cf === ContentFormat.OPAQUE && t.type === 'opaque') return t.value;
  if (cf === ContentFormat.LWM2M_TLV) return encodeTlv([tlvResource(path[2], tlvValueOf(t))]);
  if (cf === ContentFormat.SENML_JSON) {
    const value: SenmlValue = t.value;
    return Buffer.from(encodeSenmlJson([{ path: `/${path.join('/')}`, value }]), 'utf8');
  }
  throw new InputError(`cannot encode a Write as Content-Format ${cf}`);
}

/** Parses a text/plain value written to /o/i/r on the device side (Core 1.1 §7.4.1). */
export function parseText(type: ResourceType, text: string): TypedValue | undefined {
  switch (type) {
    case 'string':
      return { type, value: text };
    case 'integer':
    case 'unsigned':
    case 'time':
      return /^-?\d{1,16}$/.test(text) ? { type, value: Number(text) } : undefined;
    case 'float':
      return text.trim() !== '' && Number.isFinite(Number(text)) ? { type, value: Number(text) } : undefined;
    case 'boolean':
      return text === '1' ? { type, value: true } : text === '0' ? { type, value: false } : undefined;
    default:
      return undefined;
  }
}
