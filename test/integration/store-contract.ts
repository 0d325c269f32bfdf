/** One behaviour suite for the store interfaces, run against every implementation. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Stores, SubscriberRecord, BootstrapSession, Challenge } from '../../shared/store/types.js';
import { makeSqn, seqOf } from '../../shared/crypto/sqn.js';
import type { StoredRegistration } from '../../shared/store/lwm2m-registrations.js';

const sub = (imsi: string, extra: Partial<SubscriberRecord> = {}): SubscriberRecord => ({
  imsi,
  k: randomBytes(16),
  opc: randomBytes(16),
  amf: Buffer.from('8000', 'hex'),
  sqn: 0,
  algorithm: 'milenage',
  resLength: 8,
  updatedMs: Date.now(),
  ...extra,
});
const session = (btid: string, lifetimeMs = 60_000): BootstrapSession => ({
  btid,
  impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
  ks: randomBytes(32),
  createdAtMs: Math.floor(Date.now() / 1000) * 1000,
  expiresAtMs: Date.now() + lifetimeMs,
  gbaU: false,
});
const challenge = (): Challenge => ({
  impi: 'x@y',
  rand: randomBytes(16),
  autn: randomBytes(16),
  xres: randomBytes(8),
  ck: randomBytes(16),
  ik: randomBytes(16),
  algorithm: 'AKAv1-MD5',
  opaque: randomBytes(8).toString('hex'),
  lifetimeSec: 3600,
  gbaU: true,
});
const ADV = { indBits: 5, delta: 2 ** 28 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function storeContract(backend: string, open: () => Promise<Stores>): void {
  describe(`store contract (${backend})`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await open();
    });
    afterEach(async () => {
      await stores.close();
    });

    describe('subscribers', () => {
      it('creates, reads back exactly, replaces and deletes', async () => {
        const s = sub('001010000000001', {
          op: randomBytes(16),
          impi: 'alice@ims.example',
          guss: { bsfInfo: { lifeTime: 60, uiccType: 'GBA_U' } },
        });
        expect(await stores.subscribers.put(s)).to.equal(true);
        expect(await stores.subscribers.get(s.imsi)).to.deep.equal(s);
        expect(await stores.subscribers.imsiForImpi('alice@ims.example')).to.equal(s.imsi);
        const replaced = { ...s, impi: 'bob@ims.example', sqn: 42, op: undefined, guss: undefined };
        expect(await stores.subscribers.put(replaced)).to.equal(false);
        expect(await stores.subscribers.get(s.imsi)).to.deep.equal(replaced);
        expect(await stores.subscribers.imsiForImpi('alice@ims.example')).to.equal(undefined);
        expect(await stores.subscribers.delete(s.imsi)).to.equal(true);
        expect(await stores.subscribers.delete(s.imsi)).to.equal(false);
        expect(await stores.subscribers.get(s.imsi)).to.equal(undefined);
        expect(await stores.subscribers.imsiForImpi('bob@ims.example')).to.equal(undefined);
      });

      it('pages in IMSI order', async () => {
        for (const i of [5, 1, 3, 2, 4]) await stores.subscribers.put(sub(`00101000000000${i}`));
        const p1 = await stores.subscribers.list(undefined, 2);
        expect(p1.items.map((s) => s.imsi)).to.deep.equal(['001010000000001', '001010000000002']);
        expect(p1.total).to.equal(5);
        const p2 = await stores.subscribers.list('001010000000002', 10);
        expect(p2.items.map((s) => s.imsi)).to.deep.equal(['001010000000003', '001010000000004', '001010000000005']);
      });

      it('advances SQN as SEQ+1 with the next IND, and unknown IMSIs give undefined', async () => {
        await stores.subscribers.put(sub('001010000000009', { sqn: makeSqn(7, 31) }));
        const a = await stores.subscribers.advanceSqn('001010000000009', ADV);
        expect(a!.sqn).to.equal(makeSqn(8, 0));
        expect((await stores.subscribers.get('001010000000009'))!.sqn).to.equal(makeSqn(8, 0));
        expect(await stores.subscribers.advanceSqn('001019999999999', ADV)).to.equal(undefined);
      });

      it('resync adopts SQN_MS only when the USIM would refuse the next SQN', async () => {
        await stores.subscribers.put(sub('001010000000010', { sqn: makeSqn(100, 4) }));
        const kept = await stores.subscribers.advanceSqn('001010000000010', { ...ADV, resyncSqnMs: makeSqn(50, 2) });
        expect(kept!.sqn).to.equal(makeSqn(101, 5));
        const adopted = await stores.subscribers.advanceSqn('001010000000010', {
          ...ADV,
          resyncSqnMs: makeSqn(500, 9),
        });
        expect(adopted!.sqn).to.equal(makeSqn(501, 10));
      });

      it('500 concurrent advances give 500 distinct, consecutive SEQs (atomic)', async () => {
        await stores.subscribers.put(sub('001010000000011'));
        const got = await Promise.all(
          Array.from({ length: 500 }, () => stores.subscribers.advanceSqn('001010000000011', ADV)),
        );
        const seqs = got.map((s) => seqOf(s!.sqn)).sort((a, b) => a - b);
        expect(new Set(seqs).size).to.equal(500);
        expect(seqs[0]).to.equal(1);
        expect(seqs[499]).to.equal(500);
      });

      it('keeps a 48-bit SQN exactly', async () => {
        await stores.subscribers.put(sub('001010000000012', { sqn: 0xff9bb4d0b607 }));
        expect((await stores.subscribers.advanceSqn('001010000000012', ADV))!.sqn).to.equal(
          makeSqn(seqOf(0xff9bb4d0b607) + 1, 8),
        );
      });
    });

    describe('challenges', () => {
      it('are consumed once', async () => {
        const c = challenge();
        await stores.challenges.create('n1', c, 5000);
        expect(await stores.challenges.consume('n1')).to.deep.equal(c);
        expect(await stores.challenges.consume('n1')).to.equal(undefined);
      });
      it('concurrent consumers: exactly one wins', async () => {
        await stores.challenges.create('n2', challenge(), 5000);
        const r = await Promise.all(Array.from({ length: 20 }, () => stores.challenges.consume('n2')));
        expect(r.filter(Boolean)).to.have.length(1);
      });
      it('expire after their TTL', async () => {
        await stores.challenges.create('n3', challenge(), 50);
        await sleep(120);
        expect(await stores.challenges.consume('n3')).to.equal(undefined);
      });
      it("count the IMPI's outstanding ones: issued, neither answered nor expired (issue 18 finding 10)", async () => {
        const mine = { ...challenge(), impi: 'counted@y' };
        await stores.challenges.create('o1', mine, 5000);
        await stores.challenges.create('o2', mine, 5000);
        await stores.challenges.create('o3', mine, 50);
        await stores.challenges.create('o4', { ...challenge(), impi: 'other@y' }, 5000);
        expect(await stores.challenges.outstanding('counted@y')).to.equal(3);
        await stores.challenges.consume('o1');
        await sleep(120);
        expect(await stores.challenges.outstanding('counted@y')).to.equal(1);
        expect(await stores.challenges.outstanding('other@y')).to.equal(1);
        expect(await stores.challenges.outstanding('nobody@y')).to.equal(0);
      });
    });

    describe('sessions', () => {
      it('refuse to overwrite a live B-TID and keep the first session', async () => {
        const s = session('A@bsf');
        expect(await stores.sessions.create(s)).to.equal(true);
        expect(await stores.sessions.create({ ...session('A@bsf'), impi: 'other' })).to.equal(false);
        const got = await stores.sessions.get('A@bsf');
        expect(got!.impi).to.equal(s.impi);
        expect(got!.ks).to.deep.equal(s.ks);
        expect(got!.createdAtMs).to.equal(s.createdAtMs);
        expect(Math.abs(got!.expiresAtMs - s.expiresAtMs)).to.be.below(1000);
      });
      it('expire at the key lifetime', async () => {
        await stores.sessions.create(session('B@bsf', 1100));
        expect(await stores.sessions.get('B@bsf')).to.not.equal(undefined);
        await sleep(1600);
        expect(await stores.sessions.get('B@bsf')).to.equal(undefined);
      });
    });

    describe('NAF key cache', () => {
      it('stores by B-TID + NAF_Id and expires with the key', async () => {
        const e = {
          btid: 'C@bsf',
          nafIdHex: 'aa0100000002',
          keyHex: 'ab'.repeat(32),
          impi: 'x',
          expiresAtMs: Date.now() + 300,
          createdAtMs: Date.now(),
          gbaType: '3G_GBA',
        };
        await stores.nafKeys.put(e);
        expect(await stores.nafKeys.get('C@bsf', 'aa0100000002')).to.deep.equal(e);
        expect(await stores.nafKeys.get('C@bsf', 'bb0100000002')).to.equal(undefined);
        await sleep(400);
        expect(await stores.nafKeys.get('C@bsf', 'aa0100000002')).to.equal(undefined);
      });
    });

    describe('nonces', () => {
      it('are single use and expire', async () => {
        await stores.nonces.create('x1', 5000);
        const r = await Promise.all(Array.from({ length: 10 }, () => stores.nonces.consume('x1')));
        expect(r.filter(Boolean)).to.have.length(1);
        expect(await stores.nonces.consume('never-issued')).to.equal(false);
        await stores.nonces.create('x2', 50);
        await sleep(120);
        expect(await stores.nonces.consume('x2')).to.equal(false);
      });
    });

    describe('LwM2M registrations', () => {
      const reg = (id: string, extra: Partial<StoredRegistration> = {}): StoredRegistration => ({
        registrationId: id,
        endpoint: `urn:imsi:00101${id.padStart(10, '0').slice(-10)}`,
        location: ['rd', id],
        lwm2mVersion: '1.1',
        lifetimeSec: 60,
        binding: 'U',
        queueMode: false,
        links: [
          { path: '/3/0', params: {} },
          { path: '/', params: { rt: 'oma.lwm2m', ct: '110' } },
        ],
        objects: [{ objectId: 3, instances: [0] }],
        rootPath: '/',
        contentFormats: [110],
        extra: {},
        registeredAtMs: Date.now(),
        lastUpdateMs: Date.now(),
        transport: 'udp',
        address: '127.0.0.1:5000',
        pskIdentity: '3GPP-bootstrapping.B@bsf',
        btid: 'B@bsf',
        impi: 'x@y',
        identityEndpoint: 'urn:imsi:1',
        uaSecProtId: '010001c0a8',
        pskExpiresAtMs: Date.now() + 3_600_000,
        ...extra,
      });

      it('stores, reads back exactly, replaces, lists and deletes', async () => {
        const a = reg('a1'),
          b = reg('b2', { transport: 'tcp', sms: '+1555' });
        await stores.lwm2mRegistrations.put(a, Date.now() + 60_000);
        await stores.lwm2mRegistrations.put(b, Date.now() + 60_000);
        expect(await stores.lwm2mRegistrations.get('a1')).to.deep.equal(a);
        const a2 = { ...a, lifetimeSec: 300, lastUpdateMs: a.lastUpdateMs + 1 };
        await stores.lwm2mRegistrations.put(a2, Date.now() + 300_000);
        expect(await stores.lwm2mRegistrations.get('a1')).to.deep.equal(a2);
        expect((await stores.lwm2mRegistrations.list()).map((r) => r.registrationId).sort()).to.deep.equal([
          'a1',
          'b2',
        ]);
        expect(await stores.lwm2mRegistrations.delete('a1')).to.equal(true);
        expect(await stores.lwm2mRegistrations.delete('a1')).to.equal(false);
        expect(await stores.lwm2mRegistrations.get('a1')).to.equal(undefined);
        expect((await stores.lwm2mRegistrations.list()).map((r) => r.registrationId)).to.deep.equal(['b2']);
      });

      it('expired registrations leave the store', async () => {
        await stores.lwm2mRegistrations.put(reg('c3'), Date.now() + 150);
        expect(await stores.lwm2mRegistrations.get('c3')).to.not.equal(undefined);
        await sleep(300);
        expect(await stores.lwm2mRegistrations.get('c3')).to.equal(undefined);
        expect((await stores.lwm2mRegistrations.list()).map((r) => r.registrationId)).to.not.include('c3');
      });
    });

    it('answers ping', async () => expect(await stores.ping()).to.equal(true));
  });
}
