import { expect } from 'chai';
import { createAkaAlgorithm } from '../../../../shared/crypto/aka-algorithm.js';
import { generateVector, recoverSqnMs } from '../../../../shared/crypto/aka-tokens.js';
import { sqnToBytes } from '../../../../shared/crypto/sqn.js';
import {
  CardChannel,
  CardError,
  claFor,
  decodeImsi,
  decodeSwappedBcd,
  encodeImsi,
  mncLengthOfAd,
  parseAuthResponse,
  splitRapdu,
  type ApduTransport,
} from '../../../../device/usim/apdu.js';
import { SoftCard } from '../../../../device/usim/soft-card.js';
import { CardUsim, type CardLink } from '../../../../device/usim/card-usim.js';

// TS 35.208 test set 1.
const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OPC = Buffer.from('cd63cb71954a9f4e48a5994e37a02baf', 'hex');
const RAND = Buffer.from('23553cbe9637a89d218ae64dae47bf35', 'hex');
const alg = createAkaAlgorithm({ algorithm: 'milenage', k: K, opc: OPC });
const vector = (sqn: number, rand = RAND) => generateVector(alg, rand, sqnToBytes(sqn), Buffer.from('8000', 'hex'));

const newCard = (o: Partial<ConstructorParameters<typeof SoftCard>[0]> = {}) =>
  new SoftCard({
    imsi: '001010123456789',
    mncLength: 2,
    iccid: '8949440000001234567',
    usim: { algorithm: 'milenage', k: K, opc: OPC },
    ...o,
  });
const linkTo = (card: SoftCard, log: string[] = []): CardLink => ({
  transmit: async (c) => {
    const r = card.process(c);
    log.push(`${c.toString('hex')} -> ${r.toString('hex')}`);
    return r;
  },
  close: async () => {},
});

describe('device/usim APDU layer', () => {
  it('encodes and decodes EF_IMSI with the parity nibble (odd and even lengths)', () => {
    expect(encodeImsi('001010123456789').toString('hex')).to.equal('080910101032547698');
    expect(decodeImsi(Buffer.from('080910101032547698', 'hex'))).to.equal('001010123456789');
    expect(encodeImsi('31041012345678').toString('hex')).to.equal('0831011410325476f8');
    expect(decodeImsi(encodeImsi('31041012345678'))).to.equal('31041012345678');
    expect(() => decodeImsi(Buffer.from('0802', 'hex'))).to.throw(CardError);
  });

  it('reads the MNC length from the 4th octet of EF_AD and the ICCID without the F filler', () => {
    expect(mncLengthOfAd(Buffer.from('00000003', 'hex'))).to.equal(3);
    expect(mncLengthOfAd(Buffer.from('00000002ff', 'hex'))).to.equal(2);
    expect(() => mncLengthOfAd(Buffer.from('000000', 'hex'))).to.throw(/MNC length/);
    expect(decodeSwappedBcd(Buffer.from('989444000000214365f7', 'hex'))).to.equal('8949440000001234567');
  });

  it('puts the logical channel in CLA (TS 102 221 §10.1.1)', () => {
    expect([0, 1, 3, 4, 19].map(claFor)).to.deep.equal([0x00, 0x01, 0x03, 0x40, 0x4f]);
  });

  it('parses DB, DC and 9862 answers to AUTHENTICATE', () => {
    const db = Buffer.concat([
      Buffer.from([0xdb, 8]),
      Buffer.alloc(8, 1),
      Buffer.from([16]),
      Buffer.alloc(16, 2),
      Buffer.from([16]),
      Buffer.alloc(16, 3),
      Buffer.from([8]),
      Buffer.alloc(8, 4),
    ]);
    const ok = parseAuthResponse({ data: db, sw: 0x9000 });
    expect(ok.kind).to.equal('ok');
    if (ok.kind === 'ok') {
      expect(ok.res).to.deep.equal(Buffer.alloc(8, 1));
      expect(ok.kc).to.deep.equal(Buffer.alloc(8, 4));
    }
    const dc = parseAuthResponse({ data: Buffer.concat([Buffer.from([0xdc, 14]), Buffer.alloc(14, 9)]), sw: 0x9000 });
    expect(dc).to.deep.equal({ kind: 'sync_failure', auts: Buffer.alloc(14, 9) });
    expect(parseAuthResponse({ data: Buffer.alloc(0), sw: 0x9862 })).to.deep.equal({ kind: 'mac_failure' });
    expect(() => parseAuthResponse({ data: Buffer.from([0xdb, 20]), sw: 0x9000 })).to.throw(/truncated/);
    expect(() => parseAuthResponse({ data: Buffer.alloc(0), sw: 0x6982 })).to.throw(/6982.*PIN/);
  });

  it('answers 61xx with GET RESPONSE and 6Cxx by repeating with Le, from any command', async () => {
    const sent: string[] = [];
    const t: ApduTransport = async (c) => {
      sent.push(c.toString('hex'));
      if (c[1] === 0xb0 && c[4] !== 4) return Buffer.from('6c04', 'hex');
      if (c[1] === 0xb0) return Buffer.from('010203049000', 'hex');
      if (c[1] === 0xc0) return Buffer.from('aabb9000', 'hex');
      return Buffer.from('6102', 'hex');
    };
    const ch = new CardChannel(t, 1);
    expect((await ch.send(0xb0, 0, 0, undefined, 0)).data.toString('hex')).to.equal('01020304');
    expect(sent).to.deep.equal(['01b0000000', '01b0000004']);
    const r = await ch.send(0x88, 0, 0x81, Buffer.alloc(34));
    expect(r).to.deep.equal({ data: Buffer.from('aabb', 'hex'), sw: 0x9000 });
    expect(sent.at(-1)).to.equal('01c0000002');
  });
});

