/**
 * A software UICC with a USIM application that answers APDUs like a T=0 card without a PIN: a file system
 * (MF with EF_DIR and EF_ICCID; ADF USIM with EF_IMSI and EF_AD), FCP on SELECT with P2 '04' delivered through
 * `61xx` and GET RESPONSE, `6Cxx` when Le is wrong, logical channels (MANAGE CHANNEL), and AUTHENTICATE in the
 * 3G context (TS 31.102 §7.1.2) on the SQN freshness of SoftUsim (TS 33.102 Annex C, IND slots): 'DB' on
 * success, 'DC' AUTS on a stale SQN, SW 9862 on a bad MAC. `usim serve` plugs it into vpcd, `usim modem`
 * behind AT+CSIM; the tests call `process` directly.
 */
import { SoftUsim, type UsimOptions } from '../usim.js';
import { channelOfCla, encodeImsi, encodeSwappedBcd, INS, SW_MAC_FAILURE } from './apdu.js';

/** ATR of a T=0-only card: TS '3B', T0 '02' (no interface bytes, so T=0 with default timing), two historical bytes. */
export const SOFT_CARD_ATR = Buffer.from('3b021450', 'hex');
/** A full USIM AID: RID A000000087, app code 1002, country FF49, provider FF, PIX 0589 (as on many test cards). */
export const SOFT_USIM_AID = Buffer.from('a0000000871002ff49ff0589', 'hex');

export interface SoftCardOptions {
  imsi: string;
  mncLength: 2 | 3;
  /** Decimal digits (19 or 20); default derived from the IMSI. */
  iccid?: string;
  usim: UsimOptions;
}

type Ef = { kind: 'transparent'; data: Buffer } | { kind: 'linear'; recordLength: number; records: Buffer[] };
interface Df {
  fid: number;
  aid?: Buffer;
  files: Map<number, Ef>;
}

const MF_FID = 0x3f00;
const ADF_FID = 0x7fff;
const MAX_CHANNELS = 4;

interface ChannelState {
  df: Df;
  ef?: number;
  pending?: Buffer;
}

const sw = (w: number, data?: Buffer): Buffer =>
  Buffer.concat([data ?? Buffer.alloc(0), Buffer.from([w >> 8, w & 0xff])]);

const tlv = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([tag, value.length]), value]);

export class SoftCard {
  readonly usim: SoftUsim;
  readonly #mf: Df;
  readonly #adf: Df;
  #channels = new Map<number, ChannelState>();

