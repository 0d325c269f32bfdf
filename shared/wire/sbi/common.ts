/** Building blocks the inter-NF JSON contracts share (TS 29.571 §5.2 data types where one applies). */
import { z } from 'zod';

/** A hex string of exactly `octets` octets (either case on the wire). */
export const hexOctets = (octets: number) =>
  z.string().regex(new RegExp(`^[0-9a-fA-F]{${octets * 2}}$`), `must be ${octets} octets as ${octets * 2} hex digits`);

/** Ua security protocol identifier, TS 33.220 Annex H: 5 octets. */
export const UaSecProtIdSchema = z.string().regex(/^[0-9a-fA-F]{10}$/, 'must be 5 octets as 10 hex digits');

/** TS 29.571 DateTime: an RFC 3339 / ISO-8601 time that Date.parse understands. */
export const DateTimeSchema = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an ISO-8601 time');

/** Zod issues as TS 29.571 InvalidParam entries (param = JSON path, reason = message). */
export function invalidParams(err: z.ZodError, prefix = ''): Array<{ param: string; reason: string }> {
  return err.issues.map((i) => ({ param: prefix + (i.path.join('.') || '(body)'), reason: i.message }));
}
