/** Alert protocol, RFC 5246 §7.2 (+ RFC 4279 §6 unknown_psk_identity). */
import { Reader } from '../wire.js';

export const AlertLevel = { warning: 1, fatal: 2 } as const;

export const AlertDescription = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  handshakeFailure: 40,
  illegalParameter: 47,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  internalError: 80,
  noRenegotiation: 100,
  unknownPskIdentity: 115,
} as const;

export interface Alert {
  level: number;
  description: number;
}

export const encodeAlert = (a: Alert): Buffer => Buffer.from([a.level, a.description]);

export function decodeAlert(data: Buffer): Alert {
  const r = new Reader(data, 'Alert');
  const a = { level: r.u8('level'), description: r.u8('description') };
  r.expectEnd('Alert');
  return a;
}

const NAMES = new Map<number, string>(Object.entries(AlertDescription).map(([k, v]) => [v, k]));
export const alertName = (description: number): string => NAMES.get(description) ?? `alert(${description})`;

/** Thrown inside the handshake to abort it with a fatal alert. The message never contains key material. */
export class FatalAlert extends Error {
  override readonly name = 'FatalAlert';
  constructor(
    readonly description: number,
    readonly reason: string,
  ) {
    super(`${alertName(description)}: ${reason}`);
  }
}
