/**
 * The store interfaces every NF uses. Two implementations pass one contract suite: Redis (node-redis 6,
 * shared by NF instances) and in-memory (one process, the zero-setup default).
 */
import type { AlgorithmName } from '../crypto/aka-algorithm.js';
import type { OpsStore } from './ops.js';
import type { Lwm2mRegistrationStore } from './lwm2m-registrations.js';
import type { ScenarioStore } from './scenarios.js';
import type { NafAppStore } from './naf-apps.js';

/** GBA User Security Settings in the TS 29.562 / TS 29.309 JSON shape. */
export interface Guss {
  bsfInfo?: { uiccType?: 'GBA' | 'GBA_U'; lifeTime?: number; securityFeatures?: string[] };
  ussList?: Array<{ uss: Uss }>;
}
export interface Uss {
  gsId: number;
  gsType: number;
  ueIds: Array<{ ueId: string }>;
  nafGroup?: string;
  flags?: Array<{ flag: number }>;
  keyChoice?: 'ME_BASED_KEY' | 'UICC_BASED_KEY' | 'ME_UICC_BASED_KEYS';
}

export interface SubscriberRecord {
  imsi: string;
  k: Buffer; // 16
  opc: Buffer; // 16 (computed from OP when OP was provisioned; unused by XOR)
  op?: Buffer; // 16, when provisioned as OP
  amf: Buffer; // 2
  sqn: number; // SQN_HE, the last SQN used (48-bit)
  algorithm: AlgorithmName;
  resLength: number; // XOR RES length in octets (Milenage: 8)
  impi?: string; // provisioned IMPI overriding the derived one (ISIM-style identities)
  guss?: Guss;
  updatedMs: number;
}

export interface SqnAdvanceOptions {
  indBits: number;
  delta: number;
  /** Resynchronisation: SQN_MS reported (and MAC-S verified) by the USIM. */
  resyncSqnMs?: number;
}

export interface SubscriberStore {
  /** Creates or replaces; resolves true when it was created. */
  put(sub: SubscriberRecord): Promise<boolean>;
  get(imsi: string): Promise<SubscriberRecord | undefined>;
  delete(imsi: string): Promise<boolean>;
  /** IMSIs in ascending order after `after` (exclusive). */
  list(after: string | undefined, limit: number): Promise<{ items: SubscriberRecord[]; total: number }>;
  /** The IMSI provisioned under a custom IMPI. */
  imsiForImpi(impi: string): Promise<string | undefined>;
  /**
   * Atomically (TS 33.102 Annex C): optionally adopt SQN_MS if the USIM would refuse the next SQN_HE,
   * then SQN_HE := next(SQN_HE). Returns the record carrying the new SQN_HE, or undefined if unknown.
   */
  advanceSqn(imsi: string, opts: SqnAdvanceOptions): Promise<SubscriberRecord | undefined>;
}

/** A pending Ub challenge (single use, short TTL), keyed by its nonce. */
export interface Challenge {
  impi: string;
  rand: Buffer;
  autn: Buffer;
  xres: Buffer;
  ck: Buffer;
  ik: Buffer;
  algorithm: 'AKAv1-MD5' | 'AKAv2-MD5';
  opaque: string;
  lifetimeSec: number;
  gbaU: boolean;
}

export interface ChallengeStore {
  create(nonce: string, c: Challenge, ttlMs: number): Promise<void>;
  /** Atomic get-and-delete: a nonce can be answered once, at any BSF instance. */
  consume(nonce: string): Promise<Challenge | undefined>;
  /**
   * Challenges issued to the IMPI and neither answered nor expired, at every BSF instance sharing the store:
   * each spent one authentication vector (one SQN) at the HSS, which the BSF bounds (issue 18 finding 10).
   */
  outstanding(impi: string): Promise<number>;
}

/** A bootstrapping session by B-TID (TS 33.220 §4.5.2); RAND is not stored, it is in the B-TID. */
export interface BootstrapSession {
  btid: string;
  impi: string;
  ks: Buffer; // CK ‖ IK, 32 octets
  createdAtMs: number; // whole seconds on the wire
  expiresAtMs: number;
  gbaU: boolean;
}

export interface SessionStore {
  /** Atomic: false, and nothing changed, if the B-TID is live already. */
  create(s: BootstrapSession): Promise<boolean>;
  get(btid: string): Promise<BootstrapSession | undefined>;
}

/** A NAF-side cached key by B-TID + NAF_Id, expiring with the key. */
export interface NafKeyEntry {
  btid: string;
  nafIdHex: string; // FQDN ‖ Ua id, hex
  keyHex: string; // Ks_(ext)_NAF
  uiccKeyHex?: string; // Ks_int_NAF
  impi: string;
  expiresAtMs: number;
  createdAtMs: number; // bootstrappingInfoCreationTime
  gbaType: string;
  ussList?: Array<{ uss: Uss }>;
}

export interface NafKeyCache {
  get(btid: string, nafIdHex: string): Promise<NafKeyEntry | undefined>;
  put(e: NafKeyEntry): Promise<void>;
}

/** Single-use server nonces (the NAF's Ua HTTP Digest challenges). */
export interface NonceStore {
  create(nonce: string, ttlMs: number): Promise<void>;
  /** Atomic: true once per nonce, while it is live. */
  consume(nonce: string): Promise<boolean>;
}

export interface Stores {
  kind: 'redis' | 'memory';
  subscribers: SubscriberStore;
  challenges: ChallengeStore;
  sessions: SessionStore;
  nafKeys: NafKeyCache;
  nonces: NonceStore;
  /** Session index, revocation and the Ub timeline (C9). */
  ops: OpsStore;
  lwm2mRegistrations: Lwm2mRegistrationStore;
  /** Device fault scenarios (C8), applied by the BSF. */
  scenarios: ScenarioStore;
  /** NAFs (Zn tokens) added at run time through the BSF admin API. */
  nafApps: NafAppStore;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
