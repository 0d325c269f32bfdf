/**
 * The APDU layer of a UICC (ETSI TS 102 221 §10–11, TS 31.102 §7): command encoding, status words, the
 * T=0 procedure bytes `61xx` (GET RESPONSE) and `6Cxx` (repeat with Le), FCP templates, EF_DIR records,
 * and the contents of EF_IMSI, EF_AD and EF_ICCID. Pure functions plus `CardChannel`, which runs commands
 * over any `ApduTransport` (PC/SC, AT+CSIM, AT+CGLA, or the software card directly).
 */

/** Raw C-APDU in, raw R-APDU (data ‖ SW1 SW2) out. */
export type ApduTransport = (capdu: Buffer) => Promise<Buffer>;

export class CardError extends Error {
  constructor(
    message: string,
    readonly sw?: number,
  ) {
    super(message);
    this.name = 'CardError';
  }
}

export interface Rapdu {
  data: Buffer;
  sw: number;
}

export const SW_OK = 0x9000;
/** TS 31.102 §7.3.1: AUTHENTICATE, "authentication error, incorrect MAC". */
export const SW_MAC_FAILURE = 0x9862;

export const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

export function splitRapdu(r: Buffer): Rapdu {
  if (r.length < 2) throw new CardError(`R-APDU of ${r.length} octets has no status word`);
  return { data: Buffer.from(r.subarray(0, r.length - 2)), sw: r.readUInt16BE(r.length - 2) };
}

/** Meaning of the common status words (TS 102 221 §10.2.1), for error messages. */
export function swMeaning(sw: number): string {
  const sw1 = sw >> 8;
  if (sw === 0x6a82) return 'file or application not found';
  if (sw === 0x6982) return 'security status not satisfied (PIN needed?)';
  if (sw === 0x6983) return 'authentication/PIN method blocked';
  if (sw === 0x6985) return 'conditions of use not satisfied';
  if (sw === 0x6a86) return 'incorrect P1/P2';
  if (sw === 0x6d00) return 'instruction not supported';
  if (sw === 0x6e00) return 'class not supported';
  if (sw === 0x6881) return 'logical channel not supported';
  if (sw === 0x6a81) return 'function not supported (no free logical channel?)';
  if (sw === SW_MAC_FAILURE) return 'authentication error, incorrect MAC';
  if (sw1 === 0x67) return 'wrong length';
  if (sw1 === 0x6b) return 'wrong parameters P1-P2';
  return 'error';
}

/**
 * CLA of a TS 102 221 command on logical channel `ch` (§10.1.1): channels 0–3 in b2..b1 of '0X',
 * channels 4–19 in b4..b1 of '4X'.
 */
export function claFor(ch: number): number {
  if (!Number.isInteger(ch) || ch < 0 || ch > 19) throw new RangeError('logical channel must be 0..19');
  return ch < 4 ? ch : 0x40 | (ch - 4);
}

/** The logical channel a CLA names (the inverse of `claFor`). */
export const channelOfCla = (cla: number): number => (cla & 0x40 ? 4 + (cla & 0x0f) : cla & 0x03);

export function capdu(cla: number, ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): Buffer {
  const parts = [Buffer.from([cla, ins, p1, p2])];
  if (data && data.length) parts.push(Buffer.from([data.length]), Buffer.from(data));
  if (le !== undefined) parts.push(Buffer.from([le & 0xff]));
  return Buffer.concat(parts);
}

export const INS = {
  SELECT: 0xa4,
  READ_BINARY: 0xb0,
  READ_RECORD: 0xb2,
  GET_RESPONSE: 0xc0,
  MANAGE_CHANNEL: 0x70,
  AUTHENTICATE: 0x88,
  STATUS: 0xf2,
  VERIFY: 0x20,
} as const;

/** TS 31.102 §7.1.2.1: AUTHENTICATE, P2 '81' = specific reference data, 3G security context. */
export function authenticateApdu(ch: number, rand: Uint8Array, autn: Uint8Array): Buffer {
  if (rand.length !== 16 || autn.length !== 16) throw new RangeError('RAND and AUTN must be 16 octets');
  return capdu(
    claFor(ch),
    INS.AUTHENTICATE,
    0x00,
    0x81,
    Buffer.concat([Buffer.from([16]), rand, Buffer.from([16]), autn]),
  );
}

