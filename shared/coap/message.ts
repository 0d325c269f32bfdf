/**
 * The CoAP message model shared by the UDP (RFC 7252 §3) and TCP (RFC 8323 §3.2) encodings, the option codec
 * both use (RFC 7252 §3.1), code and option-number constants, and option helpers.
 */
import { DecodeError, InputError } from '../errors.js';

export type CoapType = 'CON' | 'NON' | 'ACK' | 'RST';

export interface CoapOption {
  number: number;
  value: Buffer;
}

export interface CoapMessage {
  /** UDP only (RFC 7252 §3); absent over TCP (RFC 8323 §3.2). */
  type?: CoapType;
  /** class << 5 | detail, e.g. 0x45 = 2.05. */
  code: number;
  /** UDP only, 16 bits. */
  messageId?: number;
  token: Buffer;
  /** Sorted by number; a repeated option keeps its order. */
  options: CoapOption[];
  payload: Buffer;
}

/** What a request handler returns; the transport fills type, message ID and token. */
export interface CoapResponse {
  code: number;
  options?: CoapOption[];
  payload?: Buffer;
}

export type RequestHandler = (req: CoapMessage) => Promise<CoapResponse> | CoapResponse;

/** Why an outgoing request failed. */
export type ExchangeFailure = 'timeout' | 'reset' | 'closed' | 'aborted' | 'released' | 'rejected';

