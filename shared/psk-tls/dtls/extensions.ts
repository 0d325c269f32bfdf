/**
 * The hello extensions only the DTLS server interprets (RFC 6066 §4, RFC 7627, RFC 5746, RFC 9146) and the
 * encoders for what it echoes. The extension list and server_name are read by the shared TLS-wire reader.
 */
import { DecodeError } from '../../errors.js';
import { type Extension, Reader, u8, vector16, vector8 } from '../wire.js';
import { ExtensionType } from './constants.js';

export { decodeExtensionList, decodeServerName, encodeExtensionList, type Extension, findExtension } from '../wire.js';

/** RFC 6066 §4: MaxFragmentLength code 1..4 → 2^9..2^12 octets. */
export function decodeMaxFragmentLength(data: Buffer): number {
  if (data.length !== 1 || data[0]! < 1 || data[0]! > 4) {
    throw new DecodeError('max_fragment_length', 'value must be one octet 1..4');
  }
  return 2 ** (8 + data[0]!);
}

/** RFC 5746 §3.2: `opaque renegotiated_connection<0..255>`. */
export function decodeRenegotiationInfo(data: Buffer): Buffer {
  const r = new Reader(data, 'renegotiation_info');
  const v = r.vector8('renegotiated_connection');
  r.expectEnd('renegotiation_info');
  return v;
}

/** RFC 9146 §3: `opaque cid<0..2^8-1>`. */
export function decodeConnectionId(data: Buffer): Buffer {
  const r = new Reader(data, 'connection_id');
  const v = r.vector8('cid');
  r.expectEnd('connection_id');
  return v;
}

/** RFC 7627 §5.1: the extension_data is empty. */
export function checkExtendedMasterSecret(data: Buffer): void {
  if (data.length !== 0) throw new DecodeError('extended_master_secret', 'extension_data must be empty');
}

/** Encoders for what a server echoes. */
export const ext = {
  renegotiationInfoEmpty: (): Extension => ({ type: ExtensionType.renegotiationInfo, data: vector8(Buffer.alloc(0)) }),
  extendedMasterSecret: (): Extension => ({ type: ExtensionType.extendedMasterSecret, data: Buffer.alloc(0) }),
  connectionId: (cid: Buffer): Extension => ({ type: ExtensionType.connectionId, data: vector8(cid) }),
  maxFragmentLength: (bytes: number): Extension => ({
    type: ExtensionType.maxFragmentLength,
    data: u8(Math.log2(bytes) - 8),
  }),
  serverName: (host: string): Extension => ({
    type: ExtensionType.serverName,
    data: vector16(Buffer.concat([u8(0), vector16(Buffer.from(host, 'ascii'))])),
  }),
};
