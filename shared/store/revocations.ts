/**
 * Revocation (C9) as the key caches see it: a check of the store's marker before a freshly fetched key is
 * cached, and a subscription that drops a revoked B-TID's entries at once. The marker is set before the
 * notification goes out (shared/store/ops.ts), so a fetch that races the revocation either sees the marker or
 * has its entry dropped by the notification that follows.
 */
import type { Logger } from '../log.js';
import type { OpsStore } from './ops.js';

export interface RevocationCheck {
  isRevoked(btid: string): Promise<boolean>;
}

/** Drops every entry of `btid` from maps keyed `${btid}\u0000…` (the NAF's process cache and its fetches in flight). */
export function forgetBtid(btid: string, ...maps: Array<Map<string, unknown>>): void {
  const prefix = `${btid}\u0000`;
  for (const m of maps) for (const k of m.keys()) if (k.startsWith(prefix)) m.delete(k);
}

/**
 * Calls every `drop` with each B-TID revoked from now on. Resolves to a stop function; when the store cannot
 * notify (it is down), it logs and resolves to a no-op: the marker check still keeps revoked keys out.
 */
export async function watchRevocations(
  ops: OpsStore,
  log: Logger,
  ...drop: Array<(btid: string) => void>
): Promise<() => Promise<void>> {
  try {
    return await ops.onRevoked((btid) => {
      log.info({ event: 'revoked', btid }, 'session revoked: cached keys dropped');
      for (const d of drop) d(btid);
    });
  } catch (err) {
    log.warn({ err }, 'revocation channel unavailable: cached keys expire on their own');
    return async () => {};
  }
}
