/** The LwM2M server's Prometheus metrics, served at GET /metrics on the REST listener. */
import { Counter, Gauge, type Registry } from '../shared/metrics.js';
import { PSK_LOOKUP_RESULTS } from './psk-source.js';

export const REGISTER_RESULTS = ['created', 'bad_request', 'forbidden', 'unsupported_version'] as const;
export const UPDATE_RESULTS = ['updated', 'bad_request', 'forbidden', 'not_found'] as const;
export const DEREGISTRATION_REASONS = [
  'deregistered',
  'expired',
  'replaced',
  'connection_closed',
  'psk_expired',
] as const;
export const READ_RESULTS = ['ok', 'error_code', 'timeout', 'closed', 'bad_content'] as const;

export interface Lwm2mMetrics {
  /** gba_lwm2m_registrations_total{result}: Register requests by outcome. */
  registrations: Counter;
  /** gba_lwm2m_updates_total{result}: Update requests by outcome. */
  updates: Counter;
  /** gba_lwm2m_deregistrations_total{reason}: registrations that ended, by why. */
  deregistrations: Counter;
  /** gba_lwm2m_tls_handshakes_total{result}: "ok" or the listener's failure reason. */
  handshakes: Counter;
  /** gba_lwm2m_dtls_handshakes_total{result}: "ok" or the alert that ended it. */
  dtlsHandshakes: Counter;
  /** gba_lwm2m_psk_lookups_total{result}. */
  pskLookups: Counter;
  /** gba_lwm2m_reads_total{result}: server-initiated reads. */
  reads: Counter;
  /** gba_lwm2m_psk_lookups_limited_total{transport}: lookups refused by the per-source rate limit (tcp | udp). */
  pskLookupsLimited: Counter;
}

/** Registers every LwM2M metric; `registered` is the live count behind the gba_lwm2m_registrations gauge. */
export function createLwm2mMetrics(registry: Registry, registered: () => number): Lwm2mMetrics {
  registry.register(new Gauge('gba_lwm2m_registrations', 'LwM2M clients registered now.', [], registered));
  const m: Lwm2mMetrics = {
    registrations: registry.register(
      new Counter('gba_lwm2m_registrations_total', 'LwM2M Register requests by result.', ['result']),
    ),
    updates: registry.register(
      new Counter('gba_lwm2m_updates_total', 'LwM2M registration Update requests by result.', ['result']),
    ),
    deregistrations: registry.register(
      new Counter('gba_lwm2m_deregistrations_total', 'LwM2M registrations ended, by reason.', ['reason']),
    ),
    handshakes: registry.register(
      new Counter('gba_lwm2m_tls_handshakes_total', 'TLS-PSK handshakes on the CoAP listener, by result.', ['result']),
    ),
    dtlsHandshakes: registry.register(
      new Counter('gba_lwm2m_dtls_handshakes_total', 'DTLS-PSK handshakes on the CoAP UDP listener, by result.', [
        'result',
      ]),
    ),
    pskLookups: registry.register(new Counter('gba_lwm2m_psk_lookups_total', 'PSK API lookups by result.', ['result'])),
    reads: registry.register(
      new Counter('gba_lwm2m_reads_total', 'Server-initiated LwM2M reads by result.', ['result']),
    ),
    pskLookupsLimited: registry.register(
      new Counter(
        'gba_lwm2m_psk_lookups_limited_total',
        'PSK lookups refused by the per-source rate limit, by transport.',
        ['transport'],
      ),
    ),
  };
  for (const result of REGISTER_RESULTS) m.registrations.init({ result });
  for (const result of UPDATE_RESULTS) m.updates.init({ result });
  for (const reason of DEREGISTRATION_REASONS) m.deregistrations.init({ reason });
  for (const result of PSK_LOOKUP_RESULTS) m.pskLookups.init({ result });
  for (const result of READ_RESULTS) m.reads.init({ result });
  m.handshakes.init({ result: 'ok' });
  m.dtlsHandshakes.init({ result: 'ok' });
  for (const transport of ['tcp', 'udp']) m.pskLookupsLimited.init({ transport });
  return m;
}
