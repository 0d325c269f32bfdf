/**
 * Diameter message codec (RFC 6733 §3 header, §4 AVPs, §4.2–4.3 data formats). Decoding is strict: every
 * fault is a DiameterDecodeError carrying the result code RFC 6733 §7.1 assigns to it and, where one AVP is
 * to blame, that AVP's raw octets for Failed-AVP (§7.5). Nothing is decoded beyond the declared lengths.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { avpByCode, avpDef, RC, type AvpDef } from './dictionary.js';

export const HEADER_LENGTH = 20;
export const FLAG_R = 0x80;
export const FLAG_P = 0x40;
export const FLAG_E = 0x20;
export const FLAG_T = 0x10;
export const AVP_V = 0x80;
export const AVP_M = 0x40;
export const AVP_P = 0x20;

/** RFC 6733 §4.3.1 Time: seconds since 1900-01-01 (NTP era 0). */
export const NTP_UNIX_OFFSET = 2_208_988_800;

export interface Avp {
  code: number;
  flags: number;
  vendorId: number;
  data: Buffer;
  /** The AVP as it was on the wire (for Failed-AVP), when decoded. */
  raw?: Buffer;
}

export interface DiameterMessage {
  flags: number;
  commandCode: number;
  applicationId: number;
  hopByHop: number;
  endToEnd: number;
  avps: Avp[];
}

export class DiameterDecodeError extends Error {
  override readonly name = 'DiameterDecodeError';
  constructor(
    message: string,
    readonly resultCode: number,
    readonly failedAvp?: Buffer,
  ) {
    super(message);
  }
}

const pad4 = (n: number): number => (n + 3) & ~3;

// ---- encoding ----------------------------------------------------------------------------------------------

export type AvpValue = Buffer | string | number | bigint | Date | Avp[];

/** Encodes a value in the dictionary type of the AVP `name`. */
export function avp(name: string, value: AvpValue): Avp {
  const d = avpDef(name);
  return {
    code: d.code,
    vendorId: d.vendorId,
    flags: (d.vendorId ? AVP_V : 0) | (d.mandatory ? AVP_M : 0),
    data: encodeValue(d, value),
  };
}

function encodeValue(d: AvpDef, v: AvpValue): Buffer {
  switch (d.type) {
    case 'OctetString':
    case 'UTF8String':
    case 'DiameterIdentity':
      if (Buffer.isBuffer(v)) return v;
      if (typeof v === 'string') return Buffer.from(v, 'utf8');
      break;
    case 'Unsigned32':
    case 'Enumerated':
    case 'Integer32':
      if (typeof v === 'number' && Number.isInteger(v)) {
        const b = Buffer.alloc(4);
        if (d.type === 'Integer32') b.writeInt32BE(v);
        else b.writeUInt32BE(v >>> 0);
        return b;
      }
      break;
    case 'Unsigned64':
      if (typeof v === 'bigint') {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(v);
        return b;
      }
      break;
    case 'Time': {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : NaN;
      if (Number.isFinite(ms)) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE((Math.floor(ms / 1000) + NTP_UNIX_OFFSET) >>> 0);
        return b;
      }
      break;
    }
    case 'Address':
      if (typeof v === 'string') return encodeAddress(v);
      break;
    case 'Grouped':
      if (Array.isArray(v)) return Buffer.concat(v.map(encodeAvp));
      break;
  }
  throw new TypeError(`${d.name}: a ${d.type} cannot hold ${typeof v}`);
}

/** RFC 6733 §4.3.1 Address: AddressType (IANA: 1 IPv4, 2 IPv6) then the address octets. */
export function encodeAddress(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from([0, 1, ...ip.split('.').map(Number)]);
  if (isIPv6(ip)) {
    const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(18);
    b.writeUInt16BE(2, 0);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 + 2 * i));
    return b;
  }
  throw new TypeError(`not an IP address: ${ip}`);
}

