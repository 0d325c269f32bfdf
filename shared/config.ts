/**
 * Configuration for `gba-sim up` and every NF (contract C1): one document (JSON or YAML) with a section per
 * NF. Precedence: defaults < file < command-line flags < environment. Every problem is reported at once.
 * Values derived from others (the BSF domain from MCC/MNC, URLs from ports) are filled in after validation.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { bsfDomain, defaultLwm2mFqdn, defaultNafFqdn } from './identifiers.js';
import { redactUrlCredentials } from './redact.js';

const Port = z.number().int().min(0).max(65535);
const Token = z
  .string()
  .regex(/^[A-Za-z0-9\-._~+/]{16,}=*$/, 'must be at least 16 characters of the RFC 6750 token alphabet');
const Fqdn = z
  .string()
  .regex(
    /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    'must be a DNS name',
  );
const UaId = z
  .string()
  .regex(/^[0-9a-fA-F]{10}$/, 'must be 5 octets as 10 hex digits')
  .transform((s) => s.toLowerCase());
const Host = z.string().min(1);

export const NafAccessSchema = z.strictObject({
  name: z.string().min(1),
  token: Token,
  /** NAF group for USS selection (TS 33.220 §4.4.6). */
  group: z.string().optional(),
  /** The NAF_Ids this NAF may request keys for (FQDN ‖ Ua id); any Ua id when uaSecProtId is left out. */
  fqdns: z.array(z.strictObject({ fqdn: Fqdn, uaSecProtId: UaId.optional() })).min(1),
  /** The NAF's Diameter identity (Origin-Host) on Zn (TS 29.109 §5); the same FQDN allow-list applies. */
  diameterHost: z.string().min(1).optional(),
});

/** A Diameter peer URI (RFC 6733 §4.3.1 DiameterURI), TCP only. */
const AaaUri = z
  .string()
  .regex(/^aaa:\/\/[^:;/]+(:\d+)?(;transport=tcp)?$/, 'must be aaa://HOST[:PORT][;transport=tcp]');
/** Diameter identities: defaults hss|bsf|naf.<realm>, realm mnc<MNC>.mcc<MCC>.3gppnetwork.org (shared/diameter/identity.ts). */
const DiameterIdentity = { host: Fqdn.optional(), realm: Fqdn.optional() };

export const PushTargetSchema = z.strictObject({
  /** Base URL of the LwM2M server's REST API, e.g. http://leshan:8080 */
  url: z.url(),
  /** Leshan 2.x (`tls.mode psk`) or Leshan 1.x (`psk`) security-info shape. */
  format: z.enum(['leshan2', 'leshan1']).default('leshan2'),
  token: z.string().optional(),
});

