/**
 * The LwM2M phases, pluggable: each variant (CoAP over TLS-PSK, CoAP over DTLS-PSK, …) says whether it can
 * run against this network and, if so, names a cycle module that the load-generator workers load.
 * One cycle is what a device does: (D)TLS-PSK handshake with its GBA key, Register, De-register, close.
 *
 * A variant's `cycleModule` is a module next to this one exporting `createCycle(params: Lwm2mCycleParams):
 * Promise<{ cycle, close? }>` (see load/cycle-load.ts); lwm2m-cycle.ts does both transports with the device
 * agent's own code (device/tls-transport.ts, device/dtls-transport.ts, device/lwm2m-client.ts).
 */
import { ksNaf } from '../shared/crypto/kdf.js';
import type { Endpoints } from '../shared/endpoints.js';
import type { CycleJob } from './load/cycle-load.js';
import type { MadeSession } from './load/bootstrap-load.js';
import type { PhaseTiming } from './phases.js';

/** What a cycle module gets: the server, and per device its PSK identity, PSK and endpoint name. */
export interface Lwm2mCycleParams {
  transport: 'tls' | 'dtls';
  uri: string; // coaps+tcp://host:port (TLS) or coaps://host:port (DTLS)
  /** Concurrent loops in all (devices are split between them). */
  loops: number;
  fqdn: string; // SNI and NAF_Id FQDN
  uaSecProtId: string; // hex10: the suite, and the NAF_Id's Ua id
  devices: Array<{ pskIdentity: string; pskHex: string; endpoint: string }>;
}

interface Lwm2mVariant {
  /** The key under "lwm2m" in the JSON report. */
  key: 'per_s' | 'dtls_per_s';
  transport: 'tls' | 'dtls';
  label: string;
  /** Module (relative to this file, without extension) exporting createCycle; a variant without one is reported as not measured. */
  cycleModule?: string;
  /** The server URI this variant talks to, when the network has one. */
  uri(e: Endpoints): string | undefined;
}

export const LWM2M_VARIANTS: readonly Lwm2mVariant[] = [
  {
    key: 'per_s',
    transport: 'tls',
    label: 'LwM2M TLS-PSK handshake + Register + De-register',
    cycleModule: './lwm2m-cycle',
    uri: (e) => (e.lwm2m?.api ? e.lwm2m.uri : undefined),
  },
  {
    key: 'dtls_per_s',
    transport: 'dtls',
    label: 'LwM2M DTLS-PSK handshake + Register + De-register',
    cycleModule: './lwm2m-cycle',
    uri: (e) => (e.lwm2m?.api ? e.lwm2m.uriDtls : undefined),
  },
];

/** Why a variant cannot be measured against this network, or undefined when it can. */
export function lwm2mUnavailable(v: Lwm2mVariant, e: Endpoints): string | undefined {
  // endpoints.lwm2m exists as soon as the NAF does (C2); `api` only once an LwM2M server runs.
  if (!e.lwm2m?.api) return 'no LwM2M server';
  if (!v.uri(e)) return `the LwM2M server has no ${v.key === 'dtls_per_s' ? 'DTLS' : 'TLS'} listener`;
  if (!v.cycleModule) return 'no device-side cycle plugged in yet (bench/lwm2m.ts)';
  return undefined;
}

/**
 * The devices' side of the key: Ks_NAF for NAF_Id = LwM2M FQDN ‖ Ua id, derived from Ks as the device does
 * (TS 33.220 Annex B.3), and the endpoint name the NAF assigns (from the PSK API, as the server will see it).
 */
export async function lwm2mParams(
  v: Lwm2mVariant,
  e: Endpoints,
  sessions: readonly MadeSession[],
  loops: number,
  count: number,
): Promise<Lwm2mCycleParams> {
  const lw = e.lwm2m!,
    naf = e.naf!;
  const devices: Lwm2mCycleParams['devices'] = [];
  for (const s of sessions.slice(0, count)) {
    const pskIdentity = `3GPP-bootstrapping.${s.btid}`;
    const psk = ksNaf({
      ks: Buffer.from(s.ks, 'hex'),
      rand: Buffer.from(s.rand, 'hex'),
      impi: s.impi,
      nafFqdn: lw.fqdn,
      uaSecProtId: Buffer.from(lw.uaSecProtId, 'hex'),
    });
    const r = await fetch(naf.pskLookup, {
      method: 'POST',
      headers: { authorization: `Bearer ${naf.pskApiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pskIdentity }),
    });
    if (r.status !== 200) throw new Error(`PSK lookup for the LwM2M devices answered ${r.status}`);
    const { endpoint } = (await r.json()) as { endpoint: string };
    devices.push({ pskIdentity, pskHex: psk.toString('hex'), endpoint });
  }
  if (devices.length < loops) throw new Error(`only ${devices.length} bootstrapped devices for ${loops} LwM2M loops`);
  return { transport: v.transport, uri: v.uri(e)!, loops, fqdn: lw.fqdn, uaSecProtId: lw.uaSecProtId, devices };
}

export function lwm2mJob(v: Lwm2mVariant, params: Lwm2mCycleParams, concurrency: number, t: PhaseTiming): CycleJob {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return { kind: 'cycle', module: new URL(`${v.cycleModule}${ext}`, import.meta.url).href, params, concurrency, ...t };
}
