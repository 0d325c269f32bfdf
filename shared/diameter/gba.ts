/**
 * Zh (MAR/MAA, TS 29.109 §4) and Zn (BIR/BIA, TS 29.109 §5) message bodies as plain functions: build the AVPs
 * of each message, and read them back with a MissingAvp (5005) for an absent required AVP. The GUSS travels as
 * the XML of TS 29.109 Annex A (root `guss` on Zh, `ussList` on Zn).
 */
import {
  avp,
  find,
  findAll,
  getBytes,
  getGrouped,
  getStr,
  getTimeMs,
  getU32,
  missingAvpStub,
  value,
  type Avp,
} from './codec.js';
import { APP_ZH, APP_ZN, RC, VENDOR_3GPP } from './dictionary.js';
import type { Guss, Uss } from '../store/types.js';
import type { AuthVector } from '../crypto/aka-tokens.js';

export const DIGEST_AKA = 'Digest-AKAv1-MD5';
/** RFC 6733 §8.11 NO_STATE_MAINTAINED. */
export const NO_STATE_MAINTAINED = 1;

/** A required AVP is missing (RFC 6733 5005 DIAMETER_MISSING_AVP, Failed-AVP = a stub of it). */
export class MissingAvp extends Error {
  override readonly name = 'MissingAvp';
  readonly resultCode = RC.MISSING_AVP;
  constructor(readonly avpName: string) {
    super(`missing ${avpName}`);
  }
  get failedAvp(): Buffer {
    return missingAvpStub(this.avpName);
  }
}

/** A present AVP holds a value the application cannot use (5004 DIAMETER_INVALID_AVP_VALUE). */
export class InvalidAvp extends Error {
  override readonly name = 'InvalidAvp';
  readonly resultCode = RC.INVALID_AVP_VALUE;
  constructor(
    message: string,
    readonly failedAvp?: Buffer,
  ) {
    super(message);
  }
}

const need = <T>(v: T | undefined, name: string): T => {
  if (v === undefined) throw new MissingAvp(name);
  return v;
};
export const vsai = (app: number): Avp =>
  avp('Vendor-Specific-Application-Id', [avp('Vendor-Id', VENDOR_3GPP), avp('Auth-Application-Id', app)]);

export interface Routing {
  sessionId: string;
  originHost: string;
  originRealm: string;
  destinationRealm: string;
  destinationHost?: string;
}
const routing = (r: Routing): Avp[] => [
  avp('Session-Id', r.sessionId),
  avp('Origin-Host', r.originHost),
  avp('Origin-Realm', r.originRealm),
  avp('Destination-Realm', r.destinationRealm),
  ...(r.destinationHost ? [avp('Destination-Host', r.destinationHost)] : []),
];

// ---- Zh ----------------------------------------------------------------------------------------------------

export interface MarBody {
  impi: string;
  resync?: { rand: Buffer; auts: Buffer };
}

/** TS 29.109 §4.2 MAR. Resync: SIP-Authorization = RAND ‖ AUTS (30 octets, TS 29.109 §4.2 / TS 33.102 §6.3.5). */
export function marAvps(r: Routing, b: MarBody): Avp[] {
  const [sid, ...rest] = routing(r);
  const item: Avp[] = [avp('SIP-Authentication-Scheme', DIGEST_AKA)];
  if (b.resync) item.push(avp('SIP-Authorization', Buffer.concat([b.resync.rand, b.resync.auts])));
  return [
    sid!,
    vsai(APP_ZH),
    avp('Auth-Session-State', NO_STATE_MAINTAINED),
    ...rest,
    avp('User-Name', b.impi),
    avp('SIP-Auth-Data-Item', item),
  ];
}

export function readMar(avps: readonly Avp[]): MarBody {
  for (const n of ['Session-Id', 'Origin-Host', 'Origin-Realm', 'Destination-Realm', 'Auth-Session-State', 'User-Name'])
    need(find(avps, n), n);
  const impi = getStr(avps, 'User-Name')!;
  const item = getGrouped(avps, 'SIP-Auth-Data-Item');
  const authz = item && find(item, 'SIP-Authorization');
  if (authz && authz.data.length !== 30)
    throw new InvalidAvp(`SIP-Authorization must be RAND ‖ AUTS (30 octets), got ${authz.data.length}`, authz.raw);
  return { impi, ...(authz ? { resync: { rand: authz.data.subarray(0, 16), auts: authz.data.subarray(16) } } : {}) };
}

