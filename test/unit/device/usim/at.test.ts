import { expect } from 'chai';
import { createAkaAlgorithm } from '../../../../shared/crypto/aka-algorithm.js';
import { generateVector, recoverSqnMs } from '../../../../shared/crypto/aka-tokens.js';
import { sqnToBytes } from '../../../../shared/crypto/sqn.js';
import { AtClient, openAtLink, parseApduAnswer, parseCchoAnswer, type AtPort } from '../../../../device/usim/at.js';
import { AtModemSim, type ModemOptions } from '../../../../device/usim/modem-sim.js';
import { SoftCard } from '../../../../device/usim/soft-card.js';
import { CardUsim } from '../../../../device/usim/card-usim.js';

const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OPC = Buffer.from('cd63cb71954a9f4e48a5994e37a02baf', 'hex');
const alg = createAkaAlgorithm({ algorithm: 'milenage', k: K, opc: OPC });
const vector = (sqn: number) =>
  generateVector(alg, Buffer.alloc(16, sqn & 0xff), sqnToBytes(sqn), Buffer.from('8000', 'hex'));
const card = () =>
  new SoftCard({ imsi: '001010000000001', mncLength: 2, usim: { algorithm: 'milenage', k: K, opc: OPC } });

/** The host's AtClient wired to the simulated modem in memory; the transcript is kept for assertions. */
function wire(modem: AtModemSim, transcript: string[] = []): AtPort {
  let cb: (s: string) => void = () => {};
  return {
    write: (s) => {
      transcript.push(`> ${s.trim()}`);
      const out = modem.input(s);
      if (out) {
        transcript.push(`< ${out.trim()}`);
        setImmediate(() => cb(out));
      }
    },
    onData: (f) => {
      cb = f;
    },
    close: async () => {},
  };
}

async function openVia(o: ModemOptions, pin?: string, transcript: string[] = []) {
  const link = await openAtLink(new AtClient(wire(new AtModemSim(card(), o), transcript), 2000), { pin });
  return { usim: await CardUsim.open(link), link };
}

describe('device/usim AT backend against the simulated modem', () => {
  it('parses +CSIM/+CGLA with and without quotes and +CCHO in both forms', () => {
    expect(parseApduAnswer('+CSIM', ['+CSIM: 4,"6110"']).toString('hex')).to.equal('6110');
    expect(parseApduAnswer('+CGLA', ['+CGLA: 6,AB9000']).toString('hex')).to.equal('ab9000');
    expect(() => parseApduAnswer('+CSIM', ['+CSIM: 6,"6110"'])).to.throw(/bad length/);
    expect(parseCchoAnswer(['+CCHO: 2'])).to.equal(2);
    expect(parseCchoAnswer(['3'])).to.equal(3);
  });

  const quirkSets: ModemOptions['quirks'][] = [
    [],
    ['bare-ccho'],
    ['auto-get-response'],
    ['no-cgla'],
    ['keep-echo'],
    ['unquoted'],
    ['no-cgla', 'auto-get-response', 'keep-echo', 'unquoted'],
  ];
  for (const quirks of quirkSets) {
    it(`reads the IMSI and authenticates with quirks [${quirks!.join(', ')}]`, async () => {
      const transcript: string[] = [];
      const { usim } = await openVia({ quirks }, undefined, transcript);
      expect(usim.identity.imsi).to.equal('001010000000001');
      expect(usim.identity.impi).to.equal('001010000000001@ims.mnc001.mcc001.3gppnetwork.org');
      const v = vector(33);
      expect(await usim.authenticate(v.rand, v.autn)).to.deep.include({ kind: 'ok', res: v.xres, ck: v.ck, ik: v.ik });
      const again = await usim.authenticate(v.rand, v.autn);
      expect(again.kind).to.equal('sync_failure');
      if (again.kind === 'sync_failure') expect(recoverSqnMs(alg, v.rand, again.auts).macSOk).to.equal(true);
      const uses = (s: string) => transcript.some((l) => l.startsWith(`> ${s}`));
      expect(uses('AT+CGLA=')).to.equal(!quirks!.includes('no-cgla'));
      // GET RESPONSE on the same channel when the modem passes 61xx through.
      if (!quirks!.includes('auto-get-response'))
        expect(transcript.some((l) => /^> AT\+(CGLA=1,10,"01C00000|CSIM=10,"00C00000)/.test(l))).to.equal(true);
      await usim.close();
    });
  }

  it('uses CGLA when the modem refuses AUTHENTICATE through CSIM', async () => {
    const { usim } = await openVia({ quirks: ['no-csim-auth'] });
    const v = vector(34);
    expect((await usim.authenticate(v.rand, v.autn)).kind).to.equal('ok');
  });

  it('says so when the modem has neither CGLA nor AUTHENTICATE through CSIM', async () => {
    const { usim } = await openVia({ quirks: ['no-csim-auth', 'no-cgla'] });
    const v = vector(35);
    let err: Error | undefined;
    await usim.authenticate(v.rand, v.autn).catch((e: Error) => {
      err = e;
    });
    expect(err?.message).to.match(/refuses AUTHENTICATE through \+CSIM/);
  });

  it('gives clear errors: no card, PIN needed, wrong PIN; a right PIN opens the SIM', async () => {
    const fail = async (o: ModemOptions, pin?: string) => {
      try {
        await openVia(o, pin);
      } catch (e) {
        return (e as Error).message;
      }
      return 'opened';
    };
    expect(await fail({ quirks: ['no-card'] })).to.match(/no SIM card in the modem/);
    expect(await fail({ pin: '1234' })).to.match(/needs its PIN.*--usim-pin/);
    expect(await fail({ pin: '1234' }, '9999')).to.match(/wrong PIN/);
    expect(await fail({ pin: '1234' }, '1234')).to.equal('opened');
  });

  it('times out with a clear message when nothing answers', async () => {
    const silent: AtPort = { write: () => {}, onData: () => {}, close: async () => {} };
    let err: Error | undefined;
    await openAtLink(new AtClient(silent, 300)).catch((e: Error) => {
      err = e;
    });
    expect(err?.message).to.match(/no answer from the modem/);
  });

  it('the simulated modem echoes until ATE0 and answers AT+CIMI', () => {
    const m = new AtModemSim(card());
    expect(m.input('AT\r')).to.equal('AT\r\r\nOK\r\n');
    expect(m.input('ATE0\r')).to.equal('ATE0\r\r\nOK\r\n');
    expect(m.input('AT+CIMI\r')).to.equal('\r\n001010000000001\r\n\r\nOK\r\n');
    expect(m.input('AT+CSIM=3,"00"\r')).to.match(/CME ERROR/);
  });
});
