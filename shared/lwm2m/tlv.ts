/**
 * OMA LwM2M TLV, Content-Format 11542 (LwM2M 1.0 TS §6.4.3, Core 1.1 §7.4.3; docs/standards-notes/lwm2m-coap-dtls.md §3.4).
 *
 * Type byte: bits 7–6 kind (00 Object Instance, 01 Resource Instance, 10 Multiple Resource, 11 Resource with value),
 * bit 5 identifier length (0 → 8 bits, 1 → 16 bits), bits 4–3 length type (00 → length in bits 2–0, 01/10/11 → an
 * 8/16/24-bit length follows the identifier), bits 2–0 the length when bits 4–3 are 00.
 * Layout: type | identifier (1–2) | length (0–3) | value.
 */
import { DecodeError, InputError } from '../errors.js';

export interface TlvResource {
  type: 'resource';
  id: number;
  value: Buffer;
}
export interface TlvResourceInstance {
  type: 'resourceInstance';
  id: number;
  value: Buffer;
}
export interface TlvMultipleResource {
  type: 'multipleResource';
  id: number;
  instances: TlvResourceInstance[];
}
export interface TlvObjectInstance {
  type: 'objectInstance';
  id: number;
  resources: (TlvResource | TlvMultipleResource)[];
}
export type Tlv = TlvObjectInstance | TlvMultipleResource | TlvResource | TlvResourceInstance;

const FORMAT = 'LwM2M-TLV';
const KINDS = ['objectInstance', 'resourceInstance', 'multipleResource', 'resource'] as const;
const MAX_LENGTH = 0xffffff;

// --- decoding -------------------------------------------------------------------------------------------------

/** Decodes a sequence of TLVs (the whole buffer). Containers are decoded recursively and their children checked. */
export function decodeTlv(buf: Buffer): Tlv[] {
  return decodeSequence(buf, 0, buf.length);
}

function decodeSequence(buf: Buffer, start: number, end: number): Tlv[] {
  const out: Tlv[] = [];
  let pos = start;
  while (pos < end) {
    const typeByte = buf[pos]!;
    const kind = KINDS[typeByte >> 6]!;
    const idBytes = typeByte & 0x20 ? 2 : 1;
    const lengthBytes = (typeByte >> 3) & 0x03;
    let p = pos + 1;
    if (p + idBytes + lengthBytes > end) throw new DecodeError(FORMAT, 'truncated TLV header', pos);
    const id = idBytes === 2 ? buf.readUInt16BE(p) : buf[p]!;
    p += idBytes;
    const length = lengthBytes === 0 ? typeByte & 0x07 : buf.readUIntBE(p, lengthBytes);
    p += lengthBytes;
    if (p + length > end) throw new DecodeError(FORMAT, `value of ${length} bytes overruns its container`, p);
    out.push(decodeOne(kind, id, buf, p, p + length));
    pos = p + length;
  }
  return out;
}

function decodeOne(kind: Tlv['type'], id: number, buf: Buffer, start: number, end: number): Tlv {
  if (kind === 'resource' || kind === 'resourceInstance')
    return { type: kind, id, value: Buffer.from(buf.subarray(start, end)) };
  const children = decodeSequence(buf, start, end);
  if (kind === 'multipleResource') {
    const instances = children.filter((c): c is TlvResourceInstance => c.type === 'resourceInstance');
    if (instances.length !== children.length)
      throw new DecodeError(FORMAT, `Multiple Resource ${id} holds a TLV that is not a Resource Instance`, start);
    return { type: kind, id, instances };
  }
  const resources = children.filter(
    (c): c is TlvResource | TlvMultipleResource => c.type === 'resource' || c.type === 'multipleResource',
  );
  if (resources.length !== children.length)
    throw new DecodeError(FORMAT, `Object Instance ${id} holds a TLV that is not a Resource`, start);
  return { type: kind, id, resources };
}

// --- encoding -------------------------------------------------------------------------------------------------

/** Encodes TLVs with the shortest identifier and length fields. */
export function encodeTlv(tlvs: readonly Tlv[]): Buffer {
  return Buffer.concat(tlvs.map(encodeOne));
}