export type AuthResponse =
  | { kind: 'ok'; res: Buffer; ck: Buffer; ik: Buffer; kc?: Buffer }
  | { kind: 'sync_failure'; auts: Buffer }
  | { kind: 'mac_failure' };

/** TS 31.102 §7.1.2.1 response: 'DB' L RES L CK L IK [L Kc], or 'DC' L AUTS; SW 9862 is a MAC failure. */
export function parseAuthResponse(r: Rapdu): AuthResponse {
  if (r.sw === SW_MAC_FAILURE) return { kind: 'mac_failure' };
  if (r.sw !== SW_OK) throw new CardError(`AUTHENTICATE answered ${swHex(r.sw)} (${swMeaning(r.sw)})`, r.sw);
  const d = r.data;
  const lv = (at: number, what: string): [Buffer, number] => {
    const len = d[at];
    if (len === undefined || at + 1 + len > d.length) throw new CardError(`AUTHENTICATE response truncated in ${what}`);
    return [Buffer.from(d.subarray(at + 1, at + 1 + len)), at + 1 + len];
  };
  if (d[0] === 0xdc) {
    const [auts] = lv(1, 'AUTS');
    if (auts.length !== 14) throw new CardError(`AUTS of ${auts.length} octets (expected 14)`);
    return { kind: 'sync_failure', auts };
  }
  if (d[0] !== 0xdb)
    throw new CardError(`AUTHENTICATE response tag ${d[0]?.toString(16) ?? 'missing'} (expected DB or DC)`);
  const [res, a] = lv(1, 'RES');
  const [ck, b] = lv(a, 'CK');
  const [ik, c] = lv(b, 'IK');
  if (res.length < 4 || res.length > 16 || ck.length !== 16 || ik.length !== 16)
    throw new CardError('AUTHENTICATE response has wrong RES/CK/IK lengths');
  const out: AuthResponse = { kind: 'ok', res, ck, ik };
  if (c < d.length) out.kc = lv(c, 'Kc')[0];
  return out;
}

/** Simple BER-TLV (one-octet tags as in FCP templates, TS 102 221 §11.1.1.3). */
export function parseTlvs(b: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i + 1 < b.length) {
    const tag = b[i]!;
    if (tag === 0x00 || tag === 0xff) {
      i++;
      continue;
    }
    let len = b[i + 1]!,
      hdr = 2;
    if (len === 0x81) {
      len = b[i + 2] ?? 0;
      hdr = 3;
    }
    if (i + hdr + len > b.length) break;
    if (!out.has(tag)) out.set(tag, Buffer.from(b.subarray(i + hdr, i + hdr + len)));
    i += hdr + len;
  }
  return out;
}

export interface Fcp {
  kind: 'transparent' | 'linear' | 'cyclic' | 'df';
  size?: number;
  recordLength?: number;
  records?: number;
  fid?: number;
  aid?: Buffer;
}

/** FCP template '62' returned by SELECT with P2 '04' (TS 102 221 §11.1.1.3). */
export function parseFcp(b: Buffer): Fcp {
  if (b[0] !== 0x62) throw new CardError('SELECT response is not an FCP template (62)');
  const t = parseTlvs(b.subarray(2, 2 + (b[1] ?? 0)));
  const fd = t.get(0x82);
  if (!fd) throw new CardError('FCP without file descriptor (82)');
  const s = fd[0]! & 0x3f;
  const kind: Fcp['kind'] =
    s === 0x38
      ? 'df'
      : (s & 7) === 1
        ? 'transparent'
        : (s & 7) === 2
          ? 'linear'
          : (s & 7) === 6
            ? 'cyclic'
            : 'transparent';
  const f: Fcp = { kind };
  if (fd.length >= 5) {
    f.recordLength = fd.readUInt16BE(2);
    f.records = fd[4];
  }
  const size = t.get(0x80);
  if (size) f.size = size.readUIntBE(0, Math.min(size.length, 4));
  const fid = t.get(0x83);
  if (fid?.length === 2) f.fid = fid.readUInt16BE(0);
  const aid = t.get(0x84);
  if (aid) f.aid = aid;
  return f;
}

