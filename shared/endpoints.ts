/**
 * endpoints.json (docs/contracts.md C2): where each running NF listens and the tokens a client needs.
 * `gba-sim up` (bin/network.ts) writes it; the client commands, the bench and the tests read it.
 */

/** The network functions, in start order. */
export const NF_ORDER = ['hss-mock', 'bsf', 'naf', 'lwm2m'] as const;
export type NfName = (typeof NF_ORDER)[number];

/** C5: a Diameter listener and the identity (Origin-Host/Origin-Realm) it answers with. */
export interface DiameterEndpoint {
  uri: string;
  host: string;
  realm: string;
}

export interface Endpoints {
  hss: { provisioning: string; adminToken: string; diameter?: DiameterEndpoint };
  bsf: { ub: string; realm: string; zn: string; admin?: string; diameter?: DiameterEndpoint };
  naf?: {
    fqdn: string;
    ua: string;
    pskLookup: string;
    pskApiToken: string;
    diameter?: { host: string; realm: string };
    /** C11: Ua over HTTPS (TS 33.222 §5.3) and over TLS-PSK (§5.4), and the lab CA that signed the NAF's certificate. */
    uaHttps?: string;
    uaPsk?: string;
    ca?: string;
  };
  lwm2m?: { fqdn: string; uri: string; uaSecProtId: string; api?: string; uriDtls?: string };
  store?: { kind: 'redis' | 'memory'; redisUrl?: string; embedded?: boolean; dir?: string };
  console?: { url: string };
  admin?: { token: string };
  homeNetwork?: { mcc: string; mnc: string };
}
