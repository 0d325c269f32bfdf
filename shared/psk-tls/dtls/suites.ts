/** The PSK cipher suites this server speaks, with their key-block layout (RFC 5246 §6.3, RFC 5487, RFC 6655). */

export type SuiteKind = 'ccm8' | 'gcm' | 'cbc-sha256';

export interface SuiteInfo {
  code: number;
  name: string;
  kind: SuiteKind;
  macKeyLength: number;
  keyLength: number;
  /** Implicit IV (AEAD salt) from the key block; 0 for CBC, which sends a random explicit IV per record. */
  fixedIvLength: number;
}

export const TLS_PSK_WITH_AES_128_CCM_8 = 0xc0a8;
export const TLS_PSK_WITH_AES_128_GCM_SHA256 = 0x00a8;
export const TLS_PSK_WITH_AES_128_CBC_SHA256 = 0x00ae;

const SUITES: ReadonlyMap<number, SuiteInfo> = new Map([
  // RFC 6655 §3 / RFC 7925 §4.2: mandatory for LwM2M and the IoT profile.
  [
    TLS_PSK_WITH_AES_128_CCM_8,
    {
      code: TLS_PSK_WITH_AES_128_CCM_8,
      name: 'TLS_PSK_WITH_AES_128_CCM_8',
      kind: 'ccm8',
      macKeyLength: 0,
      keyLength: 16,
      fixedIvLength: 4,
    },
  ],
  // RFC 5487 §3.1, AEAD construction of RFC 5288 §3.
  [
    TLS_PSK_WITH_AES_128_GCM_SHA256,
    {
      code: TLS_PSK_WITH_AES_128_GCM_SHA256,
      name: 'TLS_PSK_WITH_AES_128_GCM_SHA256',
      kind: 'gcm',
      macKeyLength: 0,
      keyLength: 16,
      fixedIvLength: 4,
    },
  ],
  // RFC 5487 §3.2; an LwM2M server MUST support it (LwM2M Transport 1.1 §5.2.8.1).
  [
    TLS_PSK_WITH_AES_128_CBC_SHA256,
    {
      code: TLS_PSK_WITH_AES_128_CBC_SHA256,
      name: 'TLS_PSK_WITH_AES_128_CBC_SHA256',
      kind: 'cbc-sha256',
      macKeyLength: 32,
      keyLength: 16,
      fixedIvLength: 0,
    },
  ],
] as const);

export const suiteInfo = (code: number): SuiteInfo | undefined => SUITES.get(code);

export interface DirectionKeys {
  macKey: Buffer;
  key: Buffer;
  iv: Buffer;
}

export const keyBlockLength = (s: SuiteInfo): number => 2 * (s.macKeyLength + s.keyLength + s.fixedIvLength);

/** Slices the key block in the RFC 5246 §6.3 order: MAC keys, write keys, IVs; client first each time. */
export function splitKeyBlock(s: SuiteInfo, block: Buffer): { client: DirectionKeys; server: DirectionKeys } {
  let pos = 0;
  const take = (n: number): Buffer => {
    const b = block.subarray(pos, pos + n);
    pos += n;
    return Buffer.from(b);
  };
  const clientMac = take(s.macKeyLength);
  const serverMac = take(s.macKeyLength);
  const clientKey = take(s.keyLength);
  const serverKey = take(s.keyLength);
  const clientIv = take(s.fixedIvLength);
  const serverIv = take(s.fixedIvLength);
  return {
    client: { macKey: clientMac, key: clientKey, iv: clientIv },
    server: { macKey: serverMac, key: serverKey, iv: serverIv },
  };
}
