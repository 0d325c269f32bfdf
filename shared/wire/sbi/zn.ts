/**
 * Zn over HTTP, the TS 29.309 (N66, Nbsp_GBA) shapes the BSF produces and the NAF consumes:
 *
 *   POST /nbsp-gba/v1/bootstrapping-info-retrieval
 *        BootstrappingInfoRequest {btId, nafId: {nafFqdn, uaSecProtId}, gbaUAware?, gsIds?, suppFeat?}
 *      → 200 BootstrappingInfo {meKeyMaterial, uiccKeyMaterial?, keyExpiryTime, bootstrappingInfoCreationTime,
 *                               ussList?, gbaType, impi}
 *
 * 403 cause NAF_NOT_AUTHORIZED (like Diameter 5402), 404 cause BTID_NOT_FOUND (like 5403).
 */
import { z } from 'zod';
import { DateTimeSchema, hexOctets, UaSecProtIdSchema } from './common.js';
import { UssSchema } from './zh.js';

/** The path under the Zn base URL (`…/nbsp-gba/v1`). */
export const ZN_RETRIEVAL_PATH = '/bootstrapping-info-retrieval';

export const BootstrappingInfoRequestSchema = z.object({
  btId: z.string().min(1).max(512),
  nafId: z.object({
    nafFqdn: z.string().min(1).max(253),
    uaSecProtId: UaSecProtIdSchema,
  }),
  gbaUAware: z.boolean().default(false),
  gsIds: z.array(z.number().int().min(0).max(0xffffffff)).min(1).optional(),
  suppFeat: z.string().optional(),
});
/** What a NAF sends (gbaUAware may be left out). */
export type BootstrappingInfoRequest = z.input<typeof BootstrappingInfoRequestSchema>;

/** The 200 body. Extra members are allowed, so the BSF may grow the answer compatibly. */
export const BootstrappingInfoSchema = z.object({
  meKeyMaterial: hexOctets(32),
  uiccKeyMaterial: hexOctets(32).optional(),
  keyExpiryTime: DateTimeSchema,
  bootstrappingInfoCreationTime: DateTimeSchema.optional(),
  gbaType: z.string().min(1).optional(),
  impi: z.string().min(1),
  ussList: z.array(z.object({ uss: UssSchema })).optional(),
});
export type BootstrappingInfoBody = z.infer<typeof BootstrappingInfoSchema>;
