/**
 * Push of a provisioned device's PSK to LwM2M servers that cannot pull (configured per server), in the shape
 * the Eclipse Leshan demo server's security REST API accepts:
 *   Leshan 2.x: PUT {base}/api/security/clients/  {"endpoint", "tls": {"mode": "psk", "details": {"identity", "key": hex}}}
 *   Leshan 1.x: PUT {base}/api/security/clients/  {"endpoint", "psk": {"identity", "key": hex}}
 */
import type { Logger } from '../shared/log.js';
import type { Counter } from '../shared/metrics.js';

export interface PushTarget {
  url: string;
  format: 'leshan2' | 'leshan1';
  token?: string;
}

export function leshanSecurityInfo(
  format: PushTarget['format'],
  endpoint: string,
  identity: string,
  keyHex: string,
): unknown {
  return format === 'leshan1'
    ? { endpoint, psk: { identity, key: keyHex } }
    : { endpoint, tls: { mode: 'psk', details: { identity, key: keyHex } } };
}

export async function pushSecurityInfo(
  t: PushTarget,
  endpoint: string,
  identity: string,
  keyHex: string,
  log: Logger,
  pushes: Counter,
): Promise<boolean> {
  const url = `${t.url.replace(/\/$/, '')}/api/security/clients/`;
  try {
    const r = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(t.token ? { authorization: `Bearer ${t.token}` } : {}) },
      body: JSON.stringify(leshanSecurityInfo(t.format, endpoint, identity, keyHex)),
      signal: AbortSignal.timeout(5000),
    });
    await r.arrayBuffer();
    const ok = r.status >= 200 && r.status < 300;
    pushes.inc({ result: ok ? 'ok' : 'refused' });
    log[ok ? 'info' : 'warn'](
      { event: 'push', target: t.url, endpoint, status: r.status },
      ok ? 'PSK pushed to LwM2M server' : 'LwM2M server refused the PSK push',
    );
    return ok;
  } catch (err) {
    pushes.inc({ result: 'unreachable' });
    log.warn(
      { event: 'push', target: t.url, endpoint, err: (err as Error).message },
      'LwM2M server unreachable for the PSK push',
    );
    return false;
  }
}
