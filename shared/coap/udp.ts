/**
 * CoAP over UDP (and DTLS) datagram encoding, RFC 7252 §3.
 *
 *  0                   1                   2                   3
 * |Ver| T |  TKL  |      Code     |          Message ID           |
 * |   Token (0..8 bytes) ...      |   Options ...   | 0xFF | Payload
 */
import { DecodeError, InputError } from '../errors.js';
import { type CoapMessage, type CoapType, decodeOptionsAndPayload, encodeOptionsAndPayload } from './message.js';

const FORMAT = 'CoAP';
const VERSION = 1;
const TYPES: readonly CoapType[] = ['CON', 'NON', 'ACK', 'RST'];
const MAX_TOKEN_LENGTH = 8; // RFC 7252 §3: TKL 9–15 are reserved (RFC 8974 reuses them; we do not support it)

export function encodeUdp(msg: CoapMessage): Buffer {
  if (msg.type === undefined) throw new InputError('a CoAP-over-UDP message needs a type');
  const mid = msg.messageId;
  if (mid === undefined || !Number.isInteger(mid) || mid < 0 || mid > 0xffff) {
    throw new InputError('a CoAP-over-UDP message needs a 16-bit message ID');
  }
  if (msg.token.length > MAX_TOKEN_LENGTH) throw new InputError('token longer than 8 bytes');
  if (!Number.isInteger(msg.code) || msg.code < 0 || msg.code > 0xff)
    throw new InputError(`code ${msg.code} out of range`);
  if (msg.code === 0 && (msg.token.length > 0 || msg.options.length > 0 || msg.payload.length > 0)) {
    throw new InputError('an Empty message (0.00) has no token, options or payload (RFC 7252 §4.1)');
  }
  const head = Buffer.alloc(4);
  head[0] = (VERSION << 6) | (TYPES.indexOf(msg.type) << 4) | msg.token.length;
  head[1] = msg.code;
  head.writeUInt16BE(mid, 2);
  return Buffer.concat([head, msg.token, encodeOptionsAndPayload(msg.options, msg.payload)]);
}

export function decodeUdp(buf: Buffer): CoapMessage {
  if (buf.length < 4) throw new DecodeError(FORMAT, 'datagram shorter than the 4-byte header', 0);
  const version = buf[0]! >> 6;
  // A message with another version must be silently ignored (§3); the caller ignores this DecodeError.
  if (version !== VERSION) throw new DecodeError(FORMAT, `unsupported version ${version}`, 0);
  const type = TYPES[(buf[0]! >> 4) & 0x03]!;
  const tkl = buf[0]! & 0x0f;
  if (tkl > MAX_TOKEN_LENGTH) throw new DecodeError(FORMAT, `reserved token length ${tkl}`, 0);
  const code = buf[1]!;
  const messageId = buf.readUInt16BE(2);
  if (buf.length < 4 + tkl) throw new DecodeError(FORMAT, 'truncated token', 4);
  if (code === 0 && buf.length > 4) {
    throw new DecodeError(FORMAT, 'Empty message (0.00) with bytes after the message ID (RFC 7252 §4.1)', 4);
  }
  if (type === 'RST' && code !== 0) throw new DecodeError(FORMAT, 'RST must be an Empty message (RFC 7252 §4.2)', 1);
  const token = Buffer.from(buf.subarray(4, 4 + tkl));
  const { options, payload } = decodeOptionsAndPayload(buf, 4 + tkl, FORMAT);
  return { type, code, messageId, token, options, payload };
}
