/** Every Redis key name, in one place, under one per-deployment prefix (default "gba:"). */
export interface KeyNames {
  subscriber(imsi: string): string;     // hash
  subscriberIndex(): string;            // sorted set of IMSIs, for paging
  impi(impi: string): string;           // custom IMPI → IMSI
  challenge(nonce: string): string;     // pending Ub challenge
  challengeIndex(impi: string): string; // sorted set of one IMPI's pending nonces by expiry
  session(btid: string): string;        // bootstrapping session
  nafKey(btid: string, nafIdHex: string): string;
  nonce(nonce: string): string;         // NAF Ua digest nonce
  revoked(btid: string): string;        // revocation marker (C9), expiring with the session
  revocations(): string;                // pub/sub channel of revoked B-TIDs
  sessionIndex(impi?: string): string;  // sorted set of B-TIDs by expiry (all, or one IMPI's)
  events(impi?: string): string;        // list of recent Ub outcomes (all, or one IMPI's), newest first
  lwm2mRegistration(id: string): string; // LwM2M registration (JSON)
  lwm2mRegistrationIndex(): string;     // sorted set of registration ids by expiry
  nafApps(): string;                    // hash: NAF name → NAF added at run time (JSON)
}

export function keyNames(prefix = 'gba:'): KeyNames {
  return {
    subscriber: (imsi) => `${prefix}sub:${imsi}`,
    subscriberIndex: () => `${prefix}subs`,
    impi: (impi) => `${prefix}impi:${impi}`,
    challenge: (nonce) => `${prefix}chal:${nonce}`,
    challengeIndex: (impi) => `${prefix}chalidx:${impi}`,
    session: (btid) => `${prefix}sess:${btid}`,
    nafKey: (btid, nafIdHex) => `${prefix}nafkey:${btid}:${nafIdHex}`,
    nonce: (nonce) => `${prefix}nonce:${nonce}`,
    revoked: (btid) => `${prefix}revoked:${btid}`,
    revocations: () => `${prefix}revocations`,
    sessionIndex: (impi) => (impi === undefined ? `${prefix}sessidx` : `${prefix}sessidx:${impi}`),
    events: (impi) => (impi === undefined ? `${prefix}events` : `${prefix}events:${impi}`),
    lwm2mRegistration: (id) => `${prefix}lwm2m:reg:${id}`,
    lwm2mRegistrationIndex: () => `${prefix}lwm2m:regs`,
    nafApps: () => `${prefix}nafapps`,
  };
}