/** TS 102 221 §13.1: an EF_DIR record is '61' L { '4F' L AID, '50' L label, … }. */
export function parseDirRecord(rec: Buffer): { aid: Buffer; label?: string } | undefined {
  if (rec[0] !== 0x61) return undefined;
  const t = parseTlvs(rec.subarray(2, 2 + (rec[1] ?? 0)));
  const aid = t.get(0x4f);
  if (!aid) return undefined;
  const label = t.get(0x50);
  return { aid, ...(label ? { label: label.toString('latin1') } : {}) };
}

/** RID ‖ application code of a 3GPP USIM (TS 101 220 Annex E, TS 31.102 §4.1). */
export const USIM_AID_PREFIX = Buffer.from('a0000000871002', 'hex');
export const isUsimAid = (aid: Buffer): boolean => aid.length >= 7 && aid.subarray(0, 7).equals(USIM_AID_PREFIX);

/** Swapped-nibble BCD with 'F' filler (EF_ICCID, TS 102 221 §13.2): the digits before the first F. */
export function decodeSwappedBcd(b: Buffer): string {
  let s = '';
  for (const o of b) {
    for (const n of [o & 0x0f, o >> 4]) {
      if (n === 0x0f) return s;
      if (n > 9) throw new CardError(`BCD nibble ${n.toString(16)} is not a digit`);
      s += String(n);
    }
  }
  return s;
}

export function encodeSwappedBcd(digits: string, octets: number): Buffer {
  const b = Buffer.alloc(octets, 0xff);
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    const o = i >> 1;
    b[o] = i % 2 === 0 ? (b[o]! & 0xf0) | d : (b[o]! & 0x0f) | (d << 4);
  }
  return b;
}

/**
 * EF_IMSI (TS 31.102 §4.2.2, TS 24.008 §10.5.1.4): length octet, then the first digit in the high nibble
 * of octet 2 with the type of identity in the low nibble ('1' = IMSI, b4 set when the number of digits is odd),
 * then the other digits in swapped-nibble BCD.
 */
export function decodeImsi(b: Buffer): string {
  const len = b[0];
  if (len === undefined || len < 1 || len > 8 || b.length < 1 + len) throw new CardError('EF_IMSI: bad length octet');
  const first = b[1]!;
  if ((first & 0x07) !== 1) throw new CardError('EF_IMSI: type of identity is not IMSI');
  const odd = (first & 0x08) !== 0;
  const digits = String(first >> 4) + decodeSwappedBcd(b.subarray(2, 1 + len));
  const n = 2 * len - 1 - (odd ? 0 : 1);
  const imsi = digits.slice(0, n);
  if (!/^\d{6,15}$/.test(imsi)) throw new CardError(`EF_IMSI: not an IMSI (${imsi.length} digits)`);
  return imsi;
}

export function encodeImsi(imsi: string): Buffer {
  if (!/^\d{6,15}$/.test(imsi)) throw new RangeError('IMSI must be 6 to 15 digits');
  const odd = imsi.length % 2 === 1;
  const len = Math.ceil((imsi.length + 1) / 2);
  const out = Buffer.alloc(9, 0xff);
  out[0] = len;
  out[1] = (Number(imsi[0]) << 4) | (odd ? 0x09 : 0x01);
  encodeSwappedBcd(imsi.slice(1), len - 1).copy(out, 2);
  return out;
}

/** EF_AD (TS 31.102 §4.2.18): the 4th octet's low nibble is the MNC length (2 or 3). */
export function mncLengthOfAd(b: Buffer): 2 | 3 {
  const n = (b[3] ?? 0) & 0x0f;
  if (n !== 2 && n !== 3) throw new CardError(`EF_AD: MNC length ${b.length < 4 ? 'missing' : n} (expected 2 or 3)`);
  return n;
}

