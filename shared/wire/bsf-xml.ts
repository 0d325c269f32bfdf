/**
 * The Ub 200 OK body, TS 24.109 Annex C: application/vnd.3gpp.bsf+xml
 *
 *   <BootstrappingInfo xmlns="uri:3gpp-gba"><btid/><lifetime/></BootstrappingInfo>
 *
 * lifetime is an xs:dateTime in UTC. The document is written byte-for-byte the same way every time, because
 * rspauth (RFC 2617 §3.2.3, qop=auth-int) covers the exact octets sent.
 */
import { DecodeError } from '../errors.js';

export const BSF_XML_CONTENT_TYPE = 'application/vnd.3gpp.bsf+xml';
export const GBA_NAMESPACE = 'uri:3gpp-gba';
const MAX_BODY = 4096;

export interface BootstrappingInfo {
  btid: string;
  /** Key lifetime end, epoch milliseconds (whole seconds on the wire). */
  lifetimeMs: number;
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** xs:dateTime in UTC without fractional seconds, e.g. 2030-01-01T00:00:00Z. */
export const xsDateTime = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export function formatBootstrappingInfo(info: BootstrappingInfo): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<BootstrappingInfo xmlns="${GBA_NAMESPACE}">\n` +
    `<btid>${escapeXml(info.btid)}</btid>\n` +
    `<lifetime>${xsDateTime(info.lifetimeMs)}</lifetime>\n` +
    '</BootstrappingInfo>\n'
  );
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (s: string): string => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]!);

/**
 * Reads a BootstrappingInfo document as any BSF may write it: optional XML declaration, whitespace and
 * namespace prefix are tolerated; btid and lifetime are required; unknown child elements are ignored.
 */
export function parseBootstrappingInfo(xml: string): BootstrappingInfo {
  const fail = (reason: string): never => {
    throw new DecodeError('BootstrappingInfo', reason);
  };
  if (xml.length > MAX_BODY) fail(`body longer than ${MAX_BODY} characters`);
  const body = xml.replace(/^\uFEFF?\s*(<\?xml[^?]*\?>)?\s*/, '');
  const root = /^<(?:([A-Za-z_][\w.-]*):)?BootstrappingInfo(\s[^>]*)?>([\s\S]*)<\/(?:\1:)?BootstrappingInfo>\s*$/.exec(
    body,
  );
  if (!root) return fail('root element BootstrappingInfo not found');
  const prefix = root[1];
  const attrs = root[2] ?? '';
  const nsAttr = prefix ? `xmlns:${prefix}` : 'xmlns';
  const ns = new RegExp(`${nsAttr}\\s*=\\s*["']([^"']*)["']`).exec(attrs)?.[1];
  if (ns !== GBA_NAMESPACE) fail(`namespace must be ${GBA_NAMESPACE}`);
  const child = (name: string): string => {
    const p = prefix ? `${prefix}:` : '';
    const m = new RegExp(`<${p}${name}>([^<]*)</${p}${name}>`).exec(root[3]!);
    if (!m) return fail(`element ${name} missing`);
    return unescapeXml(m[1]!.trim());
  };
  const btid = child('btid');
  const lifetime = child('lifetime');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(lifetime))
    fail('lifetime is not an xs:dateTime with a time zone');
  const lifetimeMs = Date.parse(lifetime);
  if (Number.isNaN(lifetimeMs)) fail('lifetime is not a valid date');
  return { btid, lifetimeMs };
}
