/** The HSS-mock's AuC without sockets: vectors a USIM accepts, resynchronisation, and its domain errors. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Auc } from '../../../hss-mock/auc.js';
import { SoftUsim } from '../../../device/usim.js';
import { HssRefused, UserUnknown } from '../../../shared/services/errors.js';
import { MemorySubscriberStore } from '../../../shared/store/memory.js';
import { computeOpc } from '../../../shared/crypto/milenage.js';

const IMSI = '001010000000001';
const IMPI = `${IMSI}@ims.mnc001.mcc001.3gppnetwork.org`;
const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OPC = computeOpc(K, Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex'));

describe('hss-mock/auc.ts Auc (no sockets)', () => {
  let subs: MemorySubscriberStore;
  let auc: Auc;
  beforeEach(async () => {
    subs = new MemorySubscriberStore();
    await subs.put({
      imsi: IMSI,
      k: K,
      opc: OPC,
      amf: Buffer.from('8000', 'hex'),
      sqn: 0,
      algorithm: 'milenage',
      resLength: 8,
      updatedMs: 0,
    });
    auc = new Auc({ subscribers: subs, random: (n) => randomBytes(n), indBits: 5, delta: 2 ** 28 });
  });

  it('resolves an IMPI and an imsi- ueId to the IMSI; unknown ones to undefined', async () => {
    expect(await auc.resolveUeId(IMPI)).to.equal(IMSI);
    expect(await auc.resolveUeId(`imsi-${IMSI}`)).to.equal(IMSI);
    expect(await auc.resolveUeId('nobody@example.org')).to.equal(undefined);
  });

  it('generates vectors the USIM accepts, with a fresh SQN each time', async () => {
    const usim = new SoftUsim({ algorithm: 'milenage', k: K, opc: OPC });
    for (let i = 0; i < 2; i++) {
      const { av, subscriber } = await auc.generate(IMPI);
      const a = usim.authenticate(av.rand, av.autn);
      expect(a.kind).to.equal('ok');
      if (a.kind === 'ok') {
        expect(a.res.equals(av.xres)).to.equal(true);
        expect(a.sqn).to.equal(subscriber.sqn);
      }
    }
  });

  it('resynchronises from AUTS (TS 33.102 §6.3.5): the next vector passes a USIM that was ahead', async () => {
    const usim = new SoftUsim({ algorithm: 'milenage', k: K, opc: OPC, sqnMs: 0x10000 });
    const { av } = await auc.generate(IMPI);
    const a = usim.authenticate(av.rand, av.autn);
    expect(a.kind).to.equal('sync_failure');
    if (a.kind !== 'sync_failure') return;
    const { av: next } = await auc.generate(IMPI, { rand: av.rand, auts: a.auts });
    expect(usim.authenticate(next.rand, next.autn).kind).to.equal('ok');
  });

  it('throws domain errors, not HTTP problems: UserUnknown, and HssRefused for a bad MAC-S', async () => {
    const unknown = await auc.generate('imsi-001019999999999').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(unknown).to.be.instanceOf(UserUnknown);
    const sqnBefore = (await subs.get(IMSI))!.sqn;
    const refused = await auc.generate(IMPI, { rand: randomBytes(16), auts: randomBytes(14) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(HssRefused);
    expect((refused as Error).message).to.not.match(/^resynchronisation refused/);
    expect((await subs.get(IMSI))!.sqn).to.equal(sqnBefore);
  });
});
