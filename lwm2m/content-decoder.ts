/**
 * A Read answer (LwM2M Core 1.1 §6.3.1, §7.4; docs/standards-notes/lwm2m-coap-dtls.md §3.3) as plain JSON, relative to the path that was read:
 *
 *   /3/0/0  → "Open Mobile Alliance"                        a resource: its value
 *   /3/0/11 → {"0": 0}                                      a multiple resource: instance id → value
 *   /3/0    → {"0": "Open Mobile Alliance", "11": {"0": 0}} an object instance: resource id → value
 *   /3      → {"0": {"0": "Open Mobile Alliance", …}}       an object: instance id → resources
 *
 * Values: String → string; Integer, Unsigned, Float, Time (seconds since 1970) → number (a decimal string when beyond
 * 2^53); Boolean → boolean; Objlnk → {"objectId", "instanceId"}; Opaque → {"base64"}. TLV has no types, so a TLV
 * value of a resource missing from object-model.ts comes as {"hex"}.
 *
 * Formats decoded: TLV (11542, and the legacy 1542), SenML JSON (110), text (0), opaque (42), link-format (40).
 * Anything else, or no Content-Format, comes as {"base64"} of the payload. A payload that does not parse, or
 * names a path outside the one read, throws DecodeError.
 */
import { DecodeError } from '../shared/errors.js';
import { ContentFormat } from '../shared/lwm2m/content-formats.js';
import { parseLinkFormat } from '../shared/lwm2m/link-format.js';
import { decodeSenmlJson, isObjectLink, type SenmlValue } from '../shared/lwm2m/senml-json.js';
import {
  decodeTlv,
  readTlvBoolean,
  readTlvFloat,
  readTlvInteger,
  readTlvObjlnk,
  readTlvString,
  type Tlv,
} from '../shared/lwm2m/tlv.js';
import { resourceType, type ResourceType } from './object-model.js';

export type Lwm2mJson =
  | string
  | number
  | boolean
  | null
  | { base64: string }
  | { hex: string }
  | { objectId: number; instanceId: number }
  | Array<{ url: string; attributes: Record<string, string | true> }>
  | { [id: string]: Lwm2mJson };

/** An LwM2M path as numbers: [objectId, instanceId?, resourceId?, resourceInstanceId?]. */
export type Lwm2mPath = readonly number[];

export function decodeContent(contentFormat: number | undefined, payload: Buffer, path: Lwm2mPath): Lwm2mJson {
  switch (contentFormat) {
    case ContentFormat.LWM2M_TLV:
    case ContentFormat.LEGACY_TLV:
      return decodeTlvContent(payload, path);
    case ContentFormat.SENML_JSON:
      return decodeSenmlContent(payload, path);
    case ContentFormat.TEXT:
      return decodeText(payload, path);
    case ContentFormat.OPAQUE:
      return { base64: payload.toString('base64') };
    case ContentFormat.LINK_FORMAT:
      return parseLinkFormat(payload).map((l) => ({ url: l.path, attributes: l.params }));
    case undefined:
      return payload.length === 0 ? null : { base64: payload.toString('base64') };
    default:
      return { base64: payload.toString('base64') };
  }
}

// --- the tree every format fills -------------------------------------------------------------------------------

class Tree {
  root: Lwm2mJson | undefined;
  constructor(
    readonly base: Lwm2mPath,
    readonly format: string,
  ) {}

  /** Puts `value` at the absolute `at`, which must lie at or under the path that was read. */
  set(at: Lwm2mPath, value: Lwm2mJson): void {
    if (at.length < this.base.length || this.base.some((id, i) => at[i] !== id)) {
      throw new DecodeError(
        this.format,
        `answer names /${at.join('/')}, outside the /${this.base.join('/')} that was read`,
      );
    }
    const rel = at.slice(this.base.length);
    if (rel.length === 0) {
      if (this.root !== undefined) throw new DecodeError(this.format, `/${at.join('/')} appears twice`);
      this.root = value;
      return;
    }
    this.root ??= {};
    let node = this.root as Record<string, Lwm2mJson>;
    for (const [i, id] of rel.entries()) {
      const key = String(id);
      if (i === rel.length - 1) {
        if (Object.hasOwn(node, key)) throw new DecodeError(this.format, `/${at.join('/')} appears twice`);
        node[key] = value;
        return;
      }
      const next = (node[key] ??= {});
      if (!isBranch(next))
        throw new DecodeError(
          this.format,
          `/${at.slice(0, this.base.length + i + 1).join('/')} is both a value and a container`,
        );
      node = next;
    }
  }

