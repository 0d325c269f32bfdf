/** Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1). */
import { expect } from 'chai';
import { COOKIE_LENGTH, CookieJar } from '../../../../../shared/psk-tls/dtls/cookie.js';
import { decodeClientHello, encodeClientHello, type ClientHello } from '../../../../../shared/psk-tls/dtls/messages.js';

function hello(over: Partial<ClientHello> = {}): ClientHello {
  const base = {
    clientVersion: 0xfefd,
    random: Buffer.alloc(32, 1),
    sessionId: Buffer.alloc(0),
    cookie: Buffer.alloc(0),
    cipherSuites: [0xc0a8, 0x00ae],
    compressionMethods: Buffer.from([0]),
    extensions: [],
  };
  return decodeClientHello(encodeClientHello({ ...base, ...over }));
}

describe('dtls cookie (RFC 6347 §4.2.1)', () => {
  const peer = { address: '192.0.2.7', port: 5684 };
  let t = 0;
  const jar = new CookieJar({ now: () => t, rotateMs: 60_000 });
  const withCookie = (ch: ClientHello, cookie: Buffer): ClientHello => ({ ...ch, cookie });

  it('is 32 octets (≤ 32 for tinydtls clients) and verifies for the same peer and hello', () => {
    const c = jar.make(peer, hello());
    expect(c.length).to.equal(COOKIE_LENGTH);
    expect(jar.verify(peer, withCookie(hello(), c))).to.equal(true);
  });

  it('ignores the cookie field and the extensions (the second hello adds a cookie)', () => {
    const c = jar.make(peer, hello());
    expect(jar.verify(peer, withCookie(hello({ extensions: [{ type: 23, data: Buffer.alloc(0) }] }), c))).to.equal(
      true,
    );
  });

  it('rejects another address, another port, and changed hello fields', () => {
    const c = jar.make(peer, hello());
    expect(jar.verify({ ...peer, address: '192.0.2.8' }, withCookie(hello(), c))).to.equal(false);
    expect(jar.verify({ ...peer, port: 5685 }, withCookie(hello(), c))).to.equal(false);
    expect(jar.verify(peer, withCookie(hello({ random: Buffer.alloc(32, 2) }), c))).to.equal(false);
    expect(jar.verify(peer, withCookie(hello({ cipherSuites: [0xc0a8] }), c))).to.equal(false);
    expect(jar.verify(peer, withCookie(hello({ sessionId: Buffer.alloc(1) }), c))).to.equal(false);
    expect(jar.verify(peer, withCookie(hello({ clientVersion: 0xfeff }), c))).to.equal(false);
  });

  it('rejects empty, short, long and tampered cookies', () => {
    const c = jar.make(peer, hello());
    expect(jar.verify(peer, hello())).to.equal(false);
    expect(jar.verify(peer, withCookie(hello(), c.subarray(0, 31)))).to.equal(false);
    expect(jar.verify(peer, withCookie(hello(), Buffer.concat([c, Buffer.alloc(1)])))).to.equal(false);
    const bad = Buffer.from(c);
    bad[0]! ^= 0x80;
    expect(jar.verify(peer, withCookie(hello(), bad))).to.equal(false);
  });

  it('works for IPv6 peers', () => {
    const p6 = { address: '2001:db8::1', port: 5684 };
    const c = jar.make(p6, hello());
    expect(jar.verify(p6, withCookie(hello(), c))).to.equal(true);
    expect(jar.verify({ ...p6, address: '2001:db8::2' }, withCookie(hello(), c))).to.equal(false);
  });

  it('rotates the secret: the previous one is honoured for one period, older ones are not', () => {
    t = 0;
    const j = new CookieJar({ now: () => t, rotateMs: 1000 });
    const c = j.make(peer, hello());
    t = 1500; // one rotation
    expect(j.verify(peer, withCookie(hello(), c))).to.equal(true);
    expect(j.make(peer, hello())).to.not.deep.equal(c);
    t = 3000; // second rotation: c's secret is gone
    expect(j.verify(peer, withCookie(hello(), c))).to.equal(false);
  });
});
