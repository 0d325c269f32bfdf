/**
 * Redis command timeouts (shared/store/redis.ts): 5 s per command as node-redis's default had it, with node-redis's
 * TimeoutError (as the cause of a StoreUnavailable), now kept by one timer for all commands. Uses its own redis-server, since it pauses it.
 */
import { expect } from 'chai';
import { createConnection } from 'node:net';
import { TimeoutError } from 'redis';
import { COMMAND_TIMEOUT_MS, connectRedis } from '../../shared/store/redis.js';
import { StoreUnavailable } from '../../shared/errors.js';
import { startOwnRedis, type OwnRedis } from '../../bench/redis-server.js';

/** CLIENT PAUSE from a separate raw connection (the pausing client itself is not paused). */
function pause(port: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write(`CLIENT PAUSE ${ms} ALL\r\n`));
    s.once('data', (d) => {
      s.destroy();
      if (d.toString().startsWith('+OK')) resolve();
      else reject(new Error(d.toString()));
    });
    s.once('error', reject);
  });
}

describe('Redis command timeouts (real redis-server)', function () {
  this.timeout(30_000);
  let redis: OwnRedis;
  before(async () => {
    redis = await startOwnRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it('a command the server does not answer rejects with TimeoutError after the 5 s timeout, and the connection stays usable', async () => {
    const r = await connectRedis(redis.url);
    try {
      expect(await r.cmd(['SET', 'k', 'v'])).to.equal('OK');
      await pause(redis.port, COMMAND_TIMEOUT_MS + 3000);
      const started = performance.now();
      const err = await r.cmd(['GET', 'k']).then(
        () => undefined,
        (e: unknown) => e,
      );
      const waited = performance.now() - started;
      // Surfaced as StoreUnavailable (the HTTP layer's 503), node-redis's TimeoutError as its cause.
      expect(err).to.be.instanceOf(StoreUnavailable);
      expect((err as StoreUnavailable).cause).to.be.instanceOf(TimeoutError);
      expect(waited).to.be.at.least(COMMAND_TIMEOUT_MS - 50);
      // Once the server answers again, the late reply is dropped and the next command gets its own.
      const v = await r.cmd(['GET', 'k']);
      expect(Buffer.isBuffer(v) ? v.toString() : v).to.equal('v');
    } finally {
      await r.close();
    }
  });

  it('many commands in flight each get their own answer (no deadline bookkeeping mixes them up)', async () => {
    const r = await connectRedis(redis.url);
    try {
      const n = 5000;
      const replies = await Promise.all(Array.from({ length: n }, (_, i) => r.cmd(['ECHO', `m${i}`])));
      replies.forEach((v, i) => expect(Buffer.isBuffer(v) ? v.toString() : v).to.equal(`m${i}`));
    } finally {
      await r.close();
    }
  });
});