/** An outgoing request did not get a response (timeout, RST, connection closed or aborted). */
export class CoapExchangeError extends Error {
  override readonly name = 'CoapExchangeError';
  constructor(
    readonly reason: ExchangeFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Option numbers, RFC 7252 §5.10 and §12.2, RFC 7641 (Observe), RFC 7959 (Block, Size2). */
export const OptionNumber = {
  IF_MATCH: 1,
  URI_HOST: 3,
  ETAG: 4,
  IF_NONE_MATCH: 5,
  OBSERVE: 6,
  URI_PORT: 7,
  LOCATION_PATH: 8,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  ACCEPT: 17,
  LOCATION_QUERY: 20,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  PROXY_URI: 35,
  PROXY_SCHEME: 39,
  SIZE1: 60,
} as const;

/**
 * Critical options (odd numbers, RFC 7252 §5.4.1) this layer passes to handlers by default. Anything else odd is
 * answered 4.02. Block1/Block2 are included because the LwM2M layer above implements block-wise transfer.
 */
export const DEFAULT_KNOWN_CRITICAL: ReadonlySet<number> = new Set([
  OptionNumber.URI_HOST,
  OptionNumber.URI_PORT,
  OptionNumber.URI_PATH,
  OptionNumber.URI_QUERY,
  OptionNumber.ACCEPT,
  OptionNumber.BLOCK2,
  OptionNumber.BLOCK1,
]);

export const code = (cls: number, detail: number): number => (cls << 5) | detail;

/** Codes, RFC 7252 §12.1, RFC 8132 (FETCH/iPATCH), RFC 7959 (2.31, 4.08, 4.13), RFC 8323 §5 (7.xx). */
export const Code = {
  EMPTY: 0x00,
  GET: 0x01,
  POST: 0x02,
  PUT: 0x03,
  DELETE: 0x04,
  FETCH: 0x05,
  PATCH: 0x06,
  IPATCH: 0x07,
  CREATED: 0x41,
  DELETED: 0x42,
  VALID: 0x43,
  CHANGED: 0x44,
  CONTENT: 0x45,
  CONTINUE: 0x5f,
  BAD_REQUEST: 0x80,
  UNAUTHORIZED: 0x81,
  BAD_OPTION: 0x82,
  FORBIDDEN: 0x83,
  NOT_FOUND: 0x84,
  METHOD_NOT_ALLOWED: 0x85,
  NOT_ACCEPTABLE: 0x86,
  REQUEST_ENTITY_INCOMPLETE: 0x88,
  PRECONDITION_FAILED: 0x8c,
  REQUEST_ENTITY_TOO_LARGE: 0x8d,
  UNSUPPORTED_CONTENT_FORMAT: 0x8f,
  INTERNAL_SERVER_ERROR: 0xa0,
  NOT_IMPLEMENTED: 0xa1,
  BAD_GATEWAY: 0xa2,
  SERVICE_UNAVAILABLE: 0xa3,
  GATEWAY_TIMEOUT: 0xa4,
  PROXYING_NOT_SUPPORTED: 0xa5,
  CSM: 0xe1,
  PING: 0xe2,
  PONG: 0xe3,
  RELEASE: 0xe4,
  ABORT: 0xe5,
} as const;

/** 0x41 → "2.01" (RFC 7252 §3: c.dd). */
export function codeToString(c: number): string {
  return `${c >> 5}.${String(c & 0x1f).padStart(2, '0')}`;
}

export const codeClass = (c: number): number => c >> 5;
export const isRequestCode = (c: number): boolean => c >> 5 === 0 && c !== 0;
export const isResponseCode = (c: number): boolean => c >> 5 >= 2 && c >> 5 <= 5;
export const isSignalingCode = (c: number): boolean => c >> 5 === 7;

// ---------------------------------------------------------------------------------------------------------------
// Option codec, RFC 7252 §3.1 (used unchanged by RFC 8323 §3.2)

const PAYLOAD_MARKER = 0xff;
const MAX_OPTION_NUMBER = 0xffff;

/** Stable sort by option number, so repeated options keep their order (RFC 7252 §5.4.5). */
export const sortOptions = (options: readonly CoapOption[]): CoapOption[] =>
  options
    .map((o, i) => [o, i] as const)
    .sort((a, b) => a[0].number - b[0].number || a[1] - b[1])
    .map(([o]) => o);

function nibble(n: number): [nib: number, ext: Buffer] {
  if (n < 13) return [n, Buffer.alloc(0)];
  if (n < 269) return [13, Buffer.of(n - 13)];
  if (n < 65805) {
    const ext = Buffer.alloc(2);
    ext.writeUInt16BE(n - 269);
    return [14, ext];
  }
  throw new InputError(`CoAP option delta or length ${n} exceeds 65804 (RFC 7252 §3.1)`);
}

/** Options (sorted here), then 0xFF and the payload when the payload is non-empty. */
export function encodeOptionsAndPayload(options: readonly CoapOption[], payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let previous = 0;
  for (const opt of sortOptions(options)) {
    if (!Number.isInteger(opt.number) || opt.number < 0 || opt.number > MAX_OPTION_NUMBER) {
      throw new InputError(`CoAP option number ${opt.number} out of range`);
    }
    const [dNib, dExt] = nibble(opt.number - previous);
    const [lNib, lExt] = nibble(opt.value.length);
    parts.push(Buffer.of((dNib << 4) | lNib), dExt, lExt, opt.value);
    previous = opt.number;
  }
  if (payload.length > 0) parts.push(Buffer.of(PAYLOAD_MARKER), payload);
  return Buffer.concat(parts);
}

/**
 * Decodes options and payload from `buf[offset..]` to the end of `buf`.
 * Nibble 15 is reserved (a format error) unless the whole byte is the payload marker, and a marker followed by
 * an empty payload is a format error (RFC 7252 §3, §3.1).
 */
export function decodeOptionsAndPayload(
  buf: Buffer,
  offset: number,
  format: string,
): { options: CoapOption[]; payload: Buffer } {
  const options: CoapOption[] = [];
  let number = 0;
  let pos = offset;
  const extended = (nib: number, what: string): number => {
    if (nib < 13) return nib;
    if (nib === 13) {
      if (pos + 1 > buf.length) throw new DecodeError(format, `truncated extended option ${what}`, pos);
      return buf[pos++]! + 13;
    }
    if (nib === 14) {
      if (pos + 2 > buf.length) throw new DecodeError(format, `truncated extended option ${what}`, pos);
      const v = buf.readUInt16BE(pos) + 269;
      pos += 2;
      return v;
    }
    throw new DecodeError(format, `reserved option ${what} nibble 15`, pos - 1);
  };
  while (pos < buf.length) {
    const head = buf[pos]!;
    if (head === PAYLOAD_MARKER) {
      if (pos + 1 === buf.length) throw new DecodeError(format, 'payload marker followed by an empty payload', pos);
      return { options, payload: Buffer.from(buf.subarray(pos + 1)) };
    }
    pos++;
    const delta = extended(head >> 4, 'delta');
    const length = extended(head & 0x0f, 'length');
    number += delta;
    if (number > MAX_OPTION_NUMBER) throw new DecodeError(format, `option number ${number} out of range`, pos);
    if (pos + length > buf.length) throw new DecodeError(format, `truncated value of option ${number}`, pos);
    options.push({ number, value: Buffer.from(buf.subarray(pos, pos + length)) });
    pos += length;
  }
  return { options, payload: Buffer.alloc(0) };
}

// ---------------------------------------------------------------------------------------------------------------
// Option value formats, RFC 7252 §3.2

/** uint option value: big-endian, no leading zero bytes, so 0 is the empty value (RFC 7252 §3.2). */
export function encodeUint(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InputError(`uint option value ${n} out of range`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

/** Accepts leading zeros (a recipient must, RFC 7252 §3.2); at most 4 bytes, the longest uint option defined. */
export function decodeUint(value: Buffer, format = 'CoAP'): number {
  if (value.length > 4) throw new DecodeError(format, `uint option value of ${value.length} bytes (max 4)`);
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeString(value: Buffer, what: string): string {
  try {
    return UTF8.decode(value);
  } catch {
    throw new DecodeError('CoAP', `${what} is not valid UTF-8`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Option helpers. Getters read; setters replace every occurrence of the option and keep the list sorted.

export const getOptions = (msg: Pick<CoapMessage, 'options'>, n: number): Buffer[] =>
  msg.options.filter((o) => o.number === n).map((o) => o.value);

export const getOption = (msg: Pick<CoapMessage, 'options'>, n: number): Buffer | undefined =>
  msg.options.find((o) => o.number === n)?.value;

export function setOptions<M extends Pick<CoapMessage, 'options'>>(msg: M, n: number, values: readonly Buffer[]): M {
  msg.options = sortOptions([
    ...msg.options.filter((o) => o.number !== n),
    ...values.map((value) => ({ number: n, value })),
  ]);
  return msg;
}

const stringOptions = (msg: Pick<CoapMessage, 'options'>, n: number, what: string): string[] =>
  getOptions(msg, n).map((v) => decodeString(v, what));

/** "/3/0" or ["3", "0"] → segments; "/" and "" → no segments. */
function toSegments(path: string | readonly string[]): string[] {
  if (typeof path !== 'string') return [...path];
  if (path === '' || path === '/') return [];
  if (!path.startsWith('/')) throw new InputError(`path '${path}' must start with '/'`);
  return path.slice(1).split('/');
}

export const getUriPath = (msg: Pick<CoapMessage, 'options'>): string[] =>
  stringOptions(msg, OptionNumber.URI_PATH, 'Uri-Path');

/** "/" + segments joined, e.g. "/3/0"; "/" when there is no Uri-Path. */
export const uriPathString = (msg: Pick<CoapMessage, 'options'>): string => `/${getUriPath(msg).join('/')}`;

export const setUriPath = <M extends Pick<CoapMessage, 'options'>>(msg: M, path: string | readonly string[]): M =>
  setOptions(
    msg,
    OptionNumber.URI_PATH,
    toSegments(path).map((s) => Buffer.from(s, 'utf8')),
  );

export const getUriQuery = (msg: Pick<CoapMessage, 'options'>): string[] =>
  stringOptions(msg, OptionNumber.URI_QUERY, 'Uri-Query');

export const setUriQuery = <M extends Pick<CoapMessage, 'options'>>(msg: M, queries: readonly string[]): M =>
  setOptions(
    msg,
    OptionNumber.URI_QUERY,
    queries.map((q) => Buffer.from(q, 'utf8')),
  );

export const getLocationPath = (msg: Pick<CoapMessage, 'options'>): string[] =>
  stringOptions(msg, OptionNumber.LOCATION_PATH, 'Location-Path');

export const setLocationPath = <M extends Pick<CoapMessage, 'options'>>(msg: M, path: string | readonly string[]): M =>
  setOptions(
    msg,
    OptionNumber.LOCATION_PATH,
    toSegments(path).map((s) => Buffer.from(s, 'utf8')),
  );

function getUintOption(msg: Pick<CoapMessage, 'options'>, n: number): number | undefined {
  const v = getOption(msg, n);
  return v === undefined ? undefined : decodeUint(v);
}

export const getContentFormat = (msg: Pick<CoapMessage, 'options'>): number | undefined =>
  getUintOption(msg, OptionNumber.CONTENT_FORMAT);

export const setContentFormat = <M extends Pick<CoapMessage, 'options'>>(msg: M, cf: number): M =>
  setOptions(msg, OptionNumber.CONTENT_FORMAT, [encodeUint(cf)]);

export const getAccept = (msg: Pick<CoapMessage, 'options'>): number | undefined =>
  getUintOption(msg, OptionNumber.ACCEPT);

export const setAccept = <M extends Pick<CoapMessage, 'options'>>(msg: M, cf: number): M =>
  setOptions(msg, OptionNumber.ACCEPT, [encodeUint(cf)]);

/** The first critical option (odd number, RFC 7252 §5.4.1) not in `known`, or undefined. */
export function unknownCriticalOption(
  msg: Pick<CoapMessage, 'options'>,
  known: ReadonlySet<number>,
): number | undefined {
  return msg.options.find((o) => o.number % 2 === 1 && !known.has(o.number))?.number;
}

/** A message with defaults for the fields a caller usually leaves out. */
export function message(fields: Partial<CoapMessage> & { code: number }): CoapMessage {
  return {
    ...fields,
    token: fields.token ?? Buffer.alloc(0),
    options: sortOptions(fields.options ?? []),
    payload: fields.payload ?? Buffer.alloc(0),
  };
}
