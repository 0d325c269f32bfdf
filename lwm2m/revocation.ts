/**
 * Revoked sessions (C9) at the LwM2M server: the TLS listener's PSK answer cache and the PSK source's
 * remembered answers drop the B-TID, so the next (D)TLS handshake asks the NAF, which no longer has the key.
 */
import { btidOfPskIdentity } from '../shared/identifiers.js';

export interface RevocableCaches {
  tlsCache?: { forgetWhere(drop: (identity: string) => boolean): void };
  pskSource: { forgetBtid(btid: string): void };
}

const btidOf = (identity: string): string | undefined => {
  try {
    return btidOfPskIdentity(identity);
  } catch {
    return undefined;
  }
};

export function dropRevoked(btid: string, c: RevocableCaches): void {
  c.tlsCache?.forgetWhere((identity) => btidOf(identity) === btid);
  c.pskSource.forgetBtid(btid);
}
