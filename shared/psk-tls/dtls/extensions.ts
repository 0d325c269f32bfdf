/** Hello extensions (RFC 5246 §7.4.1.4) and the few we interpret: RFC 6066, 7627, 5746, 9146. */
import { DecodeError } from '../../errors.js';
import { ExtensionType } from './constants.js';
import { Reader, u16, u8, vector16, vector8 } from './wire.js';

export interface Extension {
  type: number;
  data: Buffer;
}

/** Decodes the body of `Extension extensions<0..2^16-1>` (without its length prefix). */
export function decodeExtensionList(block: Buffer): Extension[] {
  const r = new Reader(block, 'TLS extensions');
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (!r.atEnd()) {
    const type = r.u16('extension_type');
    // RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same type."
    if (seen.has(type)) r.fail(`duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, data: r.vector16('extension_data') });
  }
  return out;
}

/** Encodes an extensions block with its 2-octet length. */
export function encodeExtensionList(exts: Extension[]): Buffer {
  return vector16(Buffer.concat(exts.map((e) => Buffer.concat([u16(e.type), vector16(e.data)]))));
}

export const findExtension = (exts: Extension[] | undefined, type: number): Extension | undefined =>
  exts?.find((e) => e.type === type);

/** RFC 6066 §3: the host_name entry of a ServerNameList, if any. */
export function decodeServerName(data: Buffer): string | undefined {
  const r = new Reader(data, 'server_name');
  const list = new Reader(r.vector16('server_name_list', 1), 'server_name');
  r.expectEnd('server_name');
  let host: string | undefined;
  while (!list.atEnd()) {
    const nameType = list.u8('name_type');
    const name = list.vector16('HostName', 1);
    if (nameType === 0 && host === undefined) host = name.toString('ascii');
  }
  return host;
}

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
  maxFragmentLength: (bytes: number): Extension => ({ type: ExtensionType.maxFragmentLength, data: u8(Math.log2(bytes) - 8) }),
  serverName: (host: string): Extension => ({
    type: ExtensionType.serverName,
    data: vector16(Buffer.concat([u8(0), vector16(Buffer.from(host, 'ascii'))])),
  }),
};
