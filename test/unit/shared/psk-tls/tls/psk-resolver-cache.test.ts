import { expect } from 'chai';
import {
  PskResolverCache,
  PskResolveError,
  type PskLookupContext,
} from '../../../../../shared/psk-tls/tls/psk-resolver-cache.js';

const KEY = Buffer.alloc(32, 0x42);

/** A resolver whose answers the test releases by hand. */
function manualResolver() {
  const calls: {
    identity: string;
    ctx: PskLookupContext;
    resolve: (k: Buffer | null) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const resolve = (identity: string, ctx: PskLookupContext): Promise<Buffer | null> =>
    new Promise((res, rej) => calls.push({ identity, ctx, resolve: res, reject: rej }));
  return { calls, resolve };
}

async function rejectsWith(p: Promise<unknown>): Promise<PskResolveError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(PskResolveError);
    return err as PskResolveError;
  }
  return expect.fail('expected a PskResolveError, but the lookup resolved');
}

describe('PSK resolver cache', () => {
  it('shares one request among concurrent lookups of an identity, and passes the TLS version', async () => {
    const r = manualResolver();
    const cache = new PskResolverCache(r.resolve, { ttlMs: 1000, timeoutMs: 1000 });
    const waiting = Array.from({ length: 20 }, () => cache.lookup('id-a', 'TLSv1.2'));
    expect(r.calls).to.have.length(1);
    expect(r.calls[0]).to.deep.include({ identity: 'id-a', ctx: { tlsVersion: 'TLSv1.2' } });
    expect(cache.pending).to.equal(1);
    r.calls[0]!.resolve(KEY);
    for (const k of await Promise.all(waiting)) expect(k).to.deep.equal(KEY);
    expect(cache.pending).to.equal(0);
    expect(cache.calls).to.equal(1);
  });

  it('caches keys and "unknown" for ttlMs, then asks again', async () => {
    let now = 0;
    const r = manualResolver();
    const cache = new PskResolverCache(r.resolve, { ttlMs: 100, timeoutMs: 1000, now: () => now });
    const a = cache.lookup('known', 'TLSv1.2');
    const b = cache.lookup('unknown', 'TLSv1.2');
    r.calls[0]!.resolve(KEY);
    r.calls[1]!.resolve(null);
    expect(await a).to.deep.equal(KEY);
    expect(await b).to.equal(null);
    now = 99;
    expect(await cache.lookup('known', 'TLSv1.2')).to.deep.equal(KEY);
    expect(await cache.lookup('unknown', 'TLSv1.2')).to.equal(null);
    expect(cache.peek('unknown', 'TLSv1.2')).to.equal(null);
    expect(r.calls).to.have.length(2);
    now = 100;
    expect(cache.peek('known', 'TLSv1.2')).to.equal(undefined);
    void cache.lookup('known', 'TLSv1.2');
    expect(r.calls).to.have.length(3);
  });

  it('keeps TLS 1.2 and TLS 1.3 answers apart (different Ua ids, different Ks_NAF)', async () => {
    const r = manualResolver();
    const cache = new PskResolverCache(r.resolve, { ttlMs: 1000, timeoutMs: 1000 });
    const a = cache.lookup('id', 'TLSv1.2');
    const b = cache.lookup('id', 'TLSv1.3');
    expect(r.calls.map((c) => c.ctx.tlsVersion)).to.deep.equal(['TLSv1.2', 'TLSv1.3']);
    r.calls[0]!.resolve(KEY);
    r.calls[1]!.resolve(Buffer.alloc(32, 0x13));
    expect((await a)![0]).to.equal(0x42);
    expect((await b)![0]).to.equal(0x13);
  });

  it('does not cache failures: every waiter gets the error and the next lookup asks again', async () => {
    const r = manualResolver();
    const cache = new PskResolverCache(r.resolve, { ttlMs: 1000, timeoutMs: 1000 });
    const a = cache.lookup('id', 'TLSv1.2');
    const b = cache.lookup('id', 'TLSv1.2');
    r.calls[0]!.reject(new Error('503 from the PSK API'));
    expect((await rejectsWith(a)).reason).to.equal('resolver-error');
    expect((await rejectsWith(b)).reason).to.equal('resolver-error');
    expect(cache.pending).to.equal(0);
    void cache.lookup('id', 'TLSv1.2');
    expect(r.calls).to.have.length(2);
  });

  it('turns a resolver that throws synchronously into a rejection', async () => {
    const cache = new PskResolverCache(
      () => {
        throw new TypeError('boom');
      },
      { ttlMs: 1000, timeoutMs: 1000 },
    );
    expect((await rejectsWith(cache.lookup('id', 'TLSv1.2'))).reason).to.equal('resolver-error');
  });

  it('gives up after timeoutMs and forgets the request', async () => {
    const r = manualResolver();
    const cache = new PskResolverCache(r.resolve, { ttlMs: 1000, timeoutMs: 30 });
    const started = Date.now();
    const err = await rejectsWith(cache.lookup('slow', 'TLSv1.2'));
    expect(err.reason).to.equal('timeout');
    expect(Date.now() - started).to.be.at.least(25);
    expect(cache.pending).to.equal(0);
    r.calls[0]!.resolve(KEY); // a late answer is ignored
    await new Promise((res) => setImmediate(res));
    expect(cache.size).to.equal(0);
  });

  for (const [name, answer] of [
    ['a string', 'not-a-key'],
    ['an empty buffer', Buffer.alloc(0)],
    ['undefined', undefined],
    ['a 513-octet key', Buffer.alloc(513)],
  ] as const) {
    it(`rejects ${name} as an answer, without caching it`, async () => {
      const cache = new PskResolverCache(async () => answer as unknown as Buffer, { ttlMs: 1000, timeoutMs: 1000 });
      const err = await rejectsWith(cache.lookup('id', 'TLSv1.2'));
      expect(err.reason).to.equal('bad-answer');
      expect(cache.size).to.equal(0);
    });
  }

  it('answers null for an identity over 256 octets without asking the resolver', async () => {
    let calls = 0;
    const cache = new PskResolverCache(
      async () => {
        calls++;
        return KEY;
      },
      { ttlMs: 1000, timeoutMs: 1000 },
    );
    expect(await cache.lookup('x'.repeat(257), 'TLSv1.2')).to.equal(null);
    expect(await cache.lookup('x'.repeat(256), 'TLSv1.2')).to.not.equal(null);
    expect(calls).to.equal(1);
  });

  it('keeps a private copy of the key', async () => {
    const key = Buffer.alloc(32, 1);
    const cache = new PskResolverCache(async () => key, { ttlMs: 1000, timeoutMs: 1000 });
    const got = await cache.lookup('id', 'TLSv1.2');
    key.fill(0);
    expect(got![0]).to.equal(1);
    expect(cache.peek('id', 'TLSv1.2')![0]).to.equal(1);
  });

  it('keeps at most maxEntries answers, dropping the oldest', async () => {
    const cache = new PskResolverCache(async (id) => Buffer.from(id), {
      ttlMs: 60_000,
      timeoutMs: 1000,
      maxEntries: 3,
    });
    for (const id of ['a', 'b', 'c', 'd', 'e']) await cache.lookup(id, 'TLSv1.2');
    expect(cache.size).to.equal(3);
    expect(cache.peek('a', 'TLSv1.2')).to.equal(undefined);
    expect(cache.peek('e', 'TLSv1.2')).to.deep.equal(Buffer.from('e'));
  });

  it("never carries the key or the resolver's message in its errors", async () => {
    const cache = new PskResolverCache(
      async () => {
        throw new Error(`key was ${KEY.toString('hex')}`);
      },
      { ttlMs: 1000, timeoutMs: 1000 },
    );
    const err = await rejectsWith(cache.lookup('id', 'TLSv1.2'));
    expect(err.message).not.to.include(KEY.toString('hex'));
  });
});