/**
 * Runs commands on one logical channel of a card: sets the channel in CLA, answers `61xx` with GET RESPONSE
 * and `6Cxx` by repeating the command with Le = xx (TS 102 221 §7.3.1.1.4), whichever command they follow.
 */
export class CardChannel {
  constructor(
    readonly transmit: ApduTransport,
    readonly channel = 0,
  ) {}

  async send(ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): Promise<Rapdu> {
    const cla = claFor(this.channel);
    let r = splitRapdu(await this.transmit(capdu(cla, ins, p1, p2, data, le)));
    for (let guard = 0; guard < 8; guard++) {
      const sw1 = r.sw >> 8;
      if (sw1 === 0x6c) {
        r = splitRapdu(await this.transmit(capdu(cla, ins, p1, p2, data, r.sw & 0xff)));
        continue;
      }
      if (sw1 === 0x61) {
        const more = splitRapdu(await this.transmit(capdu(cla, INS.GET_RESPONSE, 0, 0, undefined, r.sw & 0xff)));
        r = { data: Buffer.concat([r.data, more.data]), sw: more.sw };
        continue;
      }
      return r;
    }
    throw new CardError('the card keeps answering 61xx/6Cxx');
  }

  async ok(what: string, ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): Promise<Buffer> {
    const r = await this.send(ins, p1, p2, data, le);
    if (r.sw !== SW_OK && r.sw >> 8 !== 0x91) throw new CardError(`${what}: ${swHex(r.sw)} (${swMeaning(r.sw)})`, r.sw);
    return r.data;
  }

  /**
   * SELECT by file identifier, returning the FCP (P2 '04'). P1 '00': MF, DF or EF under the current DF.
   * No Le: as on T=0, the card answers 61xx and the FCP comes with GET RESPONSE.
   */
  async selectFid(fid: number): Promise<Fcp> {
    const d = await this.ok(
      `SELECT ${fid.toString(16).toUpperCase().padStart(4, '0')}`,
      INS.SELECT,
      0x00,
      0x04,
      Buffer.from([fid >> 8, fid & 0xff]),
    );
    return parseFcp(d);
  }

  /** SELECT by DF name (AID, P1 '04'), returning the FCP. */
  async selectAid(aid: Buffer): Promise<Fcp> {
    const d = await this.ok(`SELECT AID ${aid.toString('hex').toUpperCase()}`, INS.SELECT, 0x04, 0x04, aid);
    return parseFcp(d);
  }

  async readBinary(size: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let off = 0; off < size;) {
      const n = Math.min(size - off, 255);
      const d = await this.ok('READ BINARY', INS.READ_BINARY, off >> 8, off & 0xff, undefined, n);
      if (!d.length) break;
      parts.push(d);
      off += d.length;
    }
    return Buffer.concat(parts);
  }

  /** READ RECORD, absolute mode (P2 '04'). */
  readRecord(n: number, length: number): Promise<Buffer> {
    return this.ok(`READ RECORD ${n}`, INS.READ_RECORD, n, 0x04, undefined, length);
  }
}

/** MANAGE CHANNEL open (TS 102 221 §11.1.17) on the basic channel: the card assigns the number. */
export async function openLogicalChannel(transmit: ApduTransport): Promise<number> {
  const r = splitRapdu(await transmit(capdu(0x00, INS.MANAGE_CHANNEL, 0x00, 0x00, undefined, 1)));
  if (r.sw !== SW_OK || r.data.length !== 1)
    throw new CardError(`MANAGE CHANNEL open: ${swHex(r.sw)} (${swMeaning(r.sw)})`, r.sw);
  return r.data[0]!;
}

export async function closeLogicalChannel(transmit: ApduTransport, ch: number): Promise<void> {
  const r = splitRapdu(await transmit(capdu(0x00, INS.MANAGE_CHANNEL, 0x80, ch)));
  if (r.sw !== SW_OK) throw new CardError(`MANAGE CHANNEL close ${ch}: ${swHex(r.sw)}`, r.sw);
}
