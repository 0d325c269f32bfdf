import { expect } from 'chai';
import { Duplex } from 'node:stream';
import {
  PskPrefetchDuplex,
  PskPrefetchError,
  type PskPrefetchOptions,
} from '../../../../../shared/psk-tls/tls/psk-prefetch-duplex.js';
import type { TlsVersion } from '../../../../../shared/psk-tls/tls/psk-resolver-cache.js';
import { clientHello, flights, hs, record, vec16 } from '../../../../support/psk-tls.js';

const KEY = Buffer.alloc(32, 0x42);
const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

/** The client's side: bytes pushed here reach the Duplex as if read from TCP; the Duplex's writes are collected. */
function fakeSocket() {
  const written: Buffer[] = [];
  const raw = new Duplex({
    read() {},
    write(c: Buffer, _e, cb) {
      written.push(c);
      cb();
    },
  });
  return { raw, written };
}

function setup(opts: Partial<PskPrefetchOptions> = {}) {
  const { raw, written } = fakeSocket();
  const lookups: {
    identity: string;
    tlsVersion: TlsVersion;
    resolve: (k: Buffer | null) => void;
    reject: (e: Error) => void;
  }[] = [];
  const duplex = new PskPrefetchDuplex(raw, {
    lookup: (identity, tlsVersion) =>
      new Promise((resolve, reject) => lookups.push({ identity, tlsVersion, resolve, reject })),
    maxPendingBytes: 16 * 1024,
    tls13: false,
    ...opts,
  });
  const out: Buffer[] = [];
  duplex.on('data', (c: Buffer) => out.push(c));
  let ended = false;
  duplex.on('end', () => {
    ended = true;
  });
  let error: Error | undefined;
  duplex.on('error', (e) => {
    error = e;
  });
  const forwarded = (): Buffer => Buffer.concat(out);
  return { raw, written, duplex, lookups, forwarded, ended: () => ended, error: () => error };
}

const byName = (name: string) => flights().find((f) => f.name === name)!;