  result(): Lwm2mJson {
    if (this.root !== undefined) return this.root;
    // Nothing at all: an empty object, instance or multiple resource. A resource instance must have a value.
    if (this.base.length >= 4) throw new DecodeError(this.format, 'no value in the answer');
    return {};
  }
}

const isBranch = (v: Lwm2mJson): v is Record<string, Lwm2mJson> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !('base64' in v) && !('hex' in v) && !('objectId' in v);

// --- TLV, Core 1.1 §7.4.3 ----------------------------------------------------------------------------------------

/** The depth of the path a top-level TLV of each kind stands for: /o/i, /o/i/r, /o/i/r/ri. */
const LEVEL: Record<Tlv['type'], number> = { objectInstance: 2, resource: 3, multipleResource: 3, resourceInstance: 4 };

function decodeTlvContent(payload: Buffer, path: Lwm2mPath): Lwm2mJson {
  const tree = new Tree(path, 'LwM2M-TLV');
  for (const t of decodeTlv(payload)) {
    // A top-level TLV names its own id; the ids above it come from the path that was read.
    const level = LEVEL[t.type];
    if (path.length < level - 1)
      throw new DecodeError('LwM2M-TLV', `a ${t.type} TLV cannot answer a read of /${path.join('/')}`);
    placeTlv(tree, t, [...path.slice(0, level - 1), t.id]);
  }
  return tree.result();
}

function placeTlv(tree: Tree, t: Tlv, at: number[]): void {
  switch (t.type) {
    case 'objectInstance':
      if (t.resources.length === 0) tree.set(at, {});
      for (const r of t.resources) placeTlv(tree, r, [...at, r.id]);
      return;
    case 'multipleResource':
      tree.set(at, {});
      for (const ri of t.instances) placeTlv(tree, ri, [...at, ri.id]);
      return;
    case 'resource':
    case 'resourceInstance':
      tree.set(at, typedTlvValue(t.value, resourceType(at[0]!, at[2]!)));
  }
}

function typedTlvValue(v: Buffer, type: ResourceType | undefined): Lwm2mJson {
  switch (type) {
    case 'string':
      return readTlvString(v);
    case 'integer':
    case 'time':
      return bigToJson(readTlvInteger(v));
    case 'unsigned':
      if (![1, 2, 4, 8].includes(v.length))
        throw new DecodeError('LwM2M-TLV', `Unsigned Integer of ${v.length} bytes (must be 1, 2, 4 or 8)`);
      return bigToJson(v.length === 8 ? v.readBigUInt64BE() : BigInt(v.readUIntBE(0, v.length)));
    case 'float':
      return readTlvFloat(v);
    case 'boolean':
      return readTlvBoolean(v);
    case 'objlnk':
      return readTlvObjlnk(v);
    case 'opaque':
      return { base64: v.toString('base64') };
    default:
      return { hex: v.toString('hex') };
  }
}

const bigToJson = (n: bigint): number | string =>
  n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();

// --- SenML JSON, Core 1.1 §7.4.4 ---------------------------------------------------------------------------------

function decodeSenmlContent(payload: Buffer, path: Lwm2mPath): Lwm2mJson {
  const tree = new Tree(path, 'SenML-JSON');
  for (const e of decodeSenmlJson(payload)) tree.set(e.path.slice(1).split('/').map(Number), senmlValue(e.value));
  return tree.result();
}

function senmlValue(v: SenmlValue): Lwm2mJson {
  if (Buffer.isBuffer(v)) return { base64: v.toString('base64') };
  if (isObjectLink(v)) return { objectId: v.objectId, instanceId: v.instanceId };
  return v;
}

// --- text/plain, Core 1.1 §7.4.1: one resource (instance) value ----------------------------------------------

function decodeText(payload: Buffer, path: Lwm2mPath): Lwm2mJson {
  if (path.length < 3) throw new DecodeError('text/plain', 'text/plain answers only a resource read');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    throw new DecodeError('text/plain', 'not valid UTF-8');
  }
  const bad = (what: string): never => {
    throw new DecodeError('text/plain', `'${text.slice(0, 40)}' is not ${what}`);
  };
  switch (resourceType(path[0]!, path[2]!)) {
    case 'integer':
    case 'unsigned':
    case 'time':
      return /^-?\d+$/.test(text) ? bigToJson(BigInt(text)) : bad('an integer');
    case 'float':
      return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : bad('a number');
    case 'boolean':
      return text === '1' ? true : text === '0' ? false : bad('a boolean (0 or 1)');
    case 'objlnk': {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
      return m ? { objectId: Number(m[1]), instanceId: Number(m[2]) } : bad('an Objlnk "oid:iid"');
    }
    case 'opaque':
      return { base64: text };
    default:
      return text;
  }
}
