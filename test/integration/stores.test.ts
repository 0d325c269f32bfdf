import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { storeContract } from './store-contract.js';
import { createMemoryStores } from '../../shared/store/memory.js';
import { connectRedisCluster } from '../../shared/store/redis-cluster.js';
import { createRedisStores } from '../../shared/store/redis.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { stopTestRedisCluster, testRedisCluster } from '../support/redis-cluster.js';

storeContract('memory', async () => createMemoryStores());
storeContract('redis (real redis-server)', async () => createRedisStores(await testRedisUrl(), uniquePrefix('store')));
storeContract('redis cluster (3 masters)', async () =>
  createRedisStores((await testRedisCluster()).url, uniquePrefix('store'), { cluster: true }),
);

describe('redis cluster key placement', () => {
  after(() => stopTestRedisCluster());

  it("spreads one deployment's keys over all 3 masters (no global hash tag) and keeps a B-TID's keys in one slot", async () => {
    const { url } = await testRedisCluster();
    const prefix = uniquePrefix('spread');
    const stores = await createRedisStores(url, prefix, { cluster: true });
    const port = await connectRedisCluster(url);
    try {
      for (let i = 0; i < 30; i++) {
        const imsi = `00101${String(i).padStart(10, '0')}`;
        await stores.subscribers.put({
          imsi,
          k: randomBytes(16),
          opc: randomBytes(16),
          amf: Buffer.from('8000', 'hex'),
          sqn: 0,
          algorithm: 'milenage',
          resLength: 8,
          updatedMs: Date.now(),
        });
        const btid = `${randomBytes(16).toString('base64')}@bsf.example`;
        await stores.sessions.create({
          btid,
          impi: `${imsi}@ims.example`,
          ks: randomBytes(32),
          createdAtMs: Date.now(),
          expiresAtMs: Date.now() + 60_000,
          gbaU: false,
        });
        // The script touches entry, marker and NAF_Id set at once: it would fail with CROSSSLOT if they were apart.
        await stores.nafKeys.put({
          btid,
          nafIdHex: '6e6166',
          keyHex: '00',
          impi: `${imsi}@ims.example`,
          expiresAtMs: Date.now() + 60_000,
          createdAtMs: Date.now(),
          gbaType: 'GBA_ME',
        });
        expect(await stores.nafKeys.get(btid, '6e6166')).to.not.equal(undefined);
        if (i === 0) {
          expect(await stores.ops.revoke(btid)).to.equal(true);
          expect(await stores.nafKeys.get(btid, '6e6166')).to.equal(undefined);
        }
      }
      const masters = await port.masters();
      expect(masters).to.have.length(3);
      const perMaster = await Promise.all(
        masters.map(async (m) => {
          let cursor = '0';
          let n = 0;
          do {
            const [next, keys] = (await m.cmd(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
              Buffer,
              Buffer[],
            ];
            cursor = next.toString();
            n += keys.length;
          } while (cursor !== '0');
          return n;
        }),
      );
      for (const n of perMaster) expect(n).to.be.greaterThan(5);
      expect((await stores.subscribers.list(undefined, 100)).total).to.equal(30);
    } finally {
      await stores.close();
      await port.close();
    }
  });
});