export function maaAvps(impi: string, av: AuthVector, guss: Guss | undefined): Avp[] {
  const out = [
    vsai(APP_ZH),
    avp('Auth-Session-State', NO_STATE_MAINTAINED),
    avp('User-Name', impi),
    avp('SIP-Number-Auth-Items', 1),
    avp('SIP-Auth-Data-Item', [
      avp('SIP-Authentication-Scheme', DIGEST_AKA),
      avp('SIP-Authenticate', Buffer.concat([av.rand, av.autn])),
      avp('SIP-Authorization', av.xres),
      avp('Confidentiality-Key', av.ck),
      avp('Integrity-Key', av.ik),
    ]),
  ];
  if (guss) out.push(avp('GBA-UserSecSettings', gussToXml(guss, impi)));
  return out;
}

export function readMaa(avps: readonly Avp[]): { av: AuthVector; guss?: Guss; impi?: string } {
  const item = need(getGrouped(avps, 'SIP-Auth-Data-Item'), 'SIP-Auth-Data-Item');
  const authn = need(getBytes(item, 'SIP-Authenticate'), 'SIP-Authenticate');
  const xres = need(getBytes(item, 'SIP-Authorization'), 'SIP-Authorization');
  const ck = need(getBytes(item, 'Confidentiality-Key'), 'Confidentiality-Key');
  const ik = need(getBytes(item, 'Integrity-Key'), 'Integrity-Key');
  if (authn.length !== 32 || xres.length < 4 || xres.length > 16 || ck.length !== 16 || ik.length !== 16)
    throw new InvalidAvp('SIP-Auth-Data-Item: RAND ‖ AUTN 32, XRES 4–16, CK and IK 16 octets');
  const xml = getBytes(avps, 'GBA-UserSecSettings');
  return {
    av: {
      rand: Buffer.from(authn.subarray(0, 16)),
      autn: Buffer.from(authn.subarray(16)),
      xres: Buffer.from(xres),
      ck: Buffer.from(ck),
      ik: Buffer.from(ik),
    },
    ...(xml ? { guss: gussFromXml(xml.toString('utf8')) } : {}),
    impi: getStr(avps, 'User-Name'),
  };
}

// ---- Zn ----------------------------------------------------------------------------------------------------

export interface BirBody {
  btid: string;
  nafFqdn: string;
  uaSecProtId: string /* 10 hex */;
  gbaUAware: boolean;
  gsIds?: number[];
}

/** NAF-Id = FQDN ‖ 5-octet Ua security protocol identifier (TS 29.109 §6.3.1.3, TS 33.220 Annex H). */
export const encodeNafId = (fqdn: string, uaSecProtId: string): Buffer =>
  Buffer.concat([Buffer.from(fqdn, 'utf8'), Buffer.from(uaSecProtId, 'hex')]);
export function decodeNafId(b: Buffer, raw?: Buffer): { fqdn: string; uaSecProtId: string } {
  if (b.length < 6) throw new InvalidAvp('NAF-Id must be an FQDN followed by 5 octets', raw);
  const fqdn = b.subarray(0, b.length - 5).toString('utf8');
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(fqdn)) throw new InvalidAvp('NAF-Id: the FQDN part is not a DNS name', raw);
  return { fqdn, uaSecProtId: b.subarray(b.length - 5).toString('hex') };
}

export function birAvps(r: Routing, b: BirBody): Avp[] {
  const [sid, ...rest] = routing(r);
  return [
    sid!,
    vsai(APP_ZN),
    ...rest,
    ...(b.gsIds ?? []).map((g) => avp('GAA-Service-Identifier', String(g))),
    avp('Transaction-Identifier', b.btid),
    avp('NAF-Id', encodeNafId(b.nafFqdn, b.uaSecProtId)),
    ...(b.gbaUAware ? [avp('GBA_U-Awareness-Indicator', 1)] : []),
  ];
}

