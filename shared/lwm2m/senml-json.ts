/**
 * SenML JSON (RFC 8428), Content-Format 110, as LwM2M 1.1 uses it for resource values (Core 1.1 §7.4.4;
 * docs/standards-notes/lwm2m-coap-dtls.md §3.4):
 *
 *   [{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"}]
 *
 * Value keys: v number, vs string, vb boolean, vd opaque (base64url, no padding, RFC 8428 §4.3 / RFC 4648 §5),
 * vlo Objlnk "oid:iid" (LwM2M). The resolved name bn‖n must be a resource or resource-instance path.
 */
import { DecodeError, InputError } from '../errors.js';
import type { ObjectLink } from './tlv.js';

export type SenmlValue = number | string | boolean | Buffer | ObjectLink;

export interface SenmlEntry {
  /** Resource or resource-instance path, e.g. "/3/0/0" or "/3/0/11/0". */
  path: string;
  value: SenmlValue;
  /** Resolved time bt + t (RFC 8428 §4.5.3), when given. */
  timeSec?: number;
}

const FORMAT = 'SenML-JSON';
const RESOURCE_PATH = /^\/(0|[1-9][0-9]{0,4})(\/(0|[1-9][0-9]{0,4})){2,3}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const OBJLNK = /^(0|[1-9][0-9]{0,4}):(0|[1-9][0-9]{0,4})$/;

/** True for an Objlnk value (as opposed to the other SenmlValue kinds). */
export const isObjectLink = (v: SenmlValue): v is ObjectLink => typeof v === 'object' && !Buffer.isBuffer(v);

/**
 * With `basePath`, the first record carries "bn" and every "n" is the path relative to it (each path must start
 * with it); without, every record carries its full path in "n".
 */
export function encodeSenmlJson(entries: readonly SenmlEntry[], basePath?: string): string {
  const records = entries.map((e, i) => {
    if (!RESOURCE_PATH.test(e.path) || !validIds(e.path)) throw new InputError(`'${e.path}' is not a resource path`);
    if (basePath !== undefined && !e.path.startsWith(basePath))
      throw new InputError(`'${e.path}' is not under '${basePath}'`);
    const r: Record<string, unknown> = {};
    if (basePath !== undefined && i === 0) r.bn = basePath;
    r.n = basePath === undefined ? e.path : e.path.slice(basePath.length);
    const [key, value] = valueField(e.value);
    r[key] = value;
    if (e.timeSec !== undefined) r.t = e.timeSec;
    return r;
  });
  return JSON.stringify(records);
}

function valueField(v: SenmlValue): [string, unknown] {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError('SenML numbers must be finite');
    return ['v', v];
  }
  if (typeof v === 'string') return ['vs', v];
  if (typeof v === 'boolean') return ['vb', v];
  if (Buffer.isBuffer(v)) return ['vd', v.toString('base64url')];
  if (
    !Number.isInteger(v.objectId) ||
    !Number.isInteger(v.instanceId) ||
    v.objectId < 0 ||
    v.objectId > 0xffff ||
    v.instanceId < 0 ||
    v.instanceId > 0xffff
  )
    throw new InputError('Objlnk ids must be 0..65535');
  return ['vlo', `${v.objectId}:${v.instanceId}`];
}

const VALUE_KEYS = ['v', 'vs', 'vb', 'vd', 'vlo'] as const;

/**
 * Decodes a SenML JSON pack into resolved entries (RFC 8428 §4.6: bn and bt carry over to later records until
 * replaced; bv is added to v). Labels ending in "_" must be understood (§4.4), so an unknown one is an error;
 * other unknown labels are ignored. Each record needs exactly one value.
 */
export function decodeSenmlJson(input: string | Buffer): SenmlEntry[] {
  let pack: unknown;
  try {
    pack = JSON.parse(typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input));
  } catch {
    throw new DecodeError(FORMAT, 'not valid UTF-8 JSON');
  }
  if (!Array.isArray(pack)) throw new DecodeError(FORMAT, 'a SenML pack is a JSON array');
  let bn = '';
  let bt: number | undefined;
  let bv = 0;
  return pack.map((rec: unknown, i): SenmlEntry => {
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec))
      throw new DecodeError(FORMAT, `record ${i} is not an object`);
    const r = rec as Record<string, unknown>;
    const mustUnderstand = Object.keys(r).find((k) => k.endsWith('_'));
    if (mustUnderstand !== undefined)
      throw new DecodeError(FORMAT, `record ${i}: unsupported label '${mustUnderstand}'`);
    if (r.bn !== undefined) bn = str(r.bn, 'bn', i);
    if (r.bt !== undefined) bt = num(r.bt, 'bt', i);
    if (r.bv !== undefined) bv = num(r.bv, 'bv', i);
    const path = bn + (r.n === undefined ? '' : str(r.n, 'n', i));
    if (!RESOURCE_PATH.test(path) || !validIds(path))
      throw new DecodeError(FORMAT, `record ${i}: '${path}' is not a resource path`);
    const keys = VALUE_KEYS.filter((k) => r[k] !== undefined);
    if (keys.length !== 1) throw new DecodeError(FORMAT, `record ${i} has ${keys.length} values (needs exactly one)`);
    const entry: SenmlEntry = { path, value: readValue(keys[0]!, r[keys[0]!], bv, i) };
    if (r.t !== undefined || bt !== undefined) entry.timeSec = (bt ?? 0) + (r.t === undefined ? 0 : num(r.t, 't', i));
    return entry;
  });
}

function readValue(key: (typeof VALUE_KEYS)[number], v: unknown, bv: number, i: number): SenmlValue {
  switch (key) {
    case 'v':
      return bv + num(v, 'v', i);
    case 'vs':
      return str(v, 'vs', i);
    case 'vb':
      if (typeof v !== 'boolean') throw new DecodeError(FORMAT, `record ${i}: vb is not a boolean`);
      return v;
    case 'vd': {
      const s = str(v, 'vd', i);
      if (!BASE64URL.test(s) || s.length % 4 === 1)
        throw new DecodeError(FORMAT, `record ${i}: vd is not unpadded base64url`);
      return Buffer.from(s, 'base64url');
    }
    case 'vlo': {
      const m = OBJLNK.exec(str(v, 'vlo', i));
      if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff)
        throw new DecodeError(FORMAT, `record ${i}: vlo is not "oid:iid"`);
      return { objectId: Number(m[1]), instanceId: Number(m[2]) };
    }
  }
}

function str(v: unknown, label: string, i: number): string {
  if (typeof v !== 'string') throw new DecodeError(FORMAT, `record ${i}: ${label} is not a string`);
  return v;
}

function num(v: unknown, label: string, i: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new DecodeError(FORMAT, `record ${i}: ${label} is not a number`);
  return v;
}

const validIds = (path: string): boolean =>
  path
    .slice(1)
    .split('/')
    .every((s) => Number(s) <= 0xffff);