  constructor(readonly o: SoftCardOptions) {
    this.usim = new SoftUsim(o.usim);
    const iccid = o.iccid ?? `8999${o.imsi.padStart(15, '0')}`;
    if (!/^\d{18,20}$/.test(iccid)) throw new RangeError('ICCID must be 18 to 20 digits');
    const dirRecord = Buffer.alloc(0x26, 0xff);
    tlv(0x61, Buffer.concat([tlv(0x4f, SOFT_USIM_AID), tlv(0x50, Buffer.from('USIM', 'latin1'))])).copy(dirRecord);
    this.#mf = {
      fid: MF_FID,
      files: new Map<number, Ef>([
        [0x2f00, { kind: 'linear', recordLength: dirRecord.length, records: [dirRecord] }],
        [0x2fe2, { kind: 'transparent', data: encodeSwappedBcd(iccid, 10) }],
      ]),
    };
    this.#adf = {
      fid: ADF_FID,
      aid: SOFT_USIM_AID,
      files: new Map<number, Ef>([
        [0x6f07, { kind: 'transparent', data: encodeImsi(o.imsi) }],
        // EF_AD: normal operation, no additional information, MNC length (TS 31.102 §4.2.18).
        [0x6fad, { kind: 'transparent', data: Buffer.from([0x00, 0x00, 0x00, o.mncLength]) }],
      ]),
    };
    this.reset();
  }

  get atr(): Buffer {
    return SOFT_CARD_ATR;
  }

  /** Power-on or reset: only the basic channel, MF selected, nothing pending (the SQN array is non-volatile). */
  reset(): void {
    this.#channels = new Map([[0, { df: this.#mf }]]);
  }

  /** One C-APDU → one R-APDU. Never throws: malformed commands get a status word. */
  process(c: Buffer): Buffer {
    if (c.length < 4) return sw(0x6700);
    const [cla, ins, p1, p2] = [c[0]!, c[1]!, c[2]!, c[3]!];
    // Only the TS 102 221 class ('0X'/'4X'); the GSM class 'A0' is not a UICC's (TS 102 221 §10.1.1).
    if ((cla & 0xb0) !== 0) return sw(0x6e00);
    let lc = 0,
      data = Buffer.alloc(0),
      le: number | undefined;
    if (c.length === 5) le = c[4]!;
    else if (c.length > 5) {
      lc = c[4]!;
      if (c.length !== 5 + lc && c.length !== 6 + lc) return sw(0x6700);
      data = Buffer.from(c.subarray(5, 5 + lc));
      if (c.length === 6 + lc) le = c[5 + lc]!;
    }
    const ch = this.#channels.get(channelOfCla(cla));
    if (!ch) return sw(0x6881);
    if (ins !== INS.GET_RESPONSE) ch.pending = undefined;
    switch (ins) {
      case INS.SELECT:
        return this.#select(ch, p1, p2, data);
      case INS.READ_BINARY:
        return this.#readBinary(ch, p1, p2, le);
      case INS.READ_RECORD:
        return this.#readRecord(ch, p1, p2, le);
      case INS.GET_RESPONSE:
        return this.#getResponse(ch, le);
      case INS.MANAGE_CHANNEL:
        return this.#manageChannel(channelOfCla(cla), p1, p2, le);
      case INS.AUTHENTICATE:
        return this.#authenticate(ch, p1, p2, data);
      case INS.STATUS:
        return p2 === 0x0c ? sw(0x9000) : this.#respond(ch, this.#fcpOfDf(ch.df));
      default:
        return sw(0x6d00);
    }
  }

  /** T=0: a response is announced with 61xx and fetched with GET RESPONSE (TS 102 221 §7.3.1.1.4). */
  #respond(ch: ChannelState, data: Buffer): Buffer {
    ch.pending = data;
    return sw(0x6100 | (data.length & 0xff));
  }

  #getResponse(ch: ChannelState, le: number | undefined): Buffer {
    const p = ch.pending;
    if (!p) return sw(0x6985);
    const want = le === undefined || le === 0 ? 256 : le;
    if (want > p.length) return sw(0x6c00 | p.length);
    ch.pending = want < p.length ? p.subarray(want) : undefined;
    return sw(want < p.length ? 0x6100 | Math.min(p.length - want, 0xff) : 0x9000, p.subarray(0, want));
  }

  #fcpOfDf(df: Df): Buffer {
    const parts = [tlv(0x82, Buffer.from([0x78, 0x21])), tlv(0x83, Buffer.from([df.fid >> 8, df.fid & 0xff]))];
    if (df.aid) parts.push(tlv(0x84, df.aid));
    parts.push(tlv(0x8a, Buffer.from([0x05])));
    return tlv(0x62, Buffer.concat(parts));
  }

  #fcpOfEf(fid: number, ef: Ef): Buffer {
    const size = ef.kind === 'transparent' ? ef.data.length : ef.recordLength * ef.records.length;
    const fd =
      ef.kind === 'transparent'
        ? Buffer.from([0x41, 0x21])
        : Buffer.from([0x42, 0x21, ef.recordLength >> 8, ef.recordLength & 0xff, ef.records.length]);
    return tlv(
      0x62,
      Buffer.concat([
        tlv(0x82, fd),
        tlv(0x83, Buffer.from([fid >> 8, fid & 0xff])),
        tlv(0x8a, Buffer.from([0x05])),
        tlv(0x80, Buffer.from([size >> 8, size & 0xff])),
      ]),
    );
  }

  #select(ch: ChannelState, p1: number, p2: number, data: Buffer): Buffer {
    const wantFcp = (p2 & 0x0c) !== 0x0c;
    if (p1 === 0x04) {
      // Selection by DF name: a right-truncated AID is enough (TS 102 221 §11.1.1.2).
      if (data.length < 5 || data.length > 16) return sw(0x6700);
      if (!SOFT_USIM_AID.subarray(0, data.length).equals(data)) return sw(0x6a82);
      ch.df = this.#adf;
      ch.ef = undefined;
      return wantFcp ? this.#respond(ch, this.#fcpOfDf(this.#adf)) : sw(0x9000);
    }
    if (p1 !== 0x00) return sw(0x6a86);
    if (data.length !== 2) return sw(0x6700);
    const fid = data.readUInt16BE(0);
    if (fid === MF_FID || (fid === ADF_FID && ch.df === this.#adf)) {
      ch.df = fid === MF_FID ? this.#mf : this.#adf;
      ch.ef = undefined;
      return wantFcp ? this.#respond(ch, this.#fcpOfDf(ch.df)) : sw(0x9000);
    }
    const ef = ch.df.files.get(fid) ?? this.#mf.files.get(fid);
    if (!ef) return sw(0x6a82);
    if (!ch.df.files.has(fid)) ch.df = this.#mf;
    ch.ef = fid;
    return wantFcp ? this.#respond(ch, this.#fcpOfEf(fid, ef)) : sw(0x9000);
  }

  #currentEf(ch: ChannelState): Ef | undefined {
    return ch.ef === undefined ? undefined : ch.df.files.get(ch.ef);
  }

  #readBinary(ch: ChannelState, p1: number, p2: number, le: number | undefined): Buffer {
    const ef = this.#currentEf(ch);
    if (!ef || ef.kind !== 'transparent') return sw(0x6986);
    if (p1 & 0x80) return sw(0x6a86);
    const off = (p1 << 8) | p2;
    if (off >= ef.data.length) return sw(0x6b00);
    const left = ef.data.length - off;
    const want = le === undefined || le === 0 ? 256 : le;
    if (want > left) return sw(0x6c00 | left);
    return sw(0x9000, ef.data.subarray(off, off + want));
  }

  #readRecord(ch: ChannelState, p1: number, p2: number, le: number | undefined): Buffer {
    const ef = this.#currentEf(ch);
    if (!ef || ef.kind !== 'linear') return sw(0x6981);
    if (p2 !== 0x04) return sw(0x6a86);
    const rec = ef.records[p1 - 1];
    if (!rec) return sw(0x6a83);
    if (le !== rec.length && !(le === 0 && rec.length === 256)) return sw(0x6c00 | rec.length);
    return sw(0x9000, rec);
  }

  #manageChannel(from: number, p1: number, p2: number, le: number | undefined): Buffer {
    if (from !== 0) return sw(0x6881);
    if (p1 === 0x80) {
      if (p2 === 0 || !this.#channels.delete(p2)) return sw(0x6a86);
      return sw(0x9000);
    }
    if (p1 !== 0x00 || p2 !== 0x00) return sw(0x6a86);
    let n = 1;
    while (this.#channels.has(n)) n++;
    if (n >= MAX_CHANNELS) return sw(0x6a81);
    if (le !== 1) return sw(0x6c01);
    this.#channels.set(n, { df: this.#mf });
    return sw(0x9000, Buffer.from([n]));
  }

  #authenticate(ch: ChannelState, p1: number, p2: number, data: Buffer): Buffer {
    if (ch.df !== this.#adf) return sw(0x6985);
    if (p1 !== 0x00 || p2 !== 0x81) return sw(0x6a86);
    if (data.length !== 34 || data[0] !== 16 || data[17] !== 16) return sw(0x6700);
    const r = this.usim.authenticate(data.subarray(1, 17), data.subarray(18, 34));
    if (r.kind === 'mac_failure') return sw(SW_MAC_FAILURE);
    if (r.kind === 'sync_failure') return this.#respond(ch, Buffer.concat([Buffer.from([0xdc, 14]), r.auts]));
    // Kc by conversion function c3 (TS 33.102 §6.8.1.2): CK1 ⊕ CK2 ⊕ IK1 ⊕ IK2.
    const kc = Buffer.alloc(8);
    for (let i = 0; i < 8; i++) kc[i] = r.ck[i]! ^ r.ck[i + 8]! ^ r.ik[i]! ^ r.ik[i + 8]!;
    return this.#respond(
      ch,
      Buffer.concat([
        Buffer.from([0xdb, r.res.length]),
        r.res,
        Buffer.from([16]),
        r.ck,
        Buffer.from([16]),
        r.ik,
        Buffer.from([8]),
        kc,
      ]),
    );
  }
}
