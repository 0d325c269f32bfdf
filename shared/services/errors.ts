/**
 * Domain errors of the inter-NF services (Zh, Zn), whatever the binding (HTTP/SBI or Diameter). Each binding
 * maps them to its own wire form: on N65/N66 a problem+json status, on Diameter an Experimental-Result
 * (TS 29.109 §6.3: 5401 DIAMETER_ERROR_USER_UNKNOWN, 5402 DIAMETER_ERROR_NOT_AUTHORIZED,
 * 5403 DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID) — see docs/standards-notes/gba.md §4.
 */

/** The HSS has no subscriber for the IMPI (N65 404 USER_NOT_FOUND; Zh 5401). */
export class UserUnknown extends Error {
  override readonly name = 'UserUnknown';
}

/** The HSS refused the request, e.g. a resynchronisation whose MAC-S did not verify (N65 403). */
export class HssRefused extends Error {
  override readonly name = 'HssRefused';
}

/** The BSF does not know the B-TID, or it has expired or been revoked (N66 404; Zn 5403). */
export class BtidUnknown extends Error {
  override readonly name = 'BtidUnknown';
}

/** The NAF may not ask for keys for that NAF_Id (N66 403 NAF_NOT_AUTHORIZED; Zn 5402). */
export class NafNotAuthorized extends Error {
  override readonly name = 'NafNotAuthorized';
}

/** The peer could not be reached, timed out or answered something unusable: callers answer 503. */
export { PeerUnavailable } from '../http/client.js';
