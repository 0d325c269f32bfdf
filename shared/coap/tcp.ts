/**
 * CoAP over TCP/TLS framing, RFC 8323 §3.2, and the signaling messages of RFC 8323 §5.
 *
 * | Len (4) | TKL (4) | Extended Length (0/1/2/4) | Code (8) | Token (TKL) | Options | 0xFF | Payload |
 *
 * Len counts options, payload marker and payload only; 13/14/15 select an 8/16/32-bit extended length holding
 * Len − 13 / Len − 269 / Len − 65805.
 */
import { DecodeError, InputError } from '../errors.js';
import {
  Code,
  type CoapMessage,
  type CoapOption,
  decodeOptionsAndPayload,
  decodeUint,
  encodeOptionsAndPayload,
  encodeUint,
  message,
} from './message.js';

const FORMAT = 'CoAP-TCP';
const MAX_TOKEN_LENGTH = 8;

/** Base value of Max-Message-Size before the peer's CSM says otherwise (RFC 8323 §5.3.1). */
export const BASE_MAX_MESSAGE_SIZE = 1152;

export function encodeTcp(msg: CoapMessage): Buffer {
  if (msg.token.length > MAX_TOKEN_LENGTH) throw new InputError('token longer than 8 bytes');
  if (!Number.isInteger(msg.code) || msg.code < 0 || msg.code > 0xff)
    throw new InputError(`code ${msg.code} out of range`);
  const body = encodeOptionsAndPayload(msg.options, msg.payload);
  const [len, ext] = lengthField(body.length);
  return Buffer.concat([Buffer.of((len << 4) | msg.token.length), ext, Buffer.of(msg.code), msg.token, body]);
}

function lengthField(n: number): [nibble: number, ext: Buffer] {
  if (n < 13) return [n, Buffer.alloc(0)];
  if (n < 269) return [13, Buffer.of(n - 13)];
  const ext = Buffer.alloc(n < 65805 ? 2 : 4);
  if (n < 65805) ext.writeUInt16BE(n - 269);
  else ext.writeUInt32BE(n - 65805);
  return [n < 65805 ? 14 : 15, ext];
}

interface FrameHeader {
  /** Bytes before the options: first byte, extended length, code, token. */
  headerLength: number;
  /** Whole frame. */
  frameLength: number;
}

/** Reads the frame header at the start of `buf`; undefined until enough bytes are there to know the frame length. */
function readHeader(buf: Buffer): FrameHeader | undefined {
  if (buf.length < 1) return undefined;
  const len = buf[0]! >> 4;
  const tkl = buf[0]! & 0x0f;
  if (tkl > MAX_TOKEN_LENGTH) throw new DecodeError(FORMAT, `reserved token length ${tkl}`, 0);
  const extBytes = len < 13 ? 0 : len === 13 ? 1 : len === 14 ? 2 : 4;
  if (buf.length < 1 + extBytes) return undefined;
  const bodyLength =
    len < 13 ? len : len === 13 ? buf[1]! + 13 : len === 14 ? buf.readUInt16BE(1) + 269 : buf.readUInt32BE(1) + 65805;
  const headerLength = 1 + extBytes + 1 + tkl;
  return { headerLength, frameLength: headerLength + bodyLength };
}

function decodeBody(frame: Buffer, headerLength: number): CoapMessage {
  const tkl = frame[0]! & 0x0f;
  const code = frame[headerLength - tkl - 1]!;
  const token = Buffer.from(frame.subarray(headerLength - tkl, headerLength));
  const { options, payload } = decodeOptionsAndPayload(frame, headerLength, FORMAT);
  return { code, token, options, payload };
}

/** Decodes exactly one complete frame (no trailing bytes). */
export function decodeTcpFrame(buf: Buffer): CoapMessage {
  const header = readHeader(buf);
  if (header === undefined || buf.length < header.headerLength)
    throw new DecodeError(FORMAT, 'truncated frame header', buf.length);
  if (buf.length < header.frameLength) throw new DecodeError(FORMAT, 'truncated frame', buf.length);
  if (buf.length > header.frameLength) throw new DecodeError(FORMAT, 'bytes after the frame', header.frameLength);
  return decodeBody(buf, header.headerLength);
}

/**
 * Streaming decoder: push chunks as they arrive (frames split or coalesce at any read boundary), get complete
 * messages back. A frame longer than `maxMessageSize` is rejected as soon as its header is read, before its body is
 * buffered. After a DecodeError the byte stream cannot be resynchronised, so every later push throws too.
 */
export class CoapTcpDecoder {
  readonly maxMessageSize: number;
  #buffer: Buffer = Buffer.alloc(0);
  #failed: DecodeError | undefined;

