/**
 * The LwM2M endpoint client name of a device, from the IMSI inside its IMPI, by the configured policy:
 * `urn:imsi:<IMSI>` or the privacy-preserving `urn:uuid:` (HMAC of the IMSI under the tenant secret).
 * The same name comes out at every re-bootstrap and restart. An IMPI without an IMSI (ISIM-style) gets the
 * uuid form computed over the whole IMPI, whatever the policy, since there is no IMSI to show.
 */
import { endpointName, hmacUuidUrn, imsiOfUserId, type EndpointPolicy } from '../shared/identifiers.js';

export function endpointForImpi(policy: EndpointPolicy, impi: string, tenantSecret: Uint8Array): string {
  const imsi = imsiOfUserId(impi);
  return imsi ? endpointName(policy, imsi, tenantSecret) : hmacUuidUrn(tenantSecret, impi);
}
