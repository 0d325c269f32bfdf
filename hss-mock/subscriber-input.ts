/**
 * The provisioning API's subscriber document (contract C3): validation of what operators send, and the
 * representation returned (secrets only on explicit request).
 */
import { z } from 'zod';
import { computeOpc } from '../shared/crypto/milenage.js';
import { impiFromImsi } from '../shared/identifiers.js';
import { GussSchema } from '../shared/wire/sbi/zh.js';
import type { Guss, SubscriberRecord } from '../shared/store/types.js';

const hexOf = (octets: number) =>
  z.string().regex(new RegExp(`^[0-9a-fA-F]{${octets * 2}}$`), `must be ${octets} octets as ${octets * 2} hex digits`);

export const SubscriberInputSchema = z
  .strictObject({
    k: hexOf(16),
    opc: hexOf(16).optional(),
    op: hexOf(16).optional(),
    amf: hexOf(2).default('8000'),
    sqn: hexOf(6).default('000000000000'),
    algorithm: z.enum(['milenage', 'xor']).default('milenage'),
    resLength: z.number().int().min(4).max(16).optional(),
    impi: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^\s@]+@[^\s@]+$/, 'must be user@realm')
      .optional(),
    guss: GussSchema.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.algorithm === 'milenage') {
      if ((s.op === undefined) === (s.opc === undefined))
        ctx.addIssue({ code: 'custom', path: ['opc'], message: 'give exactly one of "opc" and "op"' });
      if (s.resLength !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['resLength'],
          message: 'applies to the xor algorithm only (Milenage RES is 8 octets)',
        });
    } else if (s.op !== undefined && s.opc !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['opc'], message: 'give at most one of "opc" and "op"' });
    }
  });

export type SubscriberInput = z.infer<typeof SubscriberInputSchema>;

export function issuesOf(err: z.ZodError, prefix = ''): Array<{ param: string; reason: string }> {
  return err.issues.map((i) => ({ param: prefix + (i.path.join('.') || '(body)'), reason: i.message }));
}

export function toRecord(imsi: string, s: SubscriberInput, nowMs: number): SubscriberRecord {
  const k = Buffer.from(s.k, 'hex');
  const op = s.op !== undefined ? Buffer.from(s.op, 'hex') : undefined;
  const opc = s.opc !== undefined ? Buffer.from(s.opc, 'hex') : op ? computeOpc(k, op) : Buffer.alloc(0);
  return {
    imsi,
    k,
    opc,
    op,
    amf: Buffer.from(s.amf, 'hex'),
    sqn: parseInt(s.sqn, 16),
    algorithm: s.algorithm,
    resLength: s.algorithm === 'xor' ? (s.resLength ?? 16) : 8,
    impi: s.impi,
    guss: s.guss as Guss | undefined,
    updatedMs: nowMs,
  };
}

/** The representation returned by GET/PUT; K, OPc and OP only with includeSecrets. */
export function toRepresentation(
  r: SubscriberRecord,
  mncDigits: 2 | 3,
  includeSecrets: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    imsi: r.imsi,
    impi: r.impi ?? impiFromImsi(r.imsi, mncDigits),
    impiProvisioned: r.impi !== undefined,
    algorithm: r.algorithm,
    amf: r.amf.toString('hex'),
    sqn: r.sqn.toString(16).padStart(12, '0'),
  };
  if (r.algorithm === 'xor') out.resLength = r.resLength;
  if (r.guss) out.guss = r.guss;
  out.updatedAt = new Date(r.updatedMs).toISOString();
  if (includeSecrets) {
    out.k = r.k.toString('hex');
    if (r.op) out.op = r.op.toString('hex');
    if (r.opc.length) out.opc = r.opc.toString('hex');
  }
  return out;
}