  constructor(options: { maxMessageSize?: number } = {}) {
    this.maxMessageSize = options.maxMessageSize ?? BASE_MAX_MESSAGE_SIZE;
  }

  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  push(chunk: Uint8Array): CoapMessage[] {
    if (this.#failed) throw this.#failed;
    try {
      return this.#drain(chunk);
    } catch (err) {
      this.#buffer = Buffer.alloc(0);
      if (err instanceof DecodeError) this.#failed = err;
      throw err;
    }
  }

  #drain(chunk: Uint8Array): CoapMessage[] {
    let buf = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const out: CoapMessage[] = [];
    for (;;) {
      const header = readHeader(buf);
      if (header === undefined) break;
      if (header.frameLength > this.maxMessageSize) {
        throw new DecodeError(
          FORMAT,
          `frame of ${header.frameLength} bytes exceeds Max-Message-Size ${this.maxMessageSize}`,
        );
      }
      if (buf.length < header.frameLength) break;
      out.push(decodeBody(buf.subarray(0, header.frameLength), header.headerLength));
      buf = buf.subarray(header.frameLength);
    }
    // Copy the remainder so the (possibly large) chunk it came from can be released.
    this.#buffer = Buffer.from(buf);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Signaling messages, RFC 8323 §5. Option numbers are per signaling code (§5.2).

export const SignalingOption = {
  /** 7.01 CSM, uint (§5.3.1) */
  MAX_MESSAGE_SIZE: 2,
  /** 7.01 CSM, empty (§5.3.2) */
  BLOCK_WISE_TRANSFER: 4,
  /** 7.02 Ping / 7.03 Pong, empty (§5.4.1) */
  CUSTODY: 2,
  /** 7.04 Release, string, repeatable (§5.5.1) */
  ALTERNATIVE_ADDRESS: 2,
  /** 7.04 Release, uint seconds (§5.5.2) */
  HOLD_OFF: 4,
  /** 7.05 Abort, uint (§5.6.1) */
  BAD_CSM_OPTION: 2,
} as const;

export interface CsmSettings {
  maxMessageSize?: number;
  blockWiseTransfer?: boolean;
}

export function csmMessage(settings: CsmSettings = {}): CoapMessage {
  const options: CoapOption[] = [];
  if (settings.maxMessageSize !== undefined) {
    options.push({ number: SignalingOption.MAX_MESSAGE_SIZE, value: encodeUint(settings.maxMessageSize) });
  }
  if (settings.blockWiseTransfer) options.push({ number: SignalingOption.BLOCK_WISE_TRANSFER, value: Buffer.alloc(0) });
  return message({ code: Code.CSM, options });
}

/**
 * Reads the options of a CSM (RFC 8323 §5.3). Returns only what the CSM states: settings are cumulative, so the
 * caller merges them over the current ones. An unknown critical (odd) option is a CSM error (§5.3, §5.6.1):
 * it throws DecodeError, and `badOption` tells the caller what to put in the Abort.
 */
export function parseCsm(msg: CoapMessage): CsmSettings {
  const settings: CsmSettings = {};
  for (const opt of msg.options) {
    if (opt.number === SignalingOption.MAX_MESSAGE_SIZE) settings.maxMessageSize = decodeUint(opt.value, FORMAT);
    else if (opt.number === SignalingOption.BLOCK_WISE_TRANSFER) settings.blockWiseTransfer = true;
    else if (opt.number % 2 === 1) throw new CsmOptionError(opt.number);
  }
  return settings;
}

export class CsmOptionError extends DecodeError {
  constructor(readonly badOption: number) {
    super(FORMAT, `unknown critical CSM option ${badOption}`);
  }
}

export const pingMessage = (token: Buffer, custody = false): CoapMessage =>
  message({
    code: Code.PING,
    token,
    options: custody ? [{ number: SignalingOption.CUSTODY, value: Buffer.alloc(0) }] : [],
  });

/** A Pong carries the token of the Ping it answers (RFC 8323 §5.4). */
export const pongMessage = (ping: Pick<CoapMessage, 'token'>): CoapMessage =>
  message({ code: Code.PONG, token: ping.token });

export function releaseMessage(
  opts: { alternativeAddresses?: string[]; holdOffSec?: number; diagnostic?: string } = {},
): CoapMessage {
  const options: CoapOption[] = (opts.alternativeAddresses ?? []).map((a) => ({
    number: SignalingOption.ALTERNATIVE_ADDRESS,
    value: Buffer.from(a, 'utf8'),
  }));
  if (opts.holdOffSec !== undefined)
    options.push({ number: SignalingOption.HOLD_OFF, value: encodeUint(opts.holdOffSec) });
  return message({ code: Code.RELEASE, options, payload: Buffer.from(opts.diagnostic ?? '', 'utf8') });
}

/** Abort, with an optional diagnostic payload (UTF-8, RFC 8323 §5.6). */
export function abortMessage(opts: { badCsmOption?: number; diagnostic?: string } = {}): CoapMessage {
  const options: CoapOption[] =
    opts.badCsmOption === undefined
      ? []
      : [{ number: SignalingOption.BAD_CSM_OPTION, value: encodeUint(opts.badCsmOption) }];
  return message({ code: Code.ABORT, options, payload: Buffer.from(opts.diagnostic ?? '', 'utf8') });
}
