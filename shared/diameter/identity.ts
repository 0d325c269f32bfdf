/**
 * Default Diameter identities and listener ports of gba-sim's NFs (contract C5): Origin-Realm
 * mnc<MNC>.mcc<MCC>.3gppnetwork.org (TS 23.003 §19.2 home network realm), Origin-Host hss|bsf|naf.<realm>,
 * Zh on 3868 and Zn on 3869 (RFC 6733 port 3868 for the first).
 */
import type { Config } from '../config.js';

const mnc3 = (mnc: string): string => mnc.padStart(3, '0');
export const homeRealm = (c: Pick<Config, 'homeNetwork'>): string =>
  `mnc${mnc3(c.homeNetwork.mnc)}.mcc${c.homeNetwork.mcc}.3gppnetwork.org`;

export interface DiameterIdentity {
  host: string;
  realm: string;
}

export function diameterIdentity(c: Config, nf: 'hss' | 'bsf' | 'naf'): DiameterIdentity {
  const d = c[nf].diameter;
  const realm = d.realm ?? homeRealm(c);
  return { host: d.host ?? `${nf}.${realm}`, realm };
}

/** The listener port: configured, else 3868/3869, or 0 (any) when the NF's HTTP ports are themselves 0. */
export const hssDiameterPort = (c: Config): number => c.hss.diameter.port ?? (c.hss.port === 0 ? 0 : 3868);
export const bsfDiameterPort = (c: Config): number => c.bsf.diameter.port ?? (c.bsf.znPort === 0 ? 0 : 3869);

/** aaa://host:port[;transport=tcp] → host and port (default 3868, RFC 6733 §4.3.1). */
export function parseAaaUri(uri: string): { host: string; port: number } {
  const m = /^aaa:\/\/([^:;/]+)(?::(\d+))?/.exec(uri);
  if (!m) throw new Error(`not a Diameter URI: ${uri}`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 3868 };
}
