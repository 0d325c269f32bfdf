import { expect } from 'chai';
import { DecodeError } from '../../../../shared/errors.js';
import {
  Code,
  codeToString,
  type CoapMessage,
  getLocationPath,
  getOption,
  getUriPath,
  decodeUint,
  message,
  OptionNumber,
} from '../../../../shared/coap/message.js';
import { decodeUdp } from '../../../../shared/coap/udp.js';
import {
  abortMessage,
  CoapTcpDecoder,
  csmMessage,
  CsmOptionError,
  decodeTcpFrame,
  encodeTcp,
  parseCsm,
  pingMessage,
  pongMessage,
  releaseMessage,
  SignalingOption,
} from '../../../../shared/coap/tcp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

function* chunkings(bytes: Buffer): Generator<[label: string, chunks: Buffer[]]> {
  yield ['whole', [bytes]];
  yield ['byte by byte', Array.from(bytes, (b) => Buffer.of(b))];
  for (let i = 1; i < bytes.length; i++) yield [`split at ${i}`, [bytes.subarray(0, i), bytes.subarray(i)]];
}

const feedAll = (decoder: CoapTcpDecoder, chunks: Buffer[]): CoapMessage[] => chunks.flatMap((c) => decoder.push(c));

// The §5.5 Register, re-framed for TCP (no type, no MID): docs/standards-notes/lwm2m-coap-dtls.md §2.1 / §5.6 give its first bytes.
const REGISTER_UDP = hex(
  '44021234a1b2c3d4 b27264 1128 3d2365703d75726e3a696d65692d696d73693a3439303135343230333233373531382d303031303130313233343536373839' +
    '066c743d333030 096c776d326d3d312e31 03623d55 ff 3c2f3e3b72743d226f6d612e6c776d326d222c3c2f312f303e2c3c2f332f303e',
);
const REGISTER_TCP = Buffer.concat([hex('d4 60 02 a1b2c3d4'), REGISTER_UDP.subarray(8)]);

interface Vector {
  name: string;
  bytes: Buffer;
  check(m: CoapMessage): void;
}

// Source: docs/standards-notes/lwm2m-coap-dtls.md §2.1 frame table [V]
const VECTORS: Vector[] = [
  {
    name: 'Ping, token 42',
    bytes: hex('01 e2 42'),
    check: (m) => expect([m.code, m.token.toString('hex')]).to.deep.equal([Code.PING, '42']),
  },
  {
    name: 'Pong, token 42',
    bytes: hex('01 e3 42'),
    check: (m) => expect([m.code, m.token.toString('hex')]).to.deep.equal([Code.PONG, '42']),
  },
  {
    name: 'CSM Max-Message-Size 1152 + Block-Wise-Transfer',
    bytes: hex('40 e1 22 04 80 20'),
    check: (m) => expect(parseCsm(m)).to.deep.equal({ maxMessageSize: 1152, blockWiseTransfer: true }),
  },
  {
    name: 'libcoap 4.3.1 CSM',
    bytes: hex('50 e1 23 80 01 00 20'),
    check: (m) => expect(parseCsm(m)).to.deep.equal({ maxMessageSize: 0x800100, blockWiseTransfer: true }),
  },
  {
    name: 'libcoap GET / with Uri-Port 25720',
    bytes: hex('31 01 01 72 64 78'),
    check: (m) => expect([m.code, decodeUint(getOption(m, OptionNumber.URI_PORT)!)]).to.deep.equal([Code.GET, 25720]),
  },
  {
    name: '2.01 Created, Location-Path rd, 5a3f',
    bytes: hex('84 41 a1 b2 c3 d4 82 72 64 04 35 61 33 66'),
    check: (m) => {
      expect([codeToString(m.code), m.token.toString('hex')]).to.deep.equal(['2.01', 'a1b2c3d4']);
      expect(getLocationPath(m)).to.deep.equal(['rd', '5a3f']);
    },
  },
  {
    name: 'the §5 Register (Len 13, ext 0x60 → 109 B)',
    bytes: REGISTER_TCP,
    check: (m) => {
      expect([codeToString(m.code), m.token.toString('hex'), m.type, m.messageId]).to.deep.equal([
        '0.02',
        'a1b2c3d4',
        undefined,
        undefined,
      ]);
      expect(getUriPath(m)).to.deep.equal(['rd']);
      expect(m.payload.toString()).to.equal('</>;rt="oma.lwm2m",</1/0>,</3/0>');
    },
  },
];

