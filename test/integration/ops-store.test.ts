/**
 * The operations store (C9) on both implementations: the timeline is newest first and capped, sessions are
 * listed by IMPI, and a revocation removes the session, is announced, and keeps a late key-cache write out.
 */
import { expect } from 'chai';
import { createMemoryStores, MemorySessionStore } from '../../shared/store/memory.js';
import { connectRedis, createRedisStores, RedisSessionStore } from '../../shared/store/redis.js';
import { connectRedisCluster } from '../../shared/store/redis-cluster.js';
import { stopTestRedisCluster, testRedisCluster } from '../support/redis-cluster.js';
import { keyNames } from '../../shared/store/keys.js';
import { MemoryOpsStore, RedisOpsStore, type OpsLimits, type OpsStore } from '../../shared/store/ops.js';
import type { Stores } from '../../shared/store/types.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const LIMITS: OpsLimits = { eventsPerImpi: 3, eventTtlMs: 60_000, indexedSessions: 100 };
const session = (btid: string, impi: string) => ({
  btid,
  impi,
  ks: Buffer.alloc(32, 1),
  createdAtMs: Math.floor(Date.now() / 1000) * 1000,
  expiresAtMs: Math.floor(Date.now() / 1000) * 1000 + 60_000,
  gbaU: false,
});

function opsContract(name: string, open: () => Promise<{ stores: Stores; capped: OpsStore; close(): Promise<void> }>) {
  describe(`ops store: ${name}`, function () {
    this.timeout(20_000);
    let s: Awaited<ReturnType<typeof open>>;
    beforeEach(async () => {
      s = await open();
    });
    afterEach(async () => {
      await s.close();
    });

    it('keeps the newest events first and at most eventsPerImpi per IMPI', async () => {
      for (let i = 0; i < 5; i++)
        await s.capped.recordEvent({
          atMs: Date.now() - 10 + i,
          impi: 'a@x',
          outcome: i % 2 ? 'ok' : 'wrong_res',
          reason: `r${i}`,
        });
      await s.capped.recordEvent({ atMs: Date.now(), impi: 'b@x', outcome: 'ok', reason: 'bootstrapped' });
      const a = await s.capped.events('a@x', 10);
      expect(a.map((e) => e.reason)).to.deep.equal(['r4', 'r3', 'r2']);
      expect(await s.capped.events('a@x', 1)).to.have.length(1);
      expect((await s.capped.events(undefined, 10))[0]!.impi).to.equal('b@x');
    });

    it('lists indexed sessions by IMPI, and a revoked one disappears, is announced, and no key is written back', async () => {
      const ops = s.stores.ops;
      const one = session(
        `AAAAAAAAAAAAAAAAAAAAA${Math.floor(Math.random() * 9)}==@bsf.example`,
        `imsi${Math.random()}@x`,
      );
      expect(await s.stores.sessions.create(one)).to.equal(true);
      await ops.indexSession(one);
      expect((await ops.sessions(one.impi, 10)).map((x) => x.btid)).to.deep.equal([one.btid]);
      const heard: string[] = [];
      const stop = await ops.onRevoked((b) => heard.push(b));
      try {
        const entry = {
          btid: one.btid,
          nafIdHex: 'aa',
          keyHex: '00'.repeat(32),
          impi: one.impi,
          expiresAtMs: one.expiresAtMs,
          createdAtMs: one.createdAtMs,
          gbaType: '3G_GBA',
        };
        await s.stores.nafKeys.put(entry);
        expect(await s.stores.nafKeys.get(one.btid, 'aa')).to.not.equal(undefined);
        expect(await ops.revoke(one.btid)).to.equal(true);
        expect(await s.stores.sessions.get(one.btid)).to.equal(undefined);
        expect(await s.stores.nafKeys.get(one.btid, 'aa'), 'cached key dropped').to.equal(undefined);
        expect(await ops.isRevoked(one.btid)).to.equal(true);
        await s.stores.nafKeys.put(entry); // an in-flight Zn fetch finishing late
        expect(await s.stores.nafKeys.get(one.btid, 'aa'), 'not written back').to.equal(undefined);
        expect(await ops.sessions(one.impi, 10)).to.deep.equal([]);
        const t0 = Date.now();
        while (!heard.includes(one.btid) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
        expect(heard).to.include(one.btid);
        expect(await ops.revoke(one.btid), 'nothing left to revoke').to.equal(false);
        expect(await ops.revoke('unknown==@bsf.example')).to.equal(false);
      } finally {
        await stop();
      }
    });
  });
}

opsContract('memory', async () => {
  const stores = createMemoryStores();
  return {
    stores,
    capped: new MemoryOpsStore(new MemorySessionStore(), () => {}, LIMITS),
    close: () => stores.close(),
  };
});

opsContract('redis (real redis-server)', async () => {
  const url = await testRedisUrl();
  const prefix = uniquePrefix('ops');
  const stores = await createRedisStores(url, prefix);
  const port = await connectRedis(url);
  const keys = keyNames(uniquePrefix('opscap'));
  return {
    stores,
    capped: new RedisOpsStore(port, url, keys, new RedisSessionStore(port, keys), LIMITS),
    close: async () => {
      await stores.close();
      await port.close();
    },
  };
});

// Issue 16: the same contract over a 3-master Redis Cluster — MULTIs kept to one slot, revocation over cluster pub/sub.
opsContract('redis cluster (3 masters)', async () => {
  const { url } = await testRedisCluster();
  const stores = await createRedisStores(url, uniquePrefix('ops'), { cluster: true });
  const port = await connectRedisCluster(url);
  const keys = keyNames(uniquePrefix('opscap'));
  return {
    stores,
    capped: new RedisOpsStore(port, url, keys, new RedisSessionStore(port, keys), LIMITS),
    close: async () => {
      await stores.close();
      await port.close();
    },
  };
});

after(() => stopTestRedisCluster());
