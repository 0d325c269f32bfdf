/**
 * LwM2M registrations in the store (issue 14): what a restarted LwM2M server needs to list its clients again
 * and accept their Update (LwM2M Core 1.1 §6.2.2) without a new Register. Each record expires with the
 * registration (lastUpdate + lifetime); the server also deletes it on De-register and on any other end.
 */
export interface StoredRegistration {
  registrationId: string;
  endpoint: string;
  /** Location-Path the client was given: ["rd", registrationId]. */
  location: string[];
  lwm2mVersion: string;
  lifetimeSec: number;
  binding: string;
  queueMode: boolean;
  sms?: string;
  links: Array<{ path: string; params: Record<string, string | true> }>;
  objects: Array<{ objectId: number; version?: string; instances: number[] }>;
  rootPath: string;
  contentFormats: number[];
  extra: Record<string, string | true>;
  registeredAtMs: number;
  lastUpdateMs: number;
  /** Who may Update it: the same PSK identity over the same transport. Never the key. */
  transport: 'tcp' | 'udp';
  address: string;
  pskIdentity: string;
  btid: string;
  impi: string;
  /** The endpoint the identity may register (from the NAF's PSK API). */
  identityEndpoint: string;
  uaSecProtId: string;
  /** When the bootstrapping key expires (epoch ms). */
  pskExpiresAtMs: number;
}

export interface Lwm2mRegistrationStore {
  /** Creates or replaces; the record lives until `expiresAtMs`. */
  put(r: StoredRegistration, expiresAtMs: number): Promise<void>;
  get(registrationId: string): Promise<StoredRegistration | undefined>;
  /** Every live record (at most `limit`, default 10000). */
  list(limit?: number): Promise<StoredRegistration[]>;
  delete(registrationId: string): Promise<boolean>;
}

/** Parses a stored record; undefined for anything that is not one (a record of another version, say). */
export function decodeRegistration(json: string): StoredRegistration | undefined {
  try {
    const r = JSON.parse(json) as StoredRegistration;
    return typeof r.registrationId === 'string' &&
      typeof r.endpoint === 'string' &&
      Array.isArray(r.location) &&
      typeof r.lifetimeSec === 'number'
      ? r
      : undefined;
  } catch {
    return undefined;
  }
}

export const encodeRegistration = (r: StoredRegistration): string => JSON.stringify(r);
