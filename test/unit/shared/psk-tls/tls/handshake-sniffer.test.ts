import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DecodeError } from '../../../../../shared/errors.js';
import { HandshakeSniffer, type SniffEvent } from '../../../../../shared/psk-tls/tls/handshake-sniffer.js';
import { chunkings, flights, hs, record, clientHello, ext, u16, vec8, vec16 } from '../../../../support/psk-tls.js';

/** Feeds all chunks; returns the events, how far the sniffer parsed and whether it stopped. */
function sniff(chunks: Uint8Array[]): { events: SniffEvent[]; parsedOffset: number; done: boolean } {
  const s = new HandshakeSniffer();
  const events: SniffEvent[] = [];
  for (const c of chunks) events.push(...s.push(c));
  return { events, parsedOffset: s.parsedOffset, done: s.done };
}

const IDENTITY = '3GPP-bootstrapping.I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';

describe('TLS handshake sniffer (RFC 5246 §6.2/§7.4, RFC 4279 §2, RFC 8446 §4.2.11)', () => {
  describe('captured client flights', () => {
    // Read once here: the vector file documents its source and how the expected values were computed.
    const vector = JSON.parse(
      readFileSync(new URL('../../../../vectors/psk-tls-client-flights.json', import.meta.url), 'utf8'),
    ) as { source: string };
    it('vector file names its source', () => expect(vector.source).to.match(/Captured/));

    for (const f of flights()) {
      const bytes = Buffer.from(f.clientFlightHex, 'hex');
      const x = f.expected;

      it(`${f.name}: reports the ClientHello, the PSK identity with its record offset, and stops at ChangeCipherSpec`, () => {
        const { events, parsedOffset, done } = sniff([bytes]);
        const hello = events[0];
        expect(hello?.type).to.equal('client-hello');
        if (hello?.type !== 'client-hello') return;
        expect(hello.recordOffset).to.equal(x.clientHello.recordOffset);
        expect(hello.hello.cipherSuites).to.deep.equal(x.clientHello.cipherSuites);
        expect(hello.hello.alpn).to.deep.equal(x.clientHello.alpn);
        expect(hello.hello.supportedVersions).to.deep.equal(x.clientHello.supportedVersions);
        expect(hello.hello.pskIdentities).to.deep.equal(x.clientHello.pskIdentities);
        expect(hello.hello.serverName).to.equal(x.clientHello.serverName);
        const rest = events.slice(1);
        const expectedRest: SniffEvent[] = [];
        if (x.clientKeyExchange) {
          expectedRest.push({
            type: 'client-key-exchange',
            recordOffset: x.clientKeyExchange.recordOffset,
            pskIdentity: IDENTITY,
          });
        }
        expectedRest.push({ type: 'end', recordOffset: x.ccsOffset, reason: 'change-cipher-spec' });
        expect(rest).to.deep.equal(expectedRest);
        expect(done).to.equal(true);
        expect(parsedOffset).to.equal(x.ccsOffset + 6); // the CCS record is 5 + 1 octets; the encrypted Finished is not parsed
      });

      it(`${f.name}: same result byte by byte and split at every offset`, () => {
        const whole = sniff([bytes]);
        let n = 0;
        for (const [label, chunks] of chunkings(bytes)) {
          expect(sniff(chunks), label).to.deep.equal(whole);
          n++;
        }
        expect(n).to.equal(bytes.length + 1);
      });
    }
  });

  describe('hand-built flights', () => {
    const cke = (identity: Buffer): Buffer => hs(16, vec16(identity));
    const ccs = record(20, Buffer.of(1));

    it('reports the record that completes a ClientKeyExchange fragmented over two records', () => {
      const ch = record(22, hs(1, clientHello()));
      const msg = cke(Buffer.from(IDENTITY));
      const r1 = record(22, msg.subarray(0, 10));
      const r2 = record(22, msg.subarray(10));
      const bytes = Buffer.concat([ch, r1, r2, ccs]);
      for (const [label, chunks] of chunkings(bytes)) {
        const { events } = sniff(chunks);
        expect(
          events.map((e) => e.type),
          label,
        ).to.deep.equal(['client-hello', 'client-key-exchange', 'end']);
        expect(events[1], label).to.deep.equal({
          type: 'client-key-exchange',
          recordOffset: ch.length + r1.length,
          pskIdentity: IDENTITY,
        });
      }
    });

    it('reads several handshake messages from one record, and a ClientHello spread over three records', () => {
      const chMsg = hs(
        1,
        clientHello({
          extensions: [ext(0, vec16(Buffer.concat([Buffer.of(0), vec16(Buffer.from('lwm2m.example'))])))],
        }),
      );
      const a = record(22, chMsg.subarray(0, 3));
      const b = record(22, chMsg.subarray(3, 50));
      const c = record(22, Buffer.concat([chMsg.subarray(50), hs(11, Buffer.of(0, 0, 0)), cke(Buffer.from('id'))]));
      const bytes = Buffer.concat([a, b, c, ccs]);
      const off = a.length + b.length;
      expect(sniff([bytes]).events).to.deep.equal([
        {
          type: 'client-hello',
          recordOffset: off,
          hello: {
            legacyVersion: 0x0303,
            cipherSuites: [0xc0a8],
            serverName: 'lwm2m.example',
            alpn: [],
            supportedVersions: [],
            pskIdentities: [],
          },
        },
        { type: 'client-key-exchange', recordOffset: off, pskIdentity: 'id' },
        { type: 'end', recordOffset: off + c.length, reason: 'change-cipher-spec' },
      ]);
    });

    it('accepts a ClientHello without extensions and an empty PSK identity (psk_identity<0..2^16-1>)', () => {
      const bytes = Buffer.concat([
        record(22, hs(1, clientHello({ extensions: null }))),
        record(22, cke(Buffer.alloc(0))),
      ]);
      const { events, done, parsedOffset } = sniff([bytes]);
      expect(events.map((e) => e.type)).to.deep.equal(['client-hello', 'client-key-exchange']);
      expect(events[1]).to.include({ pskIdentity: '' });
      expect(done).to.equal(false);
      expect(parsedOffset).to.equal(bytes.length);
    });

    it('takes the PSK identity from the front of a DHE_PSK ClientKeyExchange (RFC 4279 §3)', () => {
      const body = Buffer.concat([vec16(Buffer.from('dhe-id')), vec16(Buffer.alloc(64, 9))]);
      const { events } = sniff([Buffer.concat([record(22, hs(1, clientHello())), record(22, hs(16, body))])]);
      expect(events[1]).to.deep.equal({
        type: 'client-key-exchange',
        recordOffset: 5 + hs(1, clientHello()).length,
        pskIdentity: 'dhe-id',
      });
    });

    it('lets alerts through and stops at an application_data record (TLS 1.3 ciphertext)', () => {
      const ch = record(22, hs(1, clientHello()));
      const alert = record(21, Buffer.of(1, 0));
      const app = Buffer.concat([Buffer.of(23, 3, 3), u16(0x5000), Buffer.alloc(40, 0xee)]); // not parsed: length and body are opaque
      const s = new HandshakeSniffer();
      const events = s.push(Buffer.concat([ch, alert, app]));
      expect(events.map((e) => e.type)).to.deep.equal(['client-hello', 'end']);
      expect(events[1]).to.deep.equal({
        type: 'end',
        recordOffset: ch.length + alert.length,
        reason: 'application-data',
      });
      expect(s.done).to.equal(true);
      expect(s.parsedOffset).to.equal(ch.length + alert.length);
      expect(s.push(Buffer.from('anything at all'))).to.deep.equal([]);
    });

    it('keeps only text identities from pre_shared_key and reads supported_versions and ALPN', () => {
      const identities = vec16(
        Buffer.concat([
          vec16(Buffer.from('psk-a')),
          Buffer.alloc(4),
          vec16(Buffer.of(0xff, 0xfe, 0x00)),
          Buffer.alloc(4), // a binary ticket: not an external PSK identity
          vec16(Buffer.from('psk-b')),
          Buffer.alloc(4),
        ]),
      );
      const binders = vec16(Buffer.concat([vec8(Buffer.alloc(32)), vec8(Buffer.alloc(32)), vec8(Buffer.alloc(32))]));
      const body = clientHello({
        extensions: [
          ext(16, vec16(Buffer.concat([vec8(Buffer.from('coap')), vec8(Buffer.from('h2'))]))),
          ext(43, vec8(Buffer.concat([u16(0x0304), u16(0x0303)]))),
          ext(41, Buffer.concat([identities, binders])),
        ],
      });
      const { events } = sniff([record(22, hs(1, body))]);
      expect(events[0]).to.deep.include({ type: 'client-hello' });
      if (events[0]?.type !== 'client-hello') return;
      expect(events[0].hello).to.deep.include({
        alpn: ['coap', 'h2'],
        supportedVersions: [0x0304, 0x0303],
        pskIdentities: ['psk-a', 'psk-b'],
      });
    });
  });

  describe('malformed input raises DecodeError, whole and byte by byte', () => {
    const ch = (opts?: Parameters<typeof clientHello>[0]): Buffer => record(22, hs(1, clientHello(opts)));
    const chRec = ch();
    const withCh = (...rest: Buffer[]): Buffer => Buffer.concat([chRec, ...rest]);
    const sni = (name: Buffer): Buffer => ext(0, vec16(Buffer.concat([Buffer.of(0), vec16(name)])));
    const psk = (ids: Buffer[], binderCount: number): Buffer =>
      ext(
        41,
        Buffer.concat([
          vec16(Buffer.concat(ids.flatMap((i) => [vec16(i), Buffer.alloc(4)]))),
          vec16(Buffer.concat(Array.from({ length: binderCount }, () => vec8(Buffer.alloc(32))))),
        ]),
      );
    const MALFORMED: [string, Buffer][] = [
      ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['an SSL 2.0-compatible ClientHello', Buffer.from('802e0103010015000000100000050000040000ff', 'hex')],
      ['a heartbeat record (content type 24)', Buffer.from('180303000101', 'hex')],
      ['record version 2.0', Buffer.from('160200000401000000', 'hex')],
      ['record version 3.5', Buffer.from('160305000401000000', 'hex')],
      [
        'a record longer than 2^14',
        Buffer.concat([Buffer.from('16030340 01'.replace(/ /g, ''), 'hex'), Buffer.alloc(0x4001)]),
      ],
      ['an empty handshake record', Buffer.from('1603030000', 'hex')],
      ['an empty alert record', Buffer.from('1503030000', 'hex')],
      ['a ClientKeyExchange before any ClientHello', record(22, hs(16, vec16(Buffer.from('id'))))],
      ['a ClientHello cut short inside random', record(22, hs(1, Buffer.from('0303000102', 'hex')))],
      [
        'a ClientHello with a 33-octet session id',
        record(
          22,
          hs(
            1,
            Buffer.concat([
              u16(0x0303),
              Buffer.alloc(32),
              vec8(Buffer.alloc(33)),
              vec16(u16(0xc0a8)),
              vec8(Buffer.of(0)),
            ]),
          ),
        ),
      ],
      [
        'a ClientHello with an odd cipher_suites length',
        record(
          22,
          hs(
            1,
            Buffer.concat([
              u16(0x0303),
              Buffer.alloc(32),
              vec8(Buffer.alloc(0)),
              vec16(Buffer.of(0xc0, 0xa8, 0x00)),
              vec8(Buffer.of(0)),
            ]),
          ),
        ),
      ],
      [
        'a ClientHello without cipher suites',
        record(
          22,
          hs(
            1,
            Buffer.concat([
              u16(0x0303),
              Buffer.alloc(32),
              vec8(Buffer.alloc(0)),
              vec16(Buffer.alloc(0)),
              vec8(Buffer.of(0)),
            ]),
          ),
        ),
      ],
      [
        'a ClientHello without compression methods',
        record(
          22,
          hs(
            1,
            Buffer.concat([
              u16(0x0303),
              Buffer.alloc(32),
              vec8(Buffer.alloc(0)),
              vec16(u16(0xc0a8)),
              vec8(Buffer.alloc(0)),
            ]),
          ),
        ),
      ],
      [
        'a ClientHello legacy_version 2.0',
        record(
          22,
          hs(
            1,
            Buffer.concat([
              u16(0x0200),
              Buffer.alloc(32),
              vec8(Buffer.alloc(0)),
              vec16(u16(0xc0a8)),
              vec8(Buffer.of(0)),
            ]),
          ),
        ),
      ],
      [
        'a ClientHello with octets after the extensions',
        record(22, hs(1, Buffer.concat([clientHello({ extensions: [] }), Buffer.of(0)]))),
      ],
      [
        'a ClientHello with an extension longer than the block',
        record(
          22,
          hs(
            1,
            Buffer.concat([
              clientHello({ extensions: null }),
              vec16(Buffer.concat([u16(0), u16(10), Buffer.alloc(3)])),
            ]),
          ),
        ),
      ],
      [
        'a ClientHello with an extension twice',
        ch({ extensions: [ext(23, Buffer.alloc(0)), ext(23, Buffer.alloc(0))] }),
      ],
      [
        'pre_shared_key that is not the last extension',
        ch({ extensions: [psk([Buffer.from('a')], 1), ext(23, Buffer.alloc(0))] }),
      ],
      [
        'pre_shared_key with fewer binders than identities',
        ch({ extensions: [psk([Buffer.from('a'), Buffer.from('b')], 1)] }),
      ],
      ['an empty server_name extension', ch({ extensions: [ext(0, Buffer.alloc(0))] })],
      ['a server_name with an empty HostName', ch({ extensions: [sni(Buffer.alloc(0))] })],
      [
        'ALPN with an empty protocol name',
        ch({ extensions: [ext(16, vec16(Buffer.concat([vec8(Buffer.from('coap')), Buffer.of(0)])))] }),
      ],
      ['supported_versions of odd length', ch({ extensions: [ext(43, vec8(Buffer.of(3, 4, 3)))] })],
      [
        'a ClientKeyExchange identity longer than its body',
        withCh(record(22, hs(16, Buffer.concat([u16(20), Buffer.from('short')])))),
      ],
      ['a ClientKeyExchange of one octet', withCh(record(22, hs(16, Buffer.of(0))))],
      ['a PSK identity that is not UTF-8', withCh(record(22, hs(16, vec16(Buffer.of(0x33, 0xff, 0x47)))))],
      ['a PSK identity with a NUL', withCh(record(22, hs(16, vec16(Buffer.from('3GPP\0x')))))],
      ['a ChangeCipherSpec other than the octet 1', withCh(record(20, Buffer.of(2)))],
      ['a ChangeCipherSpec of two octets', withCh(record(20, Buffer.of(1, 1)))],
      [
        'a ChangeCipherSpec inside a fragmented handshake message',
        withCh(record(22, Buffer.of(16, 0, 0, 9, 0)), record(20, Buffer.of(1))),
      ],
      [
        'an alert inside a fragmented handshake message',
        withCh(record(22, Buffer.of(16, 0, 0, 9, 0)), record(21, Buffer.of(2, 40))),
      ],
      ['an alert record of odd length', withCh(record(21, Buffer.of(2, 40, 1)))],
      ['a handshake message announcing 16 MiB', withCh(record(22, Buffer.of(16, 0xff, 0xff, 0xff)))],
    ];
    for (const [name, bytes] of MALFORMED) {
      it(`rejects ${name}`, () => {
        expect(() => new HandshakeSniffer().push(bytes)).to.throw(DecodeError);
        const s = new HandshakeSniffer();
        expect(() => {
          for (const b of bytes) s.push(Buffer.of(b));
        }).to.throw(DecodeError);
      });
    }

    it('never throws anything but DecodeError on random input', () => {
      let seed = 1;
      const rnd = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed;
      };
      let rejected = 0;
      for (let i = 0; i < 2000; i++) {
        // start from a valid flight and flip a few octets, so the parser gets past the first checks
        const bytes = Buffer.concat([
          chRec,
          record(22, hs(16, vec16(Buffer.from(IDENTITY)))),
          record(20, Buffer.of(1)),
        ]);
        for (let k = 0; k < 1 + (rnd() % 4); k++) bytes[rnd() % bytes.length] = rnd() & 0xff;
        try {
          new HandshakeSniffer().push(bytes);
        } catch (err) {
          expect(err).to.be.instanceOf(DecodeError);
          rejected++;
        }
      }
      expect(rejected).to.be.greaterThan(100);
    });
  });
});
