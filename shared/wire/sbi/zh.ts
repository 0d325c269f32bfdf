/**
 * Zh over HTTP, the TS 29.562 (N65, Nhss_GBA) shapes the HSS produces and the BSF consumes:
 *
 *   POST /nhss-gba-ueau/v1/{ueId}/security-information/generate-auth-data
 *        AuthenticationInfoRequest {authenticationScheme?, resynchronizationInfo?: {rand, auts}}
 *      → 200 AuthenticationInfoResult {impi, 3gAkaAv: {rand, xres, autn, ck, ik}}
 *   GET  /nhss-gba-sdm/v1/{ueId}/subscriber-data  → 200 GbaSubscriberData {guss?}
 *
 * ueId: an IMPI or imsi-<IMSI>. 404 cause USER_NOT_FOUND; 403 for a refused resynchronisation.
 */
import { z } from 'zod';
import { hexOctets } from './common.js';

export const ZH_UEAU_PREFIX = '/nhss-gba-ueau/v1';
export const ZH_SDM_PREFIX = '/nhss-gba-sdm/v1';
export const zhGenerateAuthDataPath = (ueId: string): string =>
  `${ZH_UEAU_PREFIX}/${encodeURIComponent(ueId)}/security-information/generate-auth-data`;
export const zhSubscriberDataPath = (ueId: string): string =>
  `${ZH_SDM_PREFIX}/${encodeURIComponent(ueId)}/subscriber-data`;

/** TS 29.562 ResynchronizationInfo: RAND (16 octets) and AUTS (14 octets, TS 33.102 §6.3.3). */
export const ResynchronizationInfoSchema = z.object({
  rand: hexOctets(16),
  auts: hexOctets(14),
});

export const AuthenticationInfoRequestSchema = z.object({
  authenticationScheme: z.enum(['DIGEST_AKAV1_MD5', 'DIGEST_HTTP']).optional(),
  resynchronizationInfo: ResynchronizationInfoSchema.optional(),
  supportedFeatures: z.string().optional(),
});
export type AuthenticationInfoRequest = z.infer<typeof AuthenticationInfoRequestSchema>;

/** TS 33.102 §6.3.2 vector: XRES is 4–16 octets (TS 33.105 §5.1.7.3), the others fixed. */
export const ThreeGAkaAvSchema = z.object({
  rand: hexOctets(16),
  xres: z.string().regex(/^(?:[0-9a-fA-F]{2}){4,16}$/, 'must be 4 to 16 octets as hex'),
  autn: hexOctets(16),
  ck: hexOctets(16),
  ik: hexOctets(16),
});

export const AuthenticationInfoResultSchema = z.object({
  impi: z.string().min(1).optional(),
  '3gAkaAv': ThreeGAkaAvSchema,
});
export type AuthenticationInfoResult = z.infer<typeof AuthenticationInfoResultSchema>;

/** TS 29.562 Uss (TS 29.109 Annex A USS). */
export const UssSchema = z.strictObject({
  gsId: z.number().int().min(0).max(0xffffffff),
  gsType: z.number().int().min(0).max(0xffffffff),
  ueIds: z.array(z.strictObject({ ueId: z.string().min(1) })).min(1),
  nafGroup: z.string().min(1).optional(),
  flags: z.array(z.strictObject({ flag: z.number().int().min(0) })).optional(),
  keyChoice: z.enum(['ME_BASED_KEY', 'UICC_BASED_KEY', 'ME_UICC_BASED_KEYS']).optional(),
});

/** TS 29.562 Guss: bsfInfo (uiccType, lifeTime seconds) and ussList of {uss}. */
export const GussSchema = z.strictObject({
  bsfInfo: z
    .strictObject({
      uiccType: z.enum(['GBA', 'GBA_U']).optional(),
      lifeTime: z
        .number()
        .int()
        .min(1)
        .max(7 * 86400)
        .optional(),
      securityFeatures: z.array(z.string()).optional(),
    })
    .optional(),
  ussList: z
    .array(z.strictObject({ uss: UssSchema }))
    .min(1)
    .optional(),
});

export const GbaSubscriberDataSchema = z.object({ guss: GussSchema.optional() });
export type GbaSubscriberData = z.infer<typeof GbaSubscriberDataSchema>;