describe('device/usim software card', () => {
  it('is found through EF_DIR and gives IMSI, MNC length, IMPI and ICCID', async () => {
    const log: string[] = [];
    const u = await CardUsim.open(linkTo(newCard({ mncLength: 3, imsi: '310410123456789' }), log));
    expect(u.identity).to.deep.equal({
      imsi: '310410123456789',
      mncLength: 3,
      impi: '310410123456789@ims.mnc410.mcc310.3gppnetwork.org',
      iccid: '8949440000001234567',
    });
    expect(u.aid.subarray(0, 7).toString('hex')).to.equal('a0000000871002');
    // T=0: every SELECT with P2 04 is answered 61xx and the FCP fetched with GET RESPONSE.
    expect(log.some((l) => /^00a40004022f00 -> 61[0-9a-f]{2}$/.test(l))).to.equal(true);
    expect(log.some((l) => l.startsWith('00c00000'))).to.equal(true);
  });

  it('answers AUTHENTICATE with the RES/CK/IK of the network vector, through 61xx', async () => {
    const u = await CardUsim.open(linkTo(newCard()));
    const v = vector(32 + 1);
    const r = await u.authenticate(v.rand, v.autn);
    expect(r).to.deep.include({ kind: 'ok', res: v.xres, ck: v.ck, ik: v.ik });
  });

  it('refuses a replayed AUTN with a DC AUTS that verifies, and a bad MAC with 9862', async () => {
    const card = newCard();
    const u = await CardUsim.open(linkTo(card), { manageChannel: true });
    const v = vector(64 + 3);
    expect((await u.authenticate(v.rand, v.autn)).kind).to.equal('ok');
    const again = await u.authenticate(v.rand, v.autn);
    expect(again.kind).to.equal('sync_failure');
    if (again.kind === 'sync_failure') {
      const rec = recoverSqnMs(alg, v.rand, again.auts);
      expect(rec.macSOk).to.equal(true);
      expect(rec.sqnMs.readUIntBE(0, 6)).to.equal(64 + 3);
    }
    // Another IND slot with a higher SEQ is still fresh (TS 33.102 Annex C.2).
    const w = vector(64 + 32 + 4);
    expect((await u.authenticate(w.rand, w.autn)).kind).to.equal('ok');
    const bad = Buffer.from(w.autn);
    bad[15]! ^= 1;
    expect(await u.authenticate(w.rand, bad)).to.deep.equal({ kind: 'mac_failure' });
  });

  it('uses a logical channel opened with MANAGE CHANNEL and closes it', async () => {
    const log: string[] = [];
    const card = newCard();
    const u = await CardUsim.open(linkTo(card, log), { manageChannel: true });
    expect(log.some((l) => /^0070000001 -> 019000$/.test(l))).to.equal(true);
    expect(log.some((l) => l.startsWith('01a40404'))).to.equal(true);
    await u.close();
    expect(log.at(-1)).to.equal('00708001 -> 9000');
    expect(splitRapdu(card.process(Buffer.from('01f2000000', 'hex'))).sw).to.equal(0x6881);
  });

  it('answers malformed or out-of-place commands with status words, never an exception', () => {
    const card = newCard();
    const swOf = (hex: string) => splitRapdu(card.process(Buffer.from(hex, 'hex'))).sw;
    expect(swOf('00')).to.equal(0x6700);
    expect(swOf('a0a4000002')).to.equal(0x6e00);
    expect(swOf('00ee000000')).to.equal(0x6d00);
    expect(swOf('0088008122' + '00'.repeat(34))).to.equal(0x6985); // USIM not selected
    expect(swOf('00a4040407a0000000871099')).to.equal(0x6a82);
    expect(swOf('00b0000009')).to.equal(0x6986);
    expect(swOf('00c0000010')).to.equal(0x6985);
    expect(swOf('00a40004026f07')).to.equal(0x6a82); // not under the MF
    expect(swOf('00a4040c07a0000000871002')).to.equal(0x9000);
    expect(swOf('00a4000c026f07')).to.equal(0x9000);
    expect(swOf('00b0000000')).to.equal(0x6c09);
    expect(swOf('00b0000a01')).to.equal(0x6b00);
    expect(swOf('0088008010' + '00'.repeat(16))).to.equal(0x6a86);
  });
});