export const ConfigSchema = z.strictObject({
  homeNetwork: z
    .strictObject({
      mcc: z
        .string()
        .regex(/^\d{3}$/, 'must be 3 digits')
        .default('001'),
      mnc: z
        .string()
        .regex(/^\d{2,3}$/, 'must be 2 or 3 digits')
        .default('01'),
    })
    .prefault({}),
  stateDir: z.string().default('./.gba-sim'),
  store: z
    .strictObject({
      kind: z.enum(['auto', 'redis', 'memory']).default('auto'),
      redisUrl: z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// URL')
        .optional(),
      prefix: z.string().default('gba:'),
      /** redisUrl is a seed node of a Redis Cluster (issue 16). */
      cluster: z.boolean().default(false),
    })
    .prefault({}),
  /** Worker processes per HTTP NF (hss-mock, bsf, naf) on the same ports (node:cluster; issue 16). */
  workers: z.number().int().min(1).max(64).default(1),
  log: z
    .strictObject({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      /** `up`'s <stateDir>/logs/<nf>.log: rotated before it grows past this many octets (default 10 MiB). */
      maxFileBytes: z
        .number()
        .int()
        .min(1024)
        .default(10 * 1024 * 1024),
      /** Rotated files kept per NF (<nf>.log.1 … .N; default 5; 0 = drop old lines). */
      keepFiles: z.number().int().min(0).max(100).default(5),
    })
    .prefault({}),
  hss: z
    .strictObject({
      host: Host.default('127.0.0.1'),
      port: Port.default(8082),
      adminToken: Token.optional(),
      /** Tokens of the BSFs allowed on Zh/N65. */
      zhTokens: z.array(Token).default([]),
      indBits: z.number().int().min(0).max(10).default(5),
      delta: z
        .number()
        .int()
        .min(1)
        .default(2 ** 28),
      /** Zh over Diameter (TS 29.109 §4): always listening; port default 3868 (any free port when hss.port is 0). */
      diameter: z
        .strictObject({
          ...DiameterIdentity,
          port: Port.optional(),
          allowedPeers: z.array(z.string().min(1)).default([]),
        })
        .prefault({}),
    })
    .prefault({}),
  bsf: z
    .strictObject({
      host: Host.default('127.0.0.1'),
      ubPort: Port.default(8080),
      znPort: Port.default(8081),
      /** Realm and B-TID domain; default bsf.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org. */
      domain: Fqdn.optional(),
      hssUrl: z.url().optional(),
      hssToken: Token.optional(),
      lifetimeSec: z
        .number()
        .int()
        .min(1)
        .max(7 * 86400)
        .default(3600),
      challengeTtlSec: z.number().int().min(1).max(3600).default(30),
      akaAlgorithm: z.enum(['AKAv1-MD5', 'AKAv2-MD5']).default('AKAv1-MD5'),
      gussCacheSec: z.number().int().min(0).default(30),
      /** Challenges one IMPI may have outstanding (each spent an SQN); 32 = the USIM's IND slots (hss.indBits 5). */
      maxOutstandingChallengesPerImpi: z.number().int().min(1).default(32),
      /** Ub requests costing a fresh vector without authenticating, per source address per second; over it 429. */
      ubRatePerSource: z.number().positive().default(1000),
      /** Such requests a source address may make at once (token bucket size). */
      ubBurstPerSource: z.number().int().min(1).default(1000),
      nafs: z.array(NafAccessSchema).default([]),
      /** How the BSF reaches the HSS: N65 JSON (http) or Zh Diameter MAR/MAA (diameter). */
      zhTransport: z.enum(['http', 'diameter']).default('http'),
      /** Zn over Diameter (TS 29.109 §5): always listening; port default 3869 (any free port when bsf.znPort is 0). */
      diameter: z
        .strictObject({
          ...DiameterIdentity,
          port: Port.optional(),
          hssUri: AaaUri.optional(),
          hssHost: Fqdn.optional(),
          hssRealm: Fqdn.optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  naf: z
    .strictObject({
      host: Host.default('127.0.0.1'),
      uaPort: Port.default(8083),
      pskPort: Port.default(8084),
      fqdn: Fqdn.optional(),
      znUrl: z.url().optional(),
      znToken: Token.optional(),
      pskApiToken: Token.optional(),
      endpointPolicy: z.enum(['uuid', 'imsi']).default('uuid'),
      tenantSecretFile: z.string().optional(),
      nonceTtlSec: z.number().int().min(1).max(3600).default(60),
      /** Ua over HTTPS (TS 33.222 §5.3): server certificate, then GBA HTTP Digest; on when cert and key are given. */
      uaHttps: z
        .strictObject({
          /** Default 8087; any free port when naf.uaPort is 0. */
          port: Port.optional(),
          /** PEM files: the NAF's certificate (chain) and key; `up` generates a lab CA and both into <stateDir>/tls/. */
          cert: z.string().optional(),
          key: z.string().optional(),
          /** The CA certificate devices trust (written into endpoints.json as naf.ca). */
          ca: z.string().optional(),
        })
        .prefault({}),
      /** Ua over TLS-PSK (TS 33.222 §5.4): PSK identity = B-TID, key Ks_NAF for fqdn ‖ 01 00 01 ‖ suite. */
      uaPsk: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** Default 8088; any free port when naf.uaPort is 0. */
          port: Port.optional(),
          /** The one TLS 1.2 PSK suite, by its Ua id (default 01000100a8 = TLS_PSK_WITH_AES_128_GCM_SHA256). */
          uaSecProtId: UaId.default('01000100a8'),
        })
        .prefault({}),
      /** How the NAF reaches the BSF: N66 JSON (http) or Zn Diameter BIR/BIA (diameter). */
      znTransport: z.enum(['http', 'diameter']).default('http'),
      diameter: z
        .strictObject({
          ...DiameterIdentity,
          bsfUri: AaaUri.optional(),
          bsfHost: Fqdn.optional(),
          bsfRealm: Fqdn.optional(),
        })
        .prefault({}),
      lwm2m: z
        .strictObject({
          fqdn: Fqdn.optional(),
          uaSecProtId: UaId.default('010001c0a8'),
          uri: z
            .string()
            .regex(/^coaps?(\+tcp)?:\/\//, 'must be a coap(s)(+tcp):// URI')
            .optional(),
          /** The CoAP over DTLS URI, when the LwM2M server also listens on UDP. */
          uriDtls: z
            .string()
            .regex(/^coaps:\/\//, 'must be a coaps:// URI')
            .optional(),
          push: z.array(PushTargetSchema).default([]),
        })
        .prefault({}),
    })
    .prefault({}),
  lwm2m: z
    .strictObject({
      host: Host.default('127.0.0.1'),
      port: Port.default(5684),
      /** Where the REST API listens: its own address, loopback unless set (it is an admin API; C5 token). */
      apiHost: Host.default('127.0.0.1'),
      apiPort: Port.default(8085),
      /** The server's FQDN (NAF_Id of its keys); default naf.lwm2m.fqdn. */
      fqdn: Fqdn.optional(),
      /** Ua id of the TLS listener's one PSK suite; default naf.lwm2m.uaSecProtId (010001c0a8, CCM_8). */
      uaSecProtId: UaId.optional(),
      /** Also serve CoAP over DTLS on UDP at the same port number. */
      dtls: z.boolean().default(true),
      /** DTLS: also offer TLS_PSK_WITH_AES_128_GCM_SHA256 (CCM_8 and CBC_SHA256 always). */
      dtlsGcm: z.boolean().default(false),
      /** DTLS: RFC 9146 Connection ID when the client asks for it. */
      dtlsConnectionId: z.boolean().default(true),
      pskLookupUrl: z.url().optional(),
      pskApiToken: Token.optional(),
      tls13: z.boolean().default(false),
      /** DTLS handshakes in progress (after the cookie), all addresses; full → the busiest address's oldest goes. */
      dtlsMaxHalfOpen: z.number().int().min(1).default(1000),
      /** DTLS handshakes in progress per source IP address; full → that address's oldest goes. */
      dtlsMaxHalfOpenPerAddress: z.number().int().min(1).default(32),
      /** A DTLS handshake not finished in this time is dropped. */
      dtlsHandshakeTimeoutSec: z.number().int().min(1).max(300).default(10),
      /** Established DTLS associations, all addresses; full → the least recently active goes. */
      dtlsMaxAssociations: z.number().int().min(1).default(10_000),
      /** Established DTLS associations per source IP address; full → that address's least recently active goes. */
      dtlsMaxAssociationsPerAddress: z.number().int().min(1).default(256),
      /** A DTLS association with no Register yet is dropped after this long idle; a registration's lifetime extends it. */
      dtlsIdleTimeoutSec: z.number().int().min(1).default(300),
      /** PSK API lookups each source IP address may cause per second (TLS and DTLS); over it, unknown_psk_identity. */
      pskLookupRatePerSource: z.number().positive().default(1000),
      /** Lookups a source address may cause at once (token bucket size). */
      pskLookupBurstPerSource: z.number().int().min(1).default(1000),
      /** CoAP requests of one peer (TLS connection or DTLS association) handled at once; over it reading pauses (TCP) or 5.03 (UDP). */
      coapMaxRequestsInProgress: z.number().int().min(1).max(1024).default(16),
      /** A CoAP over TLS peer whose output stays backed up (it does not read) this long is closed. */
      coapWriteStallTimeoutSec: z.number().int().min(1).max(3600).default(30),
      /** Octets queued for one CoAP over TLS peer beyond which it is closed at once. */
      coapMaxQueuedOutputBytes: z
        .number()
        .int()
        .min(16_384)
        .default(1024 * 1024),
    })
    .prefault({}),
  /** Contract C5: one Bearer token opens every admin API (BSF admin, console's upstreams); `up` generates it. */
  admin: z.strictObject({ token: Token.optional() }).prefault({}),
  /** The web console (`gba-sim console`, C5/C9): where it listens and the APIs it talks to. */
  console: z
    .strictObject({
      host: Host.default('127.0.0.1'),
      port: Port.default(8086),
      /** endpoints.json of the network it shows (default <stateDir>/endpoints.json). */
      endpointsFile: z.string().optional(),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
/** The configuration after derivation: every value an NF needs is present. */
export interface ResolvedConfig extends Config {
  bsf: Config['bsf'] & { domain: string };
  naf: Config['naf'] & { fqdn: string; tenantSecretFile: string; lwm2m: Config['naf']['lwm2m'] & { fqdn: string } };
  lwm2m: Config['lwm2m'] & { fqdn: string; uaSecProtId: string };
}

/** One schema problem, for callers that name the value the way the user gave it (the CLI's flags). */
export interface ConfigIssue {
  path: string;
  code: string;
  message: string;
  value: unknown;
  values?: readonly unknown[];
  origin?: unknown;
  expected?: unknown;
  minimum?: unknown;
  maximum?: unknown;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    readonly issues: readonly ConfigIssue[] = [],
  ) {
    super(problems.join('\n'));
  }
}

const valueAt = (o: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    o,
  );

/** Reads a JSON or YAML file (by content: JSON is valid YAML, but JSON errors read better from JSON.parse). */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: ${(err as Error).message}`]);
  }
  try {
    return /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError([
      `${file}: not valid ${/^\s*[{[]/.test(text) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    ]);
  }
}

/** Sets `value` at a dotted path, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

/** Environment variables that override the file and flags (documented in README). */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string; type: 'string' | 'number' | 'boolean' }> = [
  { env: 'REDIS_URL', path: 'store.redisUrl', type: 'string' },
  { env: 'GBA_STORE', path: 'store.kind', type: 'string' },
  { env: 'GBA_STORE_PREFIX', path: 'store.prefix', type: 'string' },
  { env: 'GBA_STATE_DIR', path: 'stateDir', type: 'string' },
  { env: 'GBA_LOG_LEVEL', path: 'log.level', type: 'string' },
  { env: 'GBA_MCC', path: 'homeNetwork.mcc', type: 'string' },
  { env: 'GBA_MNC', path: 'homeNetwork.mnc', type: 'string' },
  { env: 'GBA_BSF_DOMAIN', path: 'bsf.domain', type: 'string' },
  { env: 'GBA_BSF_LIFETIME_SEC', path: 'bsf.lifetimeSec', type: 'number' },
  { env: 'GBA_BSF_CHALLENGE_TTL_SEC', path: 'bsf.challengeTtlSec', type: 'number' },
  { env: 'GBA_BSF_AKA_ALGORITHM', path: 'bsf.akaAlgorithm', type: 'string' },
  { env: 'GBA_HSS_ADMIN_TOKEN', path: 'hss.adminToken', type: 'string' },
  { env: 'GBA_ADMIN_TOKEN', path: 'admin.token', type: 'string' },
  { env: 'GBA_NAF_FQDN', path: 'naf.fqdn', type: 'string' },
  { env: 'GBA_NAF_ENDPOINT_POLICY', path: 'naf.endpointPolicy', type: 'string' },
  { env: 'GBA_PSK_API_TOKEN', path: 'naf.pskApiToken', type: 'string' },
  { env: 'GBA_LWM2M_FQDN', path: 'naf.lwm2m.fqdn', type: 'string' },
  { env: 'GBA_LWM2M_UA_ID', path: 'naf.lwm2m.uaSecProtId', type: 'string' },
];

function envValue(raw: string, type: 'string' | 'number' | 'boolean'): unknown {
  if (type === 'number') return raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw);
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

export interface LoadConfigInput {
  file?: string;
  /** Flag values by dotted path (only flags the user gave). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** defaults < file < flags < environment; validates everything and derives the dependent values. */
export function loadConfig(input: LoadConfigInput = {}): ResolvedConfig {
  const raw: Record<string, unknown> = input.file
    ? ((readConfigFile(input.file) as Record<string, unknown>) ?? {})
    : {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError([`${input.file}: the top level must be a mapping`]);
  for (const [path, value] of Object.entries(input.flags ?? {})) if (value !== undefined) setPath(raw, path, value);
  const env = input.env ?? process.env;
  for (const o of ENV_OVERRIDES)
    if (env[o.env] !== undefined && env[o.env] !== '') setPath(raw, o.path, envValue(env[o.env]!, o.type));
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`),
      r.error.issues.map((i) => ({
        path: i.path.join('.'),
        code: i.code,
        message: i.message,
        value: valueAt(raw, i.path),
        ...('values' in i ? { values: i.values } : {}),
        ...('origin' in i ? { origin: i.origin } : {}),
        ...('expected' in i ? { expected: i.expected } : {}),
        ...('minimum' in i ? { minimum: i.minimum } : {}),
        ...('maximum' in i ? { maximum: i.maximum } : {}),
      })),
    );
  }
  return derive(r.data);
}

export function derive(c: Config): ResolvedConfig {
  const stateDir = resolve(c.stateDir);
  const problems: string[] = [];
  const ports = [
    ['bsf.ubPort', c.bsf.ubPort],
    ['bsf.znPort', c.bsf.znPort],
    ['hss.port', c.hss.port],
    ['naf.uaPort', c.naf.uaPort],
    ['naf.pskPort', c.naf.pskPort],
    ['lwm2m.port', c.lwm2m.port],
    ['lwm2m.apiPort', c.lwm2m.apiPort],
  ] as const;
  const seen = new Map<number, string>();
  for (const [name, port] of ports) {
    if (port === 0) continue;
    if (seen.has(port)) problems.push(`${name}: port ${port} is already used by ${seen.get(port)}`);
    else seen.set(port, name);
  }
  if (c.store.kind === 'redis' && !c.store.redisUrl)
    problems.push('store.redisUrl: required when store.kind is redis (or set REDIS_URL)');
  if (c.store.cluster && (c.store.kind === 'memory' || !c.store.redisUrl))
    problems.push('store.cluster: needs store.redisUrl, a seed node of the Redis Cluster');
  if (/[{}]/.test(c.store.prefix)) problems.push('store.prefix: must not contain { or } (Redis Cluster hash tags)');
  if (c.workers > 1 && c.store.kind === 'memory')
    problems.push('workers: more than one worker needs a shared store (Redis), not memory');
  if (problems.length) throw new ConfigError(problems);
  const lwm2mFqdn = c.naf.lwm2m.fqdn ?? defaultLwm2mFqdn(c.homeNetwork);
  return {
    ...c,
    stateDir,
    lwm2m: { ...c.lwm2m, fqdn: c.lwm2m.fqdn ?? lwm2mFqdn, uaSecProtId: c.lwm2m.uaSecProtId ?? c.naf.lwm2m.uaSecProtId },
    bsf: { ...c.bsf, domain: c.bsf.domain ?? bsfDomain(c.homeNetwork) },
    naf: {
      ...c.naf,
      fqdn: c.naf.fqdn ?? defaultNafFqdn(c.homeNetwork),
      tenantSecretFile: c.naf.tenantSecretFile ? resolve(c.naf.tenantSecretFile) : join(stateDir, 'tenant-secret'),
      lwm2m: { ...c.naf.lwm2m, fqdn: lwm2mFqdn },
    },
  };
}

/** The Ua HTTPS and TLS-PSK ports (C11): 8087 and 8088 by default, any free port (0) when naf.uaPort is 0. */
export const nafUaTlsPorts = (c: Pick<Config, 'naf'>): { https: number; psk: number } => ({
  https: c.naf.uaHttps.port ?? (c.naf.uaPort === 0 ? 0 : 8087),
  psk: c.naf.uaPsk.port ?? (c.naf.uaPort === 0 ? 0 : 8088),
});

const SECRET_KEYS = new Set(['adminToken', 'zhTokens', 'hssToken', 'token', 'znToken', 'pskApiToken']);

/** A copy with every token replaced by "[redacted]", and the password of every URL (store.redisUrl), for the effective-config file and logs. */
export function redactConfig(c: unknown): unknown {
  if (Array.isArray(c)) return c.map(redactConfig);
  if (c && typeof c === 'object') {
    return Object.fromEntries(
      Object.entries(c).map(([k, v]) => [
        k,
        SECRET_KEYS.has(k) && v !== undefined
          ? Array.isArray(v)
            ? v.map(() => '[redacted]')
            : '[redacted]'
          : redactConfig(v),
      ]),
    );
  }
  return typeof c === 'string' ? redactUrlCredentials(c) : c;
}
