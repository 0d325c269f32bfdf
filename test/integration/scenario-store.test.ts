/**
 * The device fault scenarios' store (C8) and admin handlers: Redis (a real redis-server started by the tests)
 * and memory pass the same checks; taking a use is atomic; the handlers validate as C8 says.
 */
import { expect } from 'chai';
import { createRedisStores, connectRedis } from '../../shared/store/redis.js';
import { MemoryScenarioStore, type ScenarioStore } from '../../shared/store/scenarios.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import {
  scenarioHandlers,
  parseScenario,
  faultOfOpaque,
  faultedOpaque,
  withBadMac,
  withBadRspauth,
} from '../../bsf/scenarios.js';
import { createLogger } from '../../shared/log.js';
import type { HttpRequest } from '../../shared/http/server.js';
import { HttpError } from '../../shared/http/problem.js';

const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';

function contract(name: string, make: () => Promise<{ store: ScenarioStore; close(): Promise<void> }>) {
  describe(`scenario store: ${name}`, () => {
    let s: { store: ScenarioStore; close(): Promise<void> };
    beforeEach(async () => {
      s = await make();
    });
    afterEach(() => s.close());

    it('put creates then replaces; list, get, delete', async () => {
      expect(await s.store.put({ impi: IMPI, fault: 'bad_mac', count: 2 })).to.equal('created');
      expect(await s.store.put({ impi: IMPI, fault: 'delay', count: 1, delayMs: 300 })).to.equal('replaced');
      await s.store.put({ impi: 'other@x', fault: 'stale_sqn', count: 1 });
      expect(await s.store.list()).to.deep.equal([
        { impi: IMPI, fault: 'delay', count: 1, delayMs: 300 },
        { impi: 'other@x', fault: 'stale_sqn', count: 1 },
      ]);
      expect(await s.store.get(IMPI)).to.deep.equal({ impi: IMPI, fault: 'delay', count: 1, delayMs: 300 });
      expect(await s.store.delete(IMPI)).to.equal(true);
      expect(await s.store.delete(IMPI)).to.equal(false);
      expect(await s.store.get(IMPI)).to.equal(undefined);
    });

    it('take counts down and removes after the last use; concurrent takes never exceed count', async () => {
      await s.store.put({ impi: IMPI, fault: 'bad_rspauth', count: 3 });
      const taken = await Promise.all(Array.from({ length: 10 }, () => s.store.take(IMPI)));
      expect(taken.filter(Boolean)).to.have.length(3);
      expect(
        taken
          .filter(Boolean)
          .map((t) => t!.count)
          .sort(),
      ).to.deep.equal([1, 2, 3]);
      expect(await s.store.list()).to.deep.equal([]);
      expect(await s.store.take('nobody@x')).to.equal(undefined);
    });

    it('remembers the last vector per IMPI, replaced each time, expiring', async () => {
      await s.store.rememberVector(IMPI, Buffer.from('aa', 'hex'), 60_000);
      await s.store.rememberVector(IMPI, Buffer.from('bbcc', 'hex'), 60_000);
      expect((await s.store.lastVector(IMPI))!.toString('hex')).to.equal('bbcc');
      await s.store.rememberVector('short@x', Buffer.from('01', 'hex'), 30);
      await new Promise((r) => setTimeout(r, 80));
      expect(await s.store.lastVector('short@x')).to.equal(undefined);
    });
  });
}

contract('redis', async () => {
  const url = await testRedisUrl();
  const prefix = uniquePrefix('scen');
  const stores = await createRedisStores(url, prefix);
  return {
    store: stores.scenarios,
    close: async () => {
      const r = await connectRedis(url);
      const keys = (await r.cmd(['KEYS', `${prefix}*`])) as Buffer[];
      if (keys.length) await r.cmd(['DEL', ...keys]);
      await r.close();
      await stores.close();
    },
  };
});
contract('memory', async () => ({ store: new MemoryScenarioStore(), close: async () => {} }));

describe('scenario admin handlers and Ub helpers (socket-free)', () => {
  const log = createLogger({ level: 'error' });
  const req = (impi: string, body?: unknown): HttpRequest =>
    ({
      method: 'PUT',
      url: '',
      path: '',
      query: new URLSearchParams(),
      params: { impi },
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
      remoteAddress: '',
    }) as unknown as HttpRequest;
  const status = async (p: Promise<unknown>) => {
    try {
      await p;
      return 0;
    } catch (e) {
      return (e as HttpError).status;
    }
  };

  it('PUT 201 then 200 (count default 1); GET lists C8 items; DELETE 204; raw "@" in {impi}', async () => {
    const h = scenarioHandlers(new MemoryScenarioStore(), log);
    expect((await h.put(req(IMPI, { fault: 'bad_mac' }))).status).to.equal(201);
    expect((await h.put(req(IMPI, { fault: 'delay', delayMs: 250, count: 2 }))).status).to.equal(200);
    expect((await h.list()).json).to.deep.equal({ items: [{ impi: IMPI, fault: 'delay', count: 2, delayMs: 250 }] });
    expect((await h.remove(req(IMPI))).status).to.equal(204);
    expect((await h.list()).json).to.deep.equal({ items: [] });
  });

  it('400 for an unknown fault, a bad count, delay without delayMs, delayMs on another fault, extra fields', async () => {
    const h = scenarioHandlers(new MemoryScenarioStore(), log);
    for (const body of [
      { fault: 'explode' },
      { fault: 'bad_mac', count: 0 },
      { fault: 'bad_mac', count: 1.5 },
      { fault: 'delay' },
      { fault: 'bad_mac', delayMs: 10 },
      { fault: 'bad_mac', colour: 'red' },
      { count: 1 },
      'bad_mac',
    ]) {
      expect(await status(h.put(req(IMPI, body))), JSON.stringify(body)).to.equal(400);
    }
    expect(() => parseScenario('', { fault: 'bad_mac' })).to.throw(HttpError);
  });

  it('opaque carries the fault; bad MAC flips MAC-A; bad rspauth changes rspauth only', () => {
    expect(faultOfOpaque(faultedOpaque('stale_sqn'))).to.equal('stale_sqn');
    expect(faultOfOpaque('c2MuYmFkX21hYw')).to.equal(undefined);
    expect(faultOfOpaque(undefined)).to.equal(undefined);
    const autn = Buffer.alloc(16, 7);
    expect(withBadMac(autn).subarray(0, 15)).to.deep.equal(autn.subarray(0, 15));
    expect(withBadMac(autn)[15]).to.not.equal(autn[15]);
    const info = 'qop=auth-int, rspauth="0123456789abcdef0123456789abcdef", cnonce="x", nc=00000001';
    const bad = withBadRspauth(info);
    expect(bad).to.not.equal(info);
    expect(bad.replace(/rspauth="[^"]*"/, '')).to.equal(info.replace(/rspauth="[^"]*"/, ''));
  });
});
