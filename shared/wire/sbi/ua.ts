/**
 * The device configuration the NAF serves on Ua behind GBA HTTP Digest (docs/contracts.md C3; TS 24.109 clause 5):
 *
 *   GET {ua}device/v1/config → 200 {"endpoint", "serverUri", "serverFqdn", "pskIdentity", "uaSecProtId",
 *                                   "expiresAt", "serverUriDtls"?}
 *
 * Produced by the NAF, consumed by the device agent.
 */
import { z } from 'zod';

export const UA_DEVICE_CONFIG_PATH = 'device/v1/config';

/** Extra members are allowed (the NAF may grow the answer compatibly). */
export const DeviceConfigSchema = z.object({
  endpoint: z.string(),
  serverUri: z.string(),
  serverFqdn: z.string(),
  pskIdentity: z.string(),
  uaSecProtId: z.string(),
  expiresAt: z.string(),
  serverUriDtls: z.string().optional(),
});
export type DeviceConfig = z.infer<typeof DeviceConfigSchema>;
