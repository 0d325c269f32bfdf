import { expect } from 'chai';
import { PskResolverCache } from '../../../shared/psk-tls/tls/psk-resolver-cache.js';
import { dropRevoked } from '../../../lwm2m/revocation.js';

const BTID = 'AAECAwQFBgcICQoLDA0ODw==@bsf.example.org';
const OTHER = 'DwAAAAAAAAAAAAAAAAAAAA==@bsf.example.org';

describe('lwm2m/revocation: a revoked B-TID leaves the PSK caches', () => {
  it('drops cached answers for the prefixed and the bare identity, keeps others', async () => {
    let calls = 0;
    const cache = new PskResolverCache(
      async () => {
        calls++;
        return Buffer.alloc(16, 7);
      },
      { ttlMs: 60_000, timeoutMs: 1000 },
    );
    for (const id of [`3GPP-bootstrapping.${BTID}`, BTID, `3GPP-bootstrapping.${OTHER}`])
      await cache.lookup(id, 'TLSv1.2');
    const forgotten: string[] = [];
    dropRevoked(BTID, { tlsCache: cache, pskSource: { forgetBtid: (b) => forgotten.push(b) } });
    expect(cache.peek(`3GPP-bootstrapping.${BTID}`, 'TLSv1.2')).to.equal(undefined);
    expect(cache.peek(BTID, 'TLSv1.2')).to.equal(undefined);
    expect(cache.peek(`3GPP-bootstrapping.${OTHER}`, 'TLSv1.2')).to.not.equal(undefined);
    expect(forgotten).to.deep.equal([BTID]);
    expect(calls).to.equal(3);
  });

  it('a lookup in flight when the B-TID is revoked is not cached', async () => {
    let release!: (k: Buffer) => void;
    const cache = new PskResolverCache(
      () =>
        new Promise<Buffer>((r) => {
          release = r;
        }),
      { ttlMs: 60_000, timeoutMs: 5000 },
    );
    const p = cache.lookup(`3GPP-bootstrapping.${BTID}`, 'TLSv1.2');
    dropRevoked(BTID, { tlsCache: cache, pskSource: { forgetBtid: () => {} } });
    release(Buffer.alloc(16, 1));
    await p;
    expect(cache.peek(`3GPP-bootstrapping.${BTID}`, 'TLSv1.2')).to.equal(undefined);
    expect(cache.pending).to.equal(0);
  });
});