describe('PSK prefetch Duplex', () => {
  const f12 = byName('node-tls12-ccm8');
  const bytes12 = Buffer.from(f12.clientFlightHex, 'hex');
  const ckeAt = f12.expected.clientKeyExchange!.recordOffset;

  for (const mode of ['whole', 'byte by byte'] as const) {
    it(`passes the ClientHello on at once and holds the ClientKeyExchange record until the key is there (${mode})`, async () => {
      const t = setup();
      if (mode === 'whole') t.raw.push(bytes12);
      else
        for (const b of bytes12) {
          t.raw.push(Buffer.of(b));
          await tick();
        }
      await tick();
      expect(t.forwarded()).to.deep.equal(bytes12.subarray(0, ckeAt));
      expect(t.lookups.map((l) => [l.identity, l.tlsVersion])).to.deep.equal([
        [f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.2'],
      ]);
      expect(t.duplex.pskFor(f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.2')).to.equal(null); // not before the answer
      expect(t.duplex.waiting).to.equal(1);
      t.lookups[0]!.resolve(KEY);
      await tick();
      expect(t.forwarded()).to.deep.equal(bytes12);
      expect(t.duplex.pskFor(f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.2')).to.deep.equal(KEY);
      expect(t.duplex.pskFor(f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.3')).to.equal(null);
      expect(t.duplex.pskFor('someone-else', 'TLSv1.2')).to.equal(null);
      expect(t.duplex.waiting).to.equal(0);
    });
  }

  it('passes on only whole records while it parses', async () => {
    const t = setup();
    t.raw.push(bytes12.subarray(0, 100)); // part of the ClientHello record
    await tick();
    expect(t.forwarded()).to.have.length(0);
    t.raw.push(bytes12.subarray(100, ckeAt + 3));
    await tick();
    expect(t.forwarded()).to.deep.equal(bytes12.subarray(0, ckeAt));
  });

  it('stores null for an unknown identity and lets the handshake go on, so OpenSSL sends the alert', async () => {
    const t = setup();
    t.raw.push(bytes12);
    await tick();
    t.lookups[0]!.resolve(null);
    await tick();
    expect(t.forwarded()).to.deep.equal(bytes12);
    expect(t.duplex.pskFor(f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.2')).to.equal(null);
    expect(t.error()).to.equal(undefined);
  });

  it('passes later bytes through untouched once the handshake is done, and forgets the keys', async () => {
    const t = setup();
    t.raw.push(bytes12);
    await tick();
    t.lookups[0]!.resolve(KEY);
    await tick();
    t.duplex.handshakeDone();
    const garbage = Buffer.from('not TLS at all, but now opaque');
    t.raw.push(garbage);
    await tick();
    expect(t.forwarded()).to.deep.equal(Buffer.concat([bytes12, garbage]));
    expect(t.duplex.pskFor(f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.2')).to.equal(null);
  });

  it("writes the TLS engine's output to the socket as is", async () => {
    const t = setup();
    t.duplex.write(Buffer.from('server flight'));
    await tick();
    expect(Buffer.concat(t.written).toString()).to.equal('server flight');
  });

  it('TLS 1.3 allowed: holds the ClientHello carrying pre_shared_key until its identities are looked up', async () => {
    const f = byName('node-tls13');
    const bytes = Buffer.from(f.clientFlightHex, 'hex');
    const t = setup({ tls13: true });
    t.raw.push(bytes);
    await tick();
    expect(t.forwarded()).to.have.length(0);
    expect(t.lookups.map((l) => [l.identity, l.tlsVersion])).to.deep.equal([
      [f.expected.clientHello.pskIdentities[0], 'TLSv1.3'],
    ]);
    t.lookups[0]!.resolve(KEY);
    await tick();
    expect(t.forwarded()).to.deep.equal(bytes);
    expect(t.duplex.pskFor(f.expected.clientHello.pskIdentities[0]!, 'TLSv1.3')).to.deep.equal(KEY);
  });

  it('TLS 1.3 not allowed: looks nothing up for a TLS 1.3 ClientHello', async () => {
    const f = byName('node-tls13');
    const bytes = Buffer.from(f.clientFlightHex, 'hex');
    const t = setup({ tls13: false });
    t.raw.push(bytes);
    await tick();
    expect(t.lookups).to.have.length(0);
    expect(t.forwarded()).to.deep.equal(bytes);
  });

  it('a client EOF while the key is awaited reaches the TLS engine only after the held bytes', async () => {
    const t = setup();
    t.raw.push(bytes12);
    t.raw.push(null);
    await tick();
    expect(t.ended()).to.equal(false);
    t.lookups[0]!.resolve(KEY);
    await tick();
    expect(t.forwarded()).to.deep.equal(bytes12);
    expect(t.ended()).to.equal(true);
  });

  it('does not look up identities longer than OpenSSL accepts (256 octets)', async () => {
    const t = setup();
    const long = 'x'.repeat(257);
    t.raw.push(Buffer.concat([record(22, hs(1, clientHello())), record(22, hs(16, vec16(Buffer.from(long))))]));
    await tick();
    expect(t.lookups).to.have.length(0);
    expect(t.duplex.pskFor(long, 'TLSv1.2')).to.equal(null);
    expect(t.error()).to.equal(undefined);
  });

  describe('lookup budget (issue 18 finding 3)', () => {
    /** One ClientHello, then `n` ClientKeyExchange messages with distinct identities, the way the audit sent them. */
    const manyKeyExchanges = (n: number, size = 20): Buffer =>
      Buffer.concat([
        record(22, hs(1, clientHello())),
        ...Array.from({ length: n }, (_, i) => record(22, hs(16, vec16(Buffer.from(`id-${i}-`.padEnd(size, 'x')))))),
      ]);

    it('looks up at most 4 identities per connection, whatever the client sends', async () => {
      const t = setup();
      t.raw.push(manyKeyExchanges(182));
      await tick();
      expect(t.lookups).to.have.length(4);
      for (const l of t.lookups) l.resolve(null);
      await tick();
      expect(t.duplex.pskFor('id-100-'.padEnd(20, 'x'), 'TLSv1.2')).to.equal(null);
      expect(t.duplex.lookupsRefused).to.equal(178);
      expect(t.error()).to.equal(undefined);
    });

    it('asks admitLookup (the per-source rate limit) before each lookup; a refused one gets no key', async () => {
      let budget = 1;
      const t = setup({ admitLookup: () => budget-- > 0 });
      t.raw.push(manyKeyExchanges(3));
      await tick();
      expect(t.lookups.map((l) => l.identity)).to.deep.equal(['id-0-'.padEnd(20, 'x')]);
      expect(t.duplex.lookupsRefused).to.equal(2);
    });
  });

  describe('failures destroy the stream and the socket with a PskPrefetchError', () => {
    const cases: [string, Partial<PskPrefetchOptions>, (t: ReturnType<typeof setup>) => Promise<void>, string][] = [
      [
        'bytes that are not TLS',
        {},
        async (t) => {
          t.raw.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
        },
        'malformed',
      ],
      [
        'more than maxPendingBytes before the identity',
        { maxPendingBytes: 1024 },
        async (t) => {
          t.raw.push(Buffer.concat([Buffer.from('1603033e80', 'hex'), Buffer.alloc(1100)]));
        },
        'too-many-bytes',
      ],
      [
        'a lookup that fails',
        {},
        async (t) => {
          t.raw.push(bytes12);
          await tick();
          t.lookups[0]!.reject(new Error('PSK API down'));
        },
        'lookup-failed',
      ],
    ];
    for (const [name, opts, act, reason] of cases) {
      it(name, async () => {
        const t = setup(opts);
        await act(t);
        await tick();
        expect(t.error()).to.be.instanceOf(PskPrefetchError);
        expect((t.error() as PskPrefetchError).reason).to.equal(reason);
        expect(t.duplex.destroyed).to.equal(true);
        expect(t.raw.destroyed).to.equal(true);
        expect(t.forwarded().length).to.be.at.most(ckeAt);
      });
    }

    it('an answer arriving after the socket closed is dropped quietly', async () => {
      const t = setup();
      t.raw.push(bytes12);
      await tick();
      t.raw.destroy();
      await tick();
      expect(t.duplex.destroyed).to.equal(true);
      t.lookups[0]!.resolve(KEY);
      await tick();
      expect(t.duplex.pskFor(f12.expected.clientKeyExchange!.pskIdentity, 'TLSv1.2')).to.equal(null);
      expect(t.error()).to.equal(undefined);
    });

    it('records after a complete ClientHello count against the limit too', async () => {
      const t = setup({ maxPendingBytes: 600 });
      const alert = record(21, Buffer.of(1, 0)); // harmless warning alerts, passed on, but the client never gets to the point
      t.raw.push(bytes12.subarray(0, ckeAt));
      for (let i = 0; i < 100; i++) t.raw.push(alert);
      await tick();
      expect((t.error() as PskPrefetchError | undefined)?.reason).to.equal('too-many-bytes');
    });
  });
});
