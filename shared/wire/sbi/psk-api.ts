/**
 * The NAF's PSK API (docs/contracts.md C3), produced by the NAF and consumed by LwM2M servers:
 *
 *   POST {pskLookup}  Authorization: Bearer <pskApiToken>
 *   {"pskIdentity": "<as sent in the handshake>", "uaSecProtId"?: hex10}
 *   → 200 {"psk": hex64, "endpoint", "btid", "impi", "expiresAt": ISO-8601, "uaSecProtId": hex10}
 *   404 unknown or expired B-TID; 400 malformed.
 */
import { z } from 'zod';
import { DateTimeSchema, hexOctets, UaSecProtIdSchema } from './common.js';

export const PskLookupRequestSchema = z.strictObject({
  pskIdentity: z.string().min(1).max(512),
  uaSecProtId: UaSecProtIdSchema.optional(),
});
export type PskLookupRequest = z.infer<typeof PskLookupRequestSchema>;

/** The 200 body. Extra members are allowed (the NAF may grow the answer compatibly). */
export const PskLookupAnswerSchema = z.object({
  psk: hexOctets(32),
  endpoint: z.string().min(1),
  btid: z.string().min(1),
  impi: z.string().min(1),
  expiresAt: DateTimeSchema,
  uaSecProtId: UaSecProtIdSchema,
});
export type PskLookupAnswer = z.infer<typeof PskLookupAnswerSchema>;
