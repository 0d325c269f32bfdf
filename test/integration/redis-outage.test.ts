/**
 * Issue 18 finding 6: Redis stopped → the store fails fast with StoreUnavailable (the HTTP layer answers 503 +
 * Retry-After), and once Redis is back a command succeeds within 2 s (no reconnect back-off holds longer).
 * Uses its own redis-server on a fixed free port, since it stops and restarts it.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../shared/net/free-port.js';
import { StoreUnavailable } from '../../shared/errors.js';
import { redisAnswers } from '../../shared/store/open.js';
import { connectRedis, createRedisStores } from '../../shared/store/redis.js';
import { spawnNf, type NfProcess } from '../support/nf.js';

async function startRedisAt(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200 && !(await redisAnswers(`redis://127.0.0.1:${port}`)); i++)
    await new Promise((r) => setTimeout(r, 50));
  return child;
}
const stopRedis = (c: ChildProcess) =>
  new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) {
      r();
      return;
    }
    c.once('exit', () => r());
    c.kill('SIGKILL');
  });

describe('Redis outage (issue 18 finding 6, real redis-server)', function () {
  this.timeout(60_000);
  let port: number;
  let redis: ChildProcess;
  before(async () => {
    port = await freePort();
    redis = await startRedisAt(port);
  });
  after(async () => {
    await stopRedis(redis);
  });

  it('commands fail with StoreUnavailable while Redis is down, ping is false, and work again within 2 s of its return', async () => {
    const r = await connectRedis(`redis://127.0.0.1:${port}`);
    const stores = await createRedisStores(`redis://127.0.0.1:${port}`, 'test:outage:');
    try {
      expect(await r.cmd(['SET', 'k', 'v'])).to.equal('OK');
      await stopRedis(redis);
      const err = await r.cmd(['GET', 'k']).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(StoreUnavailable);
      const err2 = await stores.sessions.get('x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err2).to.be.instanceOf(StoreUnavailable);
      expect(await stores.ping()).to.equal(false);
      // Longer than the back-off's cap, so the client is at its slowest retry pace.
      await new Promise((res) => setTimeout(res, 2500));
      redis = await startRedisAt(port);
      const back = performance.now();
      let ok = false;
      while (performance.now() - back < 2000 && !ok) {
        ok = await r.cmd(['PING']).then(
          (v) => v === 'PONG',
          () => false,
        );
        if (!ok) await new Promise((res) => setTimeout(res, 20));
      }
      expect(ok, 'a command succeeds within 2 s of Redis answering again').to.equal(true);
    } finally {
      await r.close();
      await stores.close();
    }
  });

  describe('BSF Zn with the store down', () => {
    let bsf: NfProcess;
    const token = 'zn-token-0123456789abcdef';
    before(async () => {
      if (redis.exitCode !== null || redis.signalCode !== null) redis = await startRedisAt(port);
      bsf = await spawnNf('bsf', {
        store: { kind: 'redis', redisUrl: `redis://127.0.0.1:${port}` },
        bsf: {
          ubPort: 0,
          znPort: 0,
          hssUrl: 'http://127.0.0.1:9/',
          hssToken: 'hss-token-0123456789abcdef',
          nafs: [{ name: 'n', token, fqdns: [{ fqdn: 'naf.example.org' }] }],
        },
      });
    });
    after(async () => {
      await bsf?.stop();
    });

    const zn = () =>
      fetch(`${bsf.listeners.zn}/bootstrapping-info-retrieval`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          btId: `${Buffer.alloc(16, 7).toString('base64')}@bsf.example.org`,
          nafId: { nafFqdn: 'naf.example.org', uaSecProtId: '0100000002' },
        }),
        signal: AbortSignal.timeout(15_000),
      });

    it('answers 503 + Retry-After (never 500) while Redis is down, /healthz 503, and 404 again once it is back', async () => {
      expect((await zn()).status).to.equal(404);
      await stopRedis(redis);
      for (let i = 0; i < 3; i++) {
        const r = await zn();
        expect(r.status).to.equal(503);
        expect(r.headers.get('retry-after')).to.match(/^\d+$/);
      }
      const base = bsf.listeners.zn!.replace(/\/nbsp-gba\/v1\/?$/, '');
      expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) })).status).to.equal(503);
      redis = await startRedisAt(port);
      const back = performance.now();
      let status = 0;
      while (performance.now() - back < 2000 && status !== 404) {
        status = (await zn()).status;
        if (status !== 404) await new Promise((res) => setTimeout(res, 20));
      }
      expect(status).to.equal(404);
    });
  });
});
