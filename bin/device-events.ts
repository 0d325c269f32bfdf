/**
 * Readable logs for people (issue 11): `up` turns the NFs' JSON log records about devices into one line each —
 * time, device, step, outcome — while the JSON lines stay in <stateDir>/logs/. No secrets reach these records
 * (the NFs never log keys), and only named fields are shown.
 */
export interface LogRecord {
  event?: string;
  level?: string;
  time?: string | number;
  [k: string]: unknown;
}

const s = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

function describe(nf: string, r: LogRecord): string | undefined {
  switch (r.event) {
    case 'ub': {
      const who = s(r.impi) || '(no IMPI)';
      if (r.outcome === 'ok') return `${who}  Ub bootstrap  ok, B-TID ${s(r.btid)}`;
      if (r.outcome === 'challenge')
        return r.challenge === 'initial'
          ? `${who}  Ub challenge  sent`
          : `${who}  Ub challenge  sent again (${s(r.challenge).replace('_', ' ')})`;
      if (r.challenge) return `${who}  Ub bootstrap  ${s(r.outcome)}, fresh challenge sent`;
      return `${who}  Ub bootstrap  FAILED: ${s(r.outcome)} (HTTP ${s(r.status)})`;
    }
    case 'ua':
      return r.outcome === 'ok'
        ? `${s(r.endpoint)}  Ua provisioning  ok (B-TID ${s(r.btid)})`
        : `(device)  Ua provisioning  refused: ${s(r.outcome)} (HTTP ${s(r.status)})`;
    case 'lwm2m.registered':
      return `${s(r.endpoint)}  LwM2M register  ok (lifetime ${s(r.lifetimeSec)} s)`;
    case 'lwm2m.deregistered':
      return `${s(r.endpoint)}  LwM2M registration ended (${s(r.reason)})`;
    case 'lwm2m.register-refused':
      return `${s(r.pskIdentity)}  LwM2M register  REFUSED ${s(r.code)}: ${s(r.reason)}`;
    case 'lwm2m.peer-refused':
      return `${s(r.pskIdentity)}  LwM2M (D)TLS  refused: the PSK API does not know this identity`;
    case 'admin.revoke':
      return `${s(r.btid)}  session revoked by the admin API`;
    default:
      return undefined;
  }
}

/** One line for a device event, or undefined for any other record. */
export function humanDeviceEvent(nf: string, r: LogRecord, now: Date = new Date()): string | undefined {
  const d = describe(nf, r);
  if (!d) return undefined;
  return `${now.toISOString().slice(11, 19)}  ${d}`;
}
