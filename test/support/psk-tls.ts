/** Builders and samples for the LwM2M TLS-PSK listener tests (shared/psk-tls/tls/). */
import { readFileSync } from 'node:fs';

export interface CapturedFlight {
  name: string;
  peer: string;
  clientFlightHex: string;
  expected: {
    clientHello: {
      recordOffset: number;
      cipherSuites: number[];
      alpn: string[];
      supportedVersions: number[];
      pskIdentities: string[];
      serverName?: string;
    };
    clientKeyExchange?: { recordOffset: number; pskIdentity: string };
    ccsOffset: number;
    negotiated: { protocol: string; cipher: string; alpn: string | null };
  };
}

/** test/vectors/psk-tls-client-flights.json: client bytes of real handshakes (Node, openssl s_client, libcoap). */
export function flights(): CapturedFlight[] {
  const v = JSON.parse(readFileSync(new URL('../vectors/psk-tls-client-flights.json', import.meta.url), 'utf8')) as {
    source?: string;
    flights: CapturedFlight[];
  };
  if (!v.source) throw new Error('psk-tls-client-flights.json: vector file without source');
  return v.flights;
}

/** Every way a stream decoder should see the same bytes: whole, byte by byte, and split in two at every offset. */
export function* chunkings(bytes: Uint8Array): Generator<[label: string, chunks: Uint8Array[]]> {
  yield ['whole', [bytes]];
  yield ['byte by byte', Array.from(bytes, (b) => Uint8Array.of(b))];
  for (let i = 1; i < bytes.length; i++) yield [`split at ${i}`, [bytes.subarray(0, i), bytes.subarray(i)]];
}

export const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
export const vec8 = (b: Buffer): Buffer => Buffer.concat([Buffer.of(b.length), b]);
export const vec16 = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);

/** TLSPlaintext, RFC 5246 §6.2.1. */
export const record = (type: number, fragment: Buffer, version = 0x0303): Buffer =>
  Buffer.concat([Buffer.of(type), u16(version), u16(fragment.length), fragment]);

/** Handshake message, RFC 5246 §7.4. */
export const hs = (type: number, body: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([h, body]);
};

export const ext = (type: number, data: Buffer): Buffer => Buffer.concat([u16(type), vec16(data)]);

/** ClientHello body (RFC 5246 §7.4.1.2); `extensions: null` leaves the extensions block out altogether. */
export function clientHello(opts: { suites?: number[]; extensions?: Buffer[] | null } = {}): Buffer {
  const suites = opts.suites ?? [0xc0a8];
  const parts = [
    u16(0x0303),
    Buffer.alloc(32, 0x5a),
    vec8(Buffer.alloc(0)),
    vec16(Buffer.concat(suites.map(u16))),
    vec8(Buffer.of(0)),
  ];
  const exts = opts.extensions === undefined ? [] : opts.extensions;
  if (exts !== null) parts.push(vec16(Buffer.concat(exts)));
  return Buffer.concat(parts);
}