describe('CoAP over TCP framing (RFC 8323 §3.2)', () => {
  describe('docs/standards-notes/lwm2m-coap-dtls.md §2.1 frames', () => {
    for (const v of VECTORS) {
      it(`decodes and re-encodes: ${v.name}`, () => {
        const m = decodeTcpFrame(v.bytes);
        v.check(m);
        expect(encodeTcp(m).toString('hex')).to.equal(v.bytes.toString('hex'));
      });
    }

    it('frames the §5.5 Register as d4 60 02 a1b2c3d4 b27264 1128 3d23 … (116 bytes)', () => {
      const { type: _t, messageId: _m, ...tcp } = decodeUdp(REGISTER_UDP);
      const frame = encodeTcp(tcp);
      expect(frame.subarray(0, 14).toString('hex')).to.equal('d46002a1b2c3d4b272641128' + '3d23');
      expect(frame.length).to.equal(116);
    });

    it('builds the CSM, Ping and Pong of the table with the signaling helpers', () => {
      expect(encodeTcp(csmMessage({ maxMessageSize: 1152, blockWiseTransfer: true })).toString('hex')).to.equal(
        '40e122048020',
      );
      expect(encodeTcp(csmMessage({ maxMessageSize: 0x800100, blockWiseTransfer: true })).toString('hex')).to.equal(
        '50e1238001' + '0020',
      );
      const ping = pingMessage(hex('42'));
      expect(encodeTcp(ping).toString('hex')).to.equal('01e242');
      expect(encodeTcp(pongMessage(ping)).toString('hex')).to.equal('01e342');
    });

    it('encodes the libcoap 2.05 reply header: Len 13, ext 0x81 (142 B), Max-Age 0x2ffff, then the payload', () => {
      const payload = Buffer.concat([Buffer.from('Th'), Buffer.alloc(134, 0x2e)]);
      const msg = message({
        code: Code.CONTENT,
        token: hex('01'),
        options: [{ number: OptionNumber.MAX_AGE, value: hex('02ffff') }],
        payload,
      });
      const frame = encodeTcp(msg);
      expect(frame.subarray(0, 12).toString('hex')).to.equal('d181450' + '1d30102ffffff5468');
      expect(frame.length).to.equal(4 + 142);
      expect(decodeUint(getOption(decodeTcpFrame(frame), OptionNumber.MAX_AGE)!)).to.equal(0x2ffff);
    });

    const LENGTH_FORMS: [number, string][] = [
      [0, '0'],
      [12, 'c'],
      [13, 'd'],
      [268, 'd'],
      [269, 'e'],
      [65804, 'e'],
      [65805, 'f'],
    ];
    for (const [n, nibble] of LENGTH_FORMS) {
      it(`uses Len nibble ${nibble} for ${n} bytes of options+payload and decodes it back`, () => {
        const msg = message({ code: Code.CONTENT, payload: Buffer.alloc(Math.max(0, n - 1), 7) }); // + 1 for the payload marker
        const frame = encodeTcp(msg);
        expect(frame.toString('hex', 0, 1)[0]).to.equal(nibble);
        expect(decodeTcpFrame(frame).payload.equals(msg.payload)).to.equal(true);
      });
    }
  });

  describe('streaming decoder: every chunking gives the same messages', () => {
    for (const v of VECTORS) {
      for (const [label, chunks] of chunkings(v.bytes)) {
        it(`${v.name} (${label})`, () => {
          const decoder = new CoapTcpDecoder();
          const msgs = feedAll(decoder, chunks);
          expect(msgs).to.have.length(1);
          v.check(msgs[0]!);
          expect(decoder.bufferedBytes).to.equal(0);
        });
      }
    }

    const STREAM = Buffer.concat(VECTORS.map((v) => v.bytes));
    for (const [label, chunks] of chunkings(STREAM)) {
      it(`all frames back to back (${label})`, () => {
        const msgs = feedAll(new CoapTcpDecoder(), chunks);
        expect(msgs.map((m) => encodeTcp(m).toString('hex'))).to.deep.equal(
          VECTORS.map((v) => v.bytes.toString('hex')),
        );
      });
    }
  });

  describe('bounds', () => {
    it('rejects a frame over Max-Message-Size from its header alone, before buffering the body', () => {
      const decoder = new CoapTcpDecoder({ maxMessageSize: 1152 });
      // Len 15: 4-byte extended length 0x00010000 → 65536 + 65805 bytes announced; only the header is pushed.
      expect(() => decoder.push(hex('f0 00 01 00 00'))).to.throw(DecodeError, /exceeds Max-Message-Size/);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('accepts a frame of exactly Max-Message-Size and rejects one byte more', () => {
      const created = VECTORS[5]!.bytes; // 14 bytes
      expect(new CoapTcpDecoder({ maxMessageSize: 14 }).push(created)).to.have.length(1);
      expect(() => new CoapTcpDecoder({ maxMessageSize: 13 }).push(created)).to.throw(DecodeError);
    });

    it('stays failed after a DecodeError: the byte stream cannot be resynchronised', () => {
      const decoder = new CoapTcpDecoder();
      expect(() => decoder.push(hex('09'))).to.throw(DecodeError);
      expect(() => decoder.push(hex('01 e2 42'))).to.throw(DecodeError);
    });

    it('keeps only the incomplete tail buffered', () => {
      const decoder = new CoapTcpDecoder();
      expect(decoder.push(hex('01 e2 42 40 e1 22'))).to.have.length(1);
      expect(decoder.bufferedBytes).to.equal(3);
    });
  });

  describe('malformed frames each throw DecodeError', () => {
    const MALFORMED: [string, string][] = [
      ['no bytes', ''],
      ['truncated extended length', 'd1'],
      ['truncated token', '01 e2'],
      ['truncated frame body', '40 e1 22 04 80'],
      ['TKL 9', '09 01 010203040506070809'],
      ['TKL 15', '0f 01'],
      ['payload marker with an empty payload', '10 01 ff'],
      ['option delta nibble 15', '20 01 f1 00'],
      ['option length nibble 15', '10 01 bf'],
      ['option value past the frame', '30 01 b3 61 62'],
      ['truncated extended option delta inside the frame', '10 01 d0'],
      ['bytes after the frame', '01 e2 42 00'],
    ];
    for (const [name, bytes] of MALFORMED) {
      it(`decodeTcpFrame rejects: ${name} (${bytes || 'no bytes'})`, () => {
        expect(() => decodeTcpFrame(hex(bytes))).to.throw(DecodeError);
      });
    }

    const STREAM_MALFORMED: [string, string][] = [
      ['TKL 9', '09 01'],
      ['payload marker with an empty payload', '10 01 ff'],
      ['option delta nibble 15', '20 01 f1 00'],
      ['oversize by 16-bit extended length', 'e0 ff ff'],
    ];
    for (const [name, bytes] of STREAM_MALFORMED) {
      it(`CoapTcpDecoder rejects: ${name}`, () => {
        expect(() => new CoapTcpDecoder().push(hex(bytes))).to.throw(DecodeError);
      });
    }
  });

  describe('signaling (RFC 8323 §5)', () => {
    it('parseCsm rejects an unknown critical option and names it for Bad-CSM-Option', () => {
      const csm = decodeTcpFrame(hex('10 e1 30')); // option 3, critical, unknown
      expect(() => parseCsm(csm))
        .to.throw(CsmOptionError)
        .with.property('badOption', 3);
    });

    it('parseCsm ignores an unknown elective option and reports an empty CSM as no settings', () => {
      expect(parseCsm(decodeTcpFrame(hex('10 e1 60')))).to.deep.equal({});
    });

    it('builds Release with Hold-Off and Alternative-Address, and Abort with Bad-CSM-Option and a diagnostic', () => {
      const release = decodeTcpFrame(
        encodeTcp(releaseMessage({ alternativeAddresses: ['coap+tcp://b'], holdOffSec: 30 })),
      );
      expect(release.code).to.equal(Code.RELEASE);
      expect(getOption(release, SignalingOption.ALTERNATIVE_ADDRESS)!.toString()).to.equal('coap+tcp://b');
      expect(decodeUint(getOption(release, SignalingOption.HOLD_OFF)!)).to.equal(30);
      const abort = decodeTcpFrame(encodeTcp(abortMessage({ badCsmOption: 4, diagnostic: 'bad CSM' })));
      expect(abort.code).to.equal(Code.ABORT);
      expect(decodeUint(getOption(abort, SignalingOption.BAD_CSM_OPTION)!)).to.equal(4);
      expect(abort.payload.toString()).to.equal('bad CSM');
    });
  });
});
