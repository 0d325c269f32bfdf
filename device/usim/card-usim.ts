/**
 * A USIM on a real (or virtual) UICC behind any APDU link: finds the USIM application through EF_DIR, reads
 * EF_IMSI, EF_AD and EF_ICCID, derives the IMPI (TS 23.003 §13.3) and runs AUTHENTICATE in the 3G context
 * (TS 31.102 §7.1.2). K and OPc never leave the card.
 */
import { impiFromImsi } from '../../shared/identifiers.js';
import type { AuthenticateResult, Usim } from '../usim.js';
import {
  CardChannel,
  CardError,
  closeLogicalChannel,
  decodeImsi,
  decodeSwappedBcd,
  INS,
  isUsimAid,
  mncLengthOfAd,
  openLogicalChannel,
  parseAuthResponse,
  parseDirRecord,
  type ApduTransport,
} from './apdu.js';

export interface CardIdentity {
  imsi: string;
  mncLength: 2 | 3;
  impi: string;
  iccid: string;
}

/** How a backend reaches the card. */
export interface CardLink {
  /** APDUs on the basic channel (the channel is in CLA for the others). */
  transmit: ApduTransport;
  /**
   * Opens a logical channel with the application selected, when the link does that itself (AT+CCHO,
   * TS 27.007 §8.45); its transmit then sends on that channel (AT+CGLA). Undefined: MANAGE CHANNEL or the basic channel.
   */
  openApplication?: (aid: Buffer) => Promise<{ channel: number; transmit: ApduTransport; close: () => Promise<void> }>;
  close(): Promise<void>;
}

export interface CardUsimOptions {
  /** Run the USIM on a logical channel opened with MANAGE CHANNEL instead of the basic channel. */
  manageChannel?: boolean;
}

export class CardUsim implements Usim {
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly link: CardLink,
    readonly identity: CardIdentity,
    readonly aid: Buffer,
    private readonly app: CardChannel,
    private readonly closeApp: () => Promise<void>,
  ) {}

  static async open(link: CardLink, o: CardUsimOptions = {}): Promise<CardUsim> {
    const basic = new CardChannel(link.transmit, 0);
    await basic.selectFid(0x3f00);
    const aid = await findUsimAid(basic);
    let iccid = '';
    try {
      await basic.selectFid(0x3f00);
      const f = await basic.selectFid(0x2fe2);
      iccid = decodeSwappedBcd(await basic.readBinary(f.size ?? 10));
    } catch (err) {
      if (!(err instanceof CardError)) throw err;
    }
    let app: CardChannel,
      closeApp = async (): Promise<void> => {};
    if (link.openApplication) {
      const a = await link.openApplication(aid);
      app = new CardChannel(a.transmit, a.channel);
      closeApp = a.close;
    } else if (o.manageChannel) {
      const n = await openLogicalChannel(link.transmit);
      app = new CardChannel(link.transmit, n);
      closeApp = () => closeLogicalChannel(link.transmit, n);
      await app.selectAid(aid);
    } else {
      app = basic;
      await app.selectAid(aid);
    }
    const imsiFcp = await app.selectFid(0x6f07);
    const imsi = decodeImsi(await app.readBinary(imsiFcp.size ?? 9));
    const adFcp = await app.selectFid(0x6fad);
    const mncLength = mncLengthOfAd(await app.readBinary(adFcp.size ?? 4));
    return new CardUsim(link, { imsi, mncLength, impi: impiFromImsi(imsi, mncLength), iccid }, aid, app, closeApp);
  }

  /** AUTHENTICATE, 3G context: RES/CK/IK, AUTS, or MAC failure (SW 9862). */
  authenticate(rand: Uint8Array, autn: Uint8Array): Promise<AuthenticateResult> {
    return this.#serial(async () => {
      const data = Buffer.concat([Buffer.from([16]), rand, Buffer.from([16]), autn]);
      const r = parseAuthResponse(await this.app.send(INS.AUTHENTICATE, 0x00, 0x81, data));
      if (r.kind === 'ok') return { kind: 'ok', res: r.res, ck: r.ck, ik: r.ik };
      return r;
    });
  }

  async close(): Promise<void> {
    await this.#serial(() => this.closeApp()).catch(() => undefined);
    await this.link.close();
  }

  /** One command sequence at a time: a card has a single command/response flow per channel. */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }
}

/** EF_DIR (2F00 under the MF, TS 102 221 §13.1): the first application whose AID starts A0000000871002. */
async function findUsimAid(mf: CardChannel): Promise<Buffer> {
  let fcp;
  try {
    fcp = await mf.selectFid(0x2f00);
  } catch (err) {
    if (err instanceof CardError && err.sw === 0x6a82)
      throw new CardError('no EF_DIR on the card: not a UICC, so no USIM application (a 2G SIM?)');
    throw err;
  }
  const recLen = fcp.recordLength ?? 0,
    n = fcp.records ?? 0;
  if (fcp.kind !== 'linear' || !recLen) throw new CardError('EF_DIR is not a linear fixed file');
  for (let i = 1; i <= Math.min(n, 32); i++) {
    const app = parseDirRecord(await mf.readRecord(i, recLen));
    if (app && isUsimAid(app.aid)) return app.aid;
  }
  throw new CardError(`USIM application not found: EF_DIR lists no AID starting A0000000871002 (${n} record(s))`);
}