export function decodeAddress(b: Buffer): string {
  if (b.length === 6 && b.readUInt16BE(0) === 1) return [...b.subarray(2)].join('.');
  if (b.length === 18 && b.readUInt16BE(0) === 2)
    return Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 + 2 * i).toString(16)).join(':');
  throw new DiameterDecodeError(
    'Address: neither IPv4 (family 1, 4 octets) nor IPv6 (family 2, 16 octets)',
    RC.INVALID_AVP_VALUE,
  );
}

export function encodeAvp(a: Avp): Buffer {
  const hl = a.flags & AVP_V ? 12 : 8;
  const len = hl + a.data.length;
  if (len > 0xffffff) throw new RangeError(`AVP ${a.code} too long`);
  const b = Buffer.alloc(pad4(len)); // zero padding (RFC 6733 §4.1)
  b.writeUInt32BE(a.code, 0);
  b.writeUInt32BE(len, 4);
  b[4] = a.flags;
  if (a.flags & AVP_V) b.writeUInt32BE(a.vendorId, 8);
  a.data.copy(b, hl);
  return b;
}

export function encodeMessage(m: DiameterMessage): Buffer {
  const body = Buffer.concat(m.avps.map(encodeAvp));
  const len = HEADER_LENGTH + body.length;
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE(len, 0);
  h[0] = 1;
  h.writeUInt32BE(m.commandCode, 4);
  h[4] = m.flags;
  h.writeUInt32BE(m.applicationId >>> 0, 8);
  h.writeUInt32BE(m.hopByHop >>> 0, 12);
  h.writeUInt32BE(m.endToEnd >>> 0, 16);
  return Buffer.concat([h, body]);
}

// ---- decoding ----------------------------------------------------------------------------------------------

/** The declared length of a message whose first 4 octets are `head`, after the version and size checks. */
export function messageLength(head: Buffer, maxLength: number): number {
  if (head[0] !== 1) throw new DiameterDecodeError(`unsupported Diameter version ${head[0]}`, RC.UNSUPPORTED_VERSION);
  const len = head.readUInt32BE(0) & 0xffffff;
  if (len < HEADER_LENGTH || len % 4 !== 0)
    throw new DiameterDecodeError(
      `message length ${len} is not a multiple of 4 of at least 20`,
      RC.INVALID_MESSAGE_LENGTH,
    );
  if (len > maxLength)
    throw new DiameterDecodeError(
      `message length ${len} exceeds the limit of ${maxLength} octets`,
      RC.INVALID_MESSAGE_LENGTH,
    );
  return len;
}

/** The header fields, which can be read (to answer with an error) even when the AVPs are broken. */
export function decodeHeader(b: Buffer): Omit<DiameterMessage, 'avps'> {
  if (b.length < HEADER_LENGTH)
    throw new DiameterDecodeError(`truncated header: ${b.length} of 20 octets`, RC.INVALID_MESSAGE_LENGTH);
  return {
    flags: b[4]!,
    commandCode: b.readUInt32BE(4) & 0xffffff,
    applicationId: b.readUInt32BE(8),
    hopByHop: b.readUInt32BE(12),
    endToEnd: b.readUInt32BE(16),
  };
}

export function decodeMessage(b: Buffer, maxLength = 1 << 20): DiameterMessage {
  const h = decodeHeader(b);
  const len = messageLength(b, maxLength);
  if (len !== b.length)
    throw new DiameterDecodeError(`message length field ${len} but ${b.length} octets`, RC.INVALID_MESSAGE_LENGTH);
  // RFC 6733 §3: reserved bits zero; E never on a request; T only on requests.
  if (h.flags & 0x0f) throw new DiameterDecodeError('reserved header flag bits set', RC.INVALID_HDR_BITS);
  if (h.flags & FLAG_R && h.flags & FLAG_E)
    throw new DiameterDecodeError('request with the E bit', RC.INVALID_HDR_BITS);
  return { ...h, avps: decodeAvps(b.subarray(HEADER_LENGTH)) };
}

