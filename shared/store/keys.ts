/**
 * Every Redis key name, in one place, under one per-deployment prefix (default "gba:").
 *
 * Redis Cluster (issue 16): a Lua script or MULTI may only touch keys of one hash slot, and the slot of a key
 * is the CRC16 of its hash tag — the text between the first `{` and the next `}` — when there is one
 * (Redis Cluster specification, "Hash tags"). So the keys that are written together carry the same tag:
 * `{<IMSI>}` for a subscriber (its SQN is a field of the same hash), `{<B-TID>}` for a session, its NAF key
 * cache entries, their index and its revocation marker. Every other key is on its own; there is no global
 * tag, so keys spread over every master. The same names are used with a single Redis (a tag is just text
 * there); data written under the earlier, untagged names is not migrated (lab data: bootstrap again).
 */
export interface KeyNames {
  subscriber(imsi: string): string; // hash (SQN is its `sqn` field)
  subscriberIndex(): string; // sorted set of IMSIs, for paging
  impi(impi: string): string; // custom IMPI → IMSI
  challenge(nonce: string): string; // pending Ub challenge
  challengeIndex(impi: string): string; // sorted set of one IMPI's pending nonces by expiry
  session(btid: string): string; // bootstrapping session
  nafKey(btid: string, nafIdHex: string): string;
  nafKeyIndex(btid: string): string; // set of the NAF_Ids cached for a B-TID (revocation drops them all)
  nonce(nonce: string): string; // NAF Ua digest nonce
  revoked(btid: string): string; // revocation marker (C9), expiring with the session
  revocations(): string; // pub/sub channel of revoked B-TIDs
  sessionIndex(impi?: string): string; // sorted set of B-TIDs by expiry (all, or one IMPI's)
  events(impi?: string): string; // list of recent Ub outcomes (all, or one IMPI's), newest first
  lwm2mRegistration(id: string): string; // LwM2M registration (JSON)
  lwm2mRegistrationIndex(): string; // sorted set of registration ids by expiry
  scenarios(): string; // hash IMPI → device fault scenario (C8)
  nafApps(): string; // hash: NAF name → NAF added at run time (JSON)
}

/**
 * A hash tag for an identifier. The identifier is escaped (`%` → `%25`, `{` → `%7B`, `}` → `%7D`, injective)
 * so that a hostile one cannot end the tag early or leave it empty (`{}` hashes the whole key): every key of
 * one identifier keeps one slot.
 */
export const hashTag = (id: string): string =>
  `{${id.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'))}}`;

export function keyNames(prefix = 'gba:'): KeyNames {
  // A brace in the prefix would make it the hash tag of every key: one slot, one master.
  if (/[{}]/.test(prefix))
    throw new Error(`store.prefix: must not contain { or } (Redis Cluster hash tags), got ${JSON.stringify(prefix)}`);
  const t = hashTag;
  return {
    subscriber: (imsi) => `${prefix}sub:${t(imsi)}`,
    subscriberIndex: () => `${prefix}subs`,
    impi: (impi) => `${prefix}impi:${t(impi)}`,
    challenge: (nonce) => `${prefix}chal:${t(nonce)}`,
    challengeIndex: (impi) => `${prefix}chalidx:${t(impi)}`,
    session: (btid) => `${prefix}sess:${t(btid)}`,
    nafKey: (btid, nafIdHex) => `${prefix}nafkey:${t(btid)}:${nafIdHex}`,
    nafKeyIndex: (btid) => `${prefix}nafkeys:${t(btid)}`,
    nonce: (nonce) => `${prefix}nonce:${t(nonce)}`,
    revoked: (btid) => `${prefix}revoked:${t(btid)}`,
    revocations: () => `${prefix}revocations`,
    sessionIndex: (impi) => (impi === undefined ? `${prefix}sessidx` : `${prefix}sessidx:${t(impi)}`),
    events: (impi) => (impi === undefined ? `${prefix}events` : `${prefix}events:${t(impi)}`),
    lwm2mRegistration: (id) => `${prefix}lwm2m:reg:${t(id)}`,
    lwm2mRegistrationIndex: () => `${prefix}lwm2m:regs`,
    scenarios: () => `${prefix}scenarios`,
    nafApps: () => `${prefix}nafapps`,
  };
}