export function readBir(avps: readonly Avp[]): BirBody & { destinationRealm: string } {
  for (const n of [
    'Session-Id',
    'Origin-Host',
    'Origin-Realm',
    'Destination-Realm',
    'Transaction-Identifier',
    'NAF-Id',
  ])
    need(find(avps, n), n);
  const tid = find(avps, 'Transaction-Identifier')!;
  const btid = value.str(tid);
  if (!btid || btid.length > 512) throw new InvalidAvp('Transaction-Identifier must be a B-TID', tid.raw);
  const nafIdAvp = find(avps, 'NAF-Id')!;
  const { fqdn, uaSecProtId } = decodeNafId(nafIdAvp.data, nafIdAvp.raw);
  const gsIds = findAll(avps, 'GAA-Service-Identifier').map((a) => {
    const s = a.data.toString('latin1');
    if (!/^\d{1,10}$/.test(s) || Number(s) > 0xffffffff)
      throw new InvalidAvp('GAA-Service-Identifier must be a decimal GSID', a.raw);
    return Number(s);
  });
  const aware = getU32(avps, 'GBA_U-Awareness-Indicator');
  return {
    btid,
    nafFqdn: fqdn,
    uaSecProtId,
    gbaUAware: aware === 1,
    ...(gsIds.length ? { gsIds } : {}),
    destinationRealm: getStr(avps, 'Destination-Realm')!,
  };
}

export interface BiaBody {
  impi: string;
  meKey: Buffer;
  uiccKey?: Buffer;
  expiresAtMs: number;
  createdAtMs: number;
  gbaType: string;
  ussList?: Array<{ uss: Uss }>;
}

/** TS 29.109 §5.2 BIA (success part). GBA-Type 0 = 3G GBA (§6.3.1.11). */
export function biaAvps(b: BiaBody): Avp[] {
  const out = [vsai(APP_ZN), avp('User-Name', b.impi), avp('ME-Key-Material', b.meKey)];
  if (b.uiccKey) out.push(avp('UICC-Key-Material', b.uiccKey));
  out.push(avp('Key-ExpiryTime', b.expiresAtMs), avp('BootstrapInfoCreationTime', b.createdAtMs));
  if (b.ussList?.length) out.push(avp('GBA-UserSecSettings', ussListToXml(b.ussList)));
  out.push(avp('GBA-Type', b.gbaType === '2G_GBA' ? 1 : 0));
  return out;
}

export function readBia(avps: readonly Avp[]): BiaBody {
  const meKey = need(getBytes(avps, 'ME-Key-Material'), 'ME-Key-Material');
  if (meKey.length !== 32) throw new InvalidAvp(`ME-Key-Material must be 32 octets, got ${meKey.length}`);
  const uicc = getBytes(avps, 'UICC-Key-Material');
  const xml = getBytes(avps, 'GBA-UserSecSettings');
  const t = getU32(avps, 'GBA-Type');
  return {
    impi: need(getStr(avps, 'User-Name'), 'User-Name'),
    meKey: Buffer.from(meKey),
    ...(uicc ? { uiccKey: Buffer.from(uicc) } : {}),
    expiresAtMs: need(getTimeMs(avps, 'Key-ExpiryTime'), 'Key-ExpiryTime'),
    createdAtMs: getTimeMs(avps, 'BootstrapInfoCreationTime') ?? Date.now(),
    gbaType: t === 1 ? '2G_GBA' : '3G_GBA',
    ...(xml ? { ussList: gussFromXml(xml.toString('utf8')).ussList ?? [] } : {}),
  };
}

// ---- GUSS XML (TS 29.109 Annex A) ----------------------------------------------------------------------------

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unesc = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function ussXml(u: Uss): string {
  const attrs = `id="${u.gsId}" type="${u.gsType}"${u.nafGroup !== undefined ? ` nafGroup="${esc(u.nafGroup)}"` : ''}`;
  const uids = u.ueIds.map((x) => `<uid>${esc(x.ueId)}</uid>`).join('');
  const flags = u.flags?.length ? `<flags>${u.flags.map((f) => `<flag>${f.flag}</flag>`).join('')}</flags>` : '';
  const kc = u.keyChoice ? `<keyChoice>${u.keyChoice}</keyChoice>` : '';
  return `<uss ${attrs}><uids>${uids}</uids>${flags}${kc}</uss>`;
}