export function decodeAvps(b: Buffer): Avp[] {
  const out: Avp[] = [];
  let o = 0;
  while (o < b.length) {
    if (b.length - o < 8)
      throw new DiameterDecodeError(`truncated AVP header at offset ${o}`, RC.INVALID_AVP_LENGTH, b.subarray(o));
    const code = b.readUInt32BE(o);
    const flags = b[o + 4]!;
    const len = b.readUInt32BE(o + 4) & 0xffffff;
    const hl = flags & AVP_V ? 12 : 8;
    const stub = (): Buffer => b.subarray(o, Math.min(b.length, o + Math.max(len, hl)));
    if (flags & 0x1f) throw new DiameterDecodeError(`AVP ${code}: reserved flag bits set`, RC.INVALID_AVP_BITS, stub());
    if (len < hl)
      throw new DiameterDecodeError(
        `AVP ${code}: length ${len} shorter than its header`,
        RC.INVALID_AVP_LENGTH,
        stub(),
      );
    if (o + len > b.length)
      throw new DiameterDecodeError(
        `AVP ${code}: length ${len} runs beyond the message`,
        RC.INVALID_AVP_LENGTH,
        stub(),
      );
    const end = o + pad4(len);
    if (end > b.length)
      throw new DiameterDecodeError(`AVP ${code}: padding runs beyond the message`, RC.INVALID_AVP_LENGTH, stub());
    for (let i = o + len; i < end; i++)
      if (b[i] !== 0) throw new DiameterDecodeError(`AVP ${code}: non-zero padding`, RC.INVALID_AVP_LENGTH, stub());
    const vendorId = flags & AVP_V ? b.readUInt32BE(o + 8) : 0;
    out.push({ code, flags, vendorId, data: b.subarray(o + hl, o + len), raw: b.subarray(o, end) });
    o = end;
  }
  return out;
}

// ---- typed access ------------------------------------------------------------------------------------------

export function find(avps: readonly Avp[], name: string): Avp | undefined {
  const d = avpDef(name);
  return avps.find((a) => a.code === d.code && a.vendorId === d.vendorId);
}

export function findAll(avps: readonly Avp[], name: string): Avp[] {
  const d = avpDef(name);
  return avps.filter((a) => a.code === d.code && a.vendorId === d.vendorId);
}

const fixed = (a: Avp, n: number): Buffer => {
  if (a.data.length !== n)
    throw new DiameterDecodeError(
      `AVP ${a.code}: ${a.data.length} octets where ${n} belong`,
      RC.INVALID_AVP_LENGTH,
      a.raw,
    );
  return a.data;
};

export const value = {
  u32: (a: Avp): number => fixed(a, 4).readUInt32BE(0),
  str: (a: Avp): string => {
    const s = a.data.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(a.data))
      throw new DiameterDecodeError(`AVP ${a.code}: not valid UTF-8`, RC.INVALID_AVP_VALUE, a.raw);
    return s;
  },
  /** Time → epoch milliseconds (RFC 6733 §4.3.1; era 0 only, i.e. up to 2036). */
  timeMs: (a: Avp): number => (fixed(a, 4).readUInt32BE(0) - NTP_UNIX_OFFSET) * 1000,
  grouped: (a: Avp): Avp[] => decodeAvps(a.data),
  address: (a: Avp): string => decodeAddress(a.data),
};

export const getU32 = (avps: readonly Avp[], name: string): number | undefined => {
  const a = find(avps, name);
  return a && value.u32(a);
};
export const getStr = (avps: readonly Avp[], name: string): string | undefined => {
  const a = find(avps, name);
  return a && value.str(a);
};
export const getBytes = (avps: readonly Avp[], name: string): Buffer | undefined => find(avps, name)?.data;
export const getGrouped = (avps: readonly Avp[], name: string): Avp[] | undefined => {
  const a = find(avps, name);
  return a && value.grouped(a);
};
export const getTimeMs = (avps: readonly Avp[], name: string): number | undefined => {
  const a = find(avps, name);
  return a && value.timeMs(a);
};