function encodeOne(t: Tlv): Buffer {
  const value =
    t.type === 'objectInstance'
      ? encodeTlv(t.resources)
      : t.type === 'multipleResource'
        ? encodeTlv(t.instances)
        : t.value;
  if (!Number.isInteger(t.id) || t.id < 0 || t.id > 0xffff) throw new InputError(`TLV identifier ${t.id} out of range`);
  if (value.length > MAX_LENGTH) throw new InputError(`TLV value of ${value.length} bytes exceeds 24-bit length`);
  const idBytes = t.id > 0xff ? 2 : 1;
  const lengthBytes = value.length < 8 ? 0 : value.length <= 0xff ? 1 : value.length <= 0xffff ? 2 : 3;
  const head = Buffer.alloc(1 + idBytes + lengthBytes);
  head[0] =
    (KINDS.indexOf(t.type) << 6) |
    (idBytes === 2 ? 0x20 : 0) |
    (lengthBytes << 3) |
    (lengthBytes === 0 ? value.length : 0);
  head.writeUIntBE(t.id, 1, idBytes);
  if (lengthBytes > 0) head.writeUIntBE(value.length, 1 + idBytes, lengthBytes);
  return Buffer.concat([head, value]);
}

export const tlvResource = (id: number, value: Buffer): TlvResource => ({ type: 'resource', id, value });
export const tlvResourceInstance = (id: number, value: Buffer): TlvResourceInstance => ({
  type: 'resourceInstance',
  id,
  value,
});

// --- typed values (Core 1.1 Appendix C) -----------------------------------------------------------------------

export const tlvString = (s: string): Buffer => Buffer.from(s, 'utf8');

export function readTlvString(value: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new DecodeError(FORMAT, 'String value is not valid UTF-8');
  }
}

/** Signed big-endian integer in the shortest of 1, 2, 4 or 8 bytes. */
export function tlvInteger(n: number | bigint): Buffer {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new InputError(`${n} is not a safe integer`);
  const v = BigInt(n);
  if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new InputError(`${n} does not fit in 64 bits`);
  const size = v >= -128n && v < 128n ? 1 : v >= -32768n && v < 32768n ? 2 : v >= -(2n ** 31n) && v < 2n ** 31n ? 4 : 8;
  const out = Buffer.alloc(size);
  if (size === 8) out.writeBigInt64BE(v);
  else out.writeIntBE(Number(v), 0, size);
  return out;
}

export function readTlvInteger(value: Buffer): bigint {
  if (value.length === 8) return value.readBigInt64BE();
  if (value.length === 1 || value.length === 2 || value.length === 4) return BigInt(value.readIntBE(0, value.length));
  throw new DecodeError(FORMAT, `Integer of ${value.length} bytes (must be 1, 2, 4 or 8)`);
}

/** readTlvInteger, as a number; DecodeError when it is beyond Number.MAX_SAFE_INTEGER. */
export function readTlvSafeInteger(value: Buffer): number {
  const v = readTlvInteger(value);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
    throw new DecodeError(FORMAT, 'Integer beyond the safe range');
  return Number(v);
}

/** IEEE 754 big-endian: 4 bytes when the value is exactly a binary32, else 8. */
export function tlvFloat(n: number): Buffer {
  const single = Math.fround(n) === n || Number.isNaN(n);
  const out = Buffer.alloc(single ? 4 : 8);
  if (single) out.writeFloatBE(n);
  else out.writeDoubleBE(n);
  return out;
}

export function readTlvFloat(value: Buffer): number {
  if (value.length === 4) return value.readFloatBE();
  if (value.length === 8) return value.readDoubleBE();
  throw new DecodeError(FORMAT, `Float of ${value.length} bytes (must be 4 or 8)`);
}

export const tlvBoolean = (b: boolean): Buffer => Buffer.of(b ? 1 : 0);

export function readTlvBoolean(value: Buffer): boolean {
  if (value.length !== 1 || value[0]! > 1) throw new DecodeError(FORMAT, 'Boolean must be one byte, 0 or 1');
  return value[0] === 1;
}

/** Time: seconds since 1970-01-01 UTC as an Integer. */
export const tlvTime = (t: Date | number): Buffer =>
  tlvInteger(typeof t === 'number' ? t : Math.floor(t.getTime() / 1000));

export const readTlvTime = (value: Buffer): Date => new Date(readTlvSafeInteger(value) * 1000);

export interface ObjectLink {
  objectId: number;
  instanceId: number;
}

/** Objlnk: u16 Object ID ‖ u16 Object Instance ID (65535:65535 is the null link). */
export function tlvObjlnk(link: ObjectLink): Buffer {
  for (const v of [link.objectId, link.instanceId]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new InputError(`Objlnk id ${v} out of range`);
  }
  const out = Buffer.alloc(4);
  out.writeUInt16BE(link.objectId, 0);
  out.writeUInt16BE(link.instanceId, 2);
  return out;
}

export function readTlvObjlnk(value: Buffer): ObjectLink {
  if (value.length !== 4) throw new DecodeError(FORMAT, `Objlnk of ${value.length} bytes (must be 4)`);
  return { objectId: value.readUInt16BE(0), instanceId: value.readUInt16BE(2) };
}

export const tlvOpaque = (b: Uint8Array): Buffer => Buffer.from(b);