export function ussListToXml(list: Array<{ uss: Uss }>): string {
  return `<?xml version="1.0" encoding="UTF-8"?><ussList>${list.map((x) => ussXml(x.uss)).join('')}</ussList>`;
}

export function gussToXml(g: Guss, id?: string): string {
  const bi = g.bsfInfo;
  const bsf = bi
    ? `<bsfInfo>${bi.uiccType ? `<uiccType>${bi.uiccType}</uiccType>` : ''}${bi.lifeTime !== undefined ? `<lifeTime>${bi.lifeTime}</lifeTime>` : ''}</bsfInfo>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?><guss${id ? ` id="${esc(id)}"` : ''}>${bsf}<ussList>${(g.ussList ?? []).map((x) => ussXml(x.uss)).join('')}</ussList></guss>`;
}

/** Namespace-agnostic and tolerant of unknown children (the Annex A schema varies by release). */
export function gussFromXml(xml: string): Guss {
  if (xml.length > 65536) throw new InvalidAvp('GBA-UserSecSettings larger than 64 KiB');
  const tag = (name: string) => new RegExp(`<(?:\\w+:)?${name}(\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${name}>`, 'g');
  const text = (s: string, name: string): string | undefined => {
    const m = tag(name).exec(s);
    return m ? unesc(m[2]!.trim()) : undefined;
  };
  const attr = (a: string, name: string): string | undefined => {
    const m = new RegExp(`\\b${name}="([^"]*)"`).exec(a);
    return m ? unesc(m[1]!) : undefined;
  };
  const g: Guss = {};
  const bsf = tag('bsfInfo').exec(xml);
  if (bsf) {
    const ut = text(bsf[2]!, 'uiccType');
    const lt = text(bsf[2]!, 'lifeTime');
    g.bsfInfo = {
      ...(ut === 'GBA' || ut === 'GBA_U' ? { uiccType: ut } : {}),
      ...(lt && /^\d+$/.test(lt) ? { lifeTime: Number(lt) } : {}),
    };
  }
  const list: Array<{ uss: Uss }> = [];
  for (const m of xml.matchAll(tag('uss'))) {
    const a = m[1] ?? '';
    const body = m[2]!;
    const uss: Uss = {
      gsId: Number(attr(a, 'id') ?? 0),
      gsType: Number(attr(a, 'type') ?? 0),
      ueIds: [...body.matchAll(tag('uid'))].map((u) => ({ ueId: unesc(u[2]!.trim()) })),
    };
    const group = attr(a, 'nafGroup');
    if (group !== undefined) uss.nafGroup = group;
    const flags = [...body.matchAll(tag('flag'))].map((f) => ({ flag: Number(f[2]) }));
    if (flags.length) uss.flags = flags;
    const kc = text(body, 'keyChoice');
    if (kc === 'ME_BASED_KEY' || kc === 'UICC_BASED_KEY' || kc === 'ME_UICC_BASED_KEYS') uss.keyChoice = kc;
    list.push({ uss });
  }
  if (list.length) g.ussList = list;
  return g;
}

/** TS 29.109 §6.3 experimental result in an answer, if any. */
export function experimentalResult(avps: readonly Avp[]): number | undefined {
  const er = getGrouped(avps, 'Experimental-Result');
  return er ? getU32(er, 'Experimental-Result-Code') : undefined;
}

/** RFC 6733 §8.8 Session-Id: <DiameterIdentity>;<high 32 bits>;<low 32 bits>. */
let sessionLow = Math.floor(Math.random() * 0xffffffff);
const sessionHigh = Math.floor(Date.now() / 1000) >>> 0;
export const newSessionId = (originHost: string): string =>
  `${originHost};${sessionHigh};${(sessionLow = (sessionLow + 1) >>> 0)}`;