/**
 * RFC 6733 §4.1: an AVP with the M bit that the receiver does not know makes the message fail with 5001,
 * with that AVP in Failed-AVP. Looks inside known Grouped AVPs too. Known AVPs are also type-checked
 * (fixed lengths, UTF-8, addresses, grouped contents), so later typed reads cannot fail.
 */
export function checkAvps(avps: readonly Avp[]): void {
  for (const a of avps) {
    const d = avpByCode(a.code, a.vendorId);
    if (!d) {
      if (a.flags & AVP_M)
        throw new DiameterDecodeError(
          `unsupported AVP ${a.code}${a.vendorId ? ` (vendor ${a.vendorId})` : ''} with the M bit`,
          RC.AVP_UNSUPPORTED,
          a.raw,
        );
      continue;
    }
    switch (d.type) {
      case 'Unsigned32':
      case 'Integer32':
      case 'Enumerated':
      case 'Time':
        fixed(a, 4);
        break;
      case 'Unsigned64':
        fixed(a, 8);
        break;
      case 'UTF8String':
      case 'DiameterIdentity':
        value.str(a);
        break;
      case 'Address':
        try {
          decodeAddress(a.data);
        } catch (e) {
          throw new DiameterDecodeError((e as Error).message, RC.INVALID_AVP_VALUE, a.raw);
        }
        break;
      case 'Grouped': {
        let inner: Avp[];
        try {
          inner = decodeAvps(a.data);
        } catch (e) {
          throw new DiameterDecodeError(`${d.name}: ${(e as Error).message}`, RC.INVALID_AVP_VALUE, a.raw);
        }
        checkAvps(inner);
        break;
      }
      default:
        break;
    }
  }
}

/** RFC 6733 §7.5 Failed-AVP: the AVP(s) at fault, as received (or a zero-filled stub of a missing one). */
export function failedAvp(raw: Buffer): Avp {
  return avp('Failed-AVP', raw.length ? [rawAvp(raw)] : []);
}

function rawAvp(raw: Buffer): Avp {
  // Re-wrap the received octets verbatim (it may be malformed: keep what fits in an AVP header).
  const code = raw.length >= 4 ? raw.readUInt32BE(0) : 0;
  const flags = raw.length >= 5 ? raw[4]! & 0xe0 : 0;
  const hl = flags & AVP_V ? 12 : 8;
  const vendorId = flags & AVP_V && raw.length >= 12 ? raw.readUInt32BE(8) : 0;
  const len = raw.length >= 8 ? raw.readUInt32BE(4) & 0xffffff : 0;
  const data = raw.subarray(Math.min(hl, raw.length), Math.max(Math.min(len, raw.length), Math.min(hl, raw.length)));
  return { code, flags, vendorId, data };
}

/** A zero-valued AVP of the given name, for Failed-AVP on a missing AVP (RFC 6733 §7.5). */
export function missingAvpStub(name: string): Buffer {
  const d = avpDef(name);
  const size =
    d.type === 'Unsigned32' || d.type === 'Enumerated' || d.type === 'Time' || d.type === 'Integer32'
      ? 4
      : d.type === 'Unsigned64'
        ? 8
        : 0;
  return encodeAvp({
    code: d.code,
    vendorId: d.vendorId,
    flags: (d.vendorId ? AVP_V : 0) | (d.mandatory ? AVP_M : 0),
    data: Buffer.alloc(size),
  });
}

/** A Diameter message as text for debug logs: command, flags and AVP codes, no values (they may be keys). */
export function describe(m: DiameterMessage): string {
  return `${m.commandCode}${m.flags & FLAG_R ? 'R' : 'A'} app=${m.applicationId} avps=${m.avps.map((a) => a.code).join(',')}`;
}
