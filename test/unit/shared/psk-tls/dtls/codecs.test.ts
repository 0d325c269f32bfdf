/** Record layer (RFC 6347 §4.1), handshake header and reassembly (§4.2.2–4.2.3), extensions and message codecs. */
import { expect } from 'chai';
import { DecodeError } from '../../../../../shared/errors.js';
import { ContentType, DTLS_1_0, DTLS_1_2, HandshakeType } from '../../../../../shared/psk-tls/dtls/constants.js';
import {
  decodeConnectionId,
  decodeExtensionList,
  decodeMaxFragmentLength,
  decodeRenegotiationInfo,
  decodeServerName,
  encodeExtensionList,
  ext,
} from '../../../../../shared/psk-tls/dtls/extensions.js';
import {
  Reassembler,
  decodeHandshakeFragments,
  encodeHandshake,
  encodeHandshakeFragment,
  fragmentHandshake,
  type HandshakeFragment,
} from '../../../../../shared/psk-tls/dtls/handshake.js';
import {
  decodeClientHello,
  decodeClientKeyExchange,
  decodeFinished,
  decodeHelloVerifyRequest,
  decodeServerHello,
  encodeClientHello,
  encodeServerHello,
} from '../../../../../shared/psk-tls/dtls/messages.js';
import {
  decodeRecord,
  encodeRecord,
  encodeRecordHeader,
  parseDatagram,
} from '../../../../../shared/psk-tls/dtls/record.js';
import { Reader } from '../../../../../shared/psk-tls/wire.js';
import { hex } from '../../../../support/vectors.js';

describe('dtls record layer codec (RFC 6347 §4.1)', () => {
  it('encodes the 13-byte header: type, version, epoch, 48-bit seq, length', () => {
    const h = encodeRecordHeader({ type: 23, version: DTLS_1_2, epoch: 1, seq: 0x0102030405 }, 0x20);
    expect(h.toString('hex')).to.equal('17fefd' + '0001' + '000102030405' + '0020');
  });

  it('round-trips the largest 48-bit sequence number and refuses one beyond', () => {
    const rec = { type: 22, version: DTLS_1_0, epoch: 0xffff, seq: 2 ** 48 - 1, fragment: Buffer.from('ab', 'hex') };
    const back = parseDatagram(encodeRecord(rec)).records[0]!;
    expect(back).to.deep.equal(rec);
    expect(() => encodeRecordHeader({ ...rec, seq: 2 ** 48 }, 1)).to.throw(RangeError);
  });

  it('splits a datagram holding several records', () => {
    const a = encodeRecord({ type: 22, version: DTLS_1_2, epoch: 0, seq: 1, fragment: Buffer.from('aa', 'hex') });
    const b = encodeRecord({ type: 20, version: DTLS_1_2, epoch: 0, seq: 2, fragment: Buffer.from('01', 'hex') });
    const { records, error } = parseDatagram(Buffer.concat([a, b]));
    expect(error).to.equal(undefined);
    expect(records.map((r) => [r.type, r.seq])).to.deep.equal([
      [22, 1],
      [20, 2],
    ]);
  });

  it('keeps the good records and reports a malformed tail (truncated record)', () => {
    const a = encodeRecord({ type: 22, version: DTLS_1_2, epoch: 0, seq: 1, fragment: Buffer.alloc(4) });
    const { records, error } = parseDatagram(Buffer.concat([a, a.subarray(0, 10)]));
    expect(records).to.have.length(1);
    expect(error).to.be.instanceOf(DecodeError);
  });

  it('rejects non-DTLS versions, oversize lengths, and tls12_cid without CIDs in use', () => {
    const tls = Buffer.from('1603030000000000000000000100', 'hex');
    expect(parseDatagram(tls).error?.reason).to.match(/not DTLS/);
    const huge = encodeRecordHeader({ type: 23, version: DTLS_1_2, epoch: 1, seq: 0 }, 2 ** 14 + 2049);
    expect(parseDatagram(huge).error?.reason).to.match(/exceeds/);
    const cid = Buffer.from('19fefd00010000000000010a0b0c0d0e0f0000', 'hex');
    expect(parseDatagram(cid).error?.reason).to.match(/connection IDs are not in use/);
  });

  it('parses the RFC 9146 §4 tls12_cid header with a known CID length', () => {
    const rec = {
      type: ContentType.tls12Cid,
      version: DTLS_1_2,
      epoch: 1,
      seq: 5,
      cid: hex('0a0b0c0d0e0f'),
      fragment: hex('c0ffee'),
    };
    const wire = encodeRecord(rec);
    expect(wire.toString('hex')).to.equal('19fefd0001000000000005' + '0a0b0c0d0e0f' + '0003c0ffee');
    expect(decodeRecord(new Reader(wire, 'x'), 6)).to.deep.equal(rec);
  });
});

describe('dtls handshake header and reassembly (RFC 6347 §4.2.2–4.2.3)', () => {
  const body = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

  it('encodes a whole message with offset 0 and fragment_length = length', () => {
    expect(encodeHandshake(14, 3, Buffer.alloc(0)).toString('hex')).to.equal('0e0000000003000000000000');
  });

  it('decodes several fragments from one record', () => {
    const frags = fragmentHandshake(1, 1, body, 40);
    const wire = Buffer.concat(frags.map(encodeHandshakeFragment));
    const back = decodeHandshakeFragments(wire);
    expect(back.map((f) => [f.fragmentOffset, f.body.length, f.length])).to.deep.equal([
      [0, 40, 100],
      [40, 40, 100],
      [80, 20, 100],
    ]);
  });

  it('rejects a fragment that runs past the message length, a truncated header, and an empty record', () => {
    expect(() => decodeHandshakeFragments(hex('01000010000000000c000008' + '00'.repeat(8)))).to.throw(
      DecodeError,
      /exceeds/,
    );
    expect(() => decodeHandshakeFragments(hex('0100'))).to.throw(DecodeError);
    expect(() => decodeHandshakeFragments(Buffer.alloc(0))).to.throw(DecodeError, /empty/);
  });

  it('reassembles fragments that arrive out of order', () => {
    const r = new Reassembler(1);
    const frags = fragmentHandshake(1, 1, body, 30);
    for (const f of [frags[3]!, frags[1]!, frags[0]!]) {
      expect(r.add(f, 0).kind).to.equal('buffered');
      expect(r.take()).to.equal(undefined);
    }
    r.add(frags[2]!, 0);
    const m = r.take()!;
    expect(m).to.include({ msgType: 1, messageSeq: 1, epoch: 0 });
    expect(m.body).to.deep.equal(body);
    expect(r.nextSeq).to.equal(2);
    expect(r.bufferedBytes).to.equal(0);
  });

  it('reassembles overlapping fragments', () => {
    const r = new Reassembler(0);
    const part = (off: number, len: number): HandshakeFragment => ({
      msgType: 16,
      length: 100,
      messageSeq: 0,
      fragmentOffset: off,
      body: body.subarray(off, off + len),
    });
    r.add(part(0, 60), 0);
    r.add(part(50, 30), 0);
    expect(r.take()).to.equal(undefined);
    r.add(part(20, 80), 0);
    expect(r.take()!.body).to.deep.equal(body);
  });

  it('releases messages only in message_seq order', () => {
    const r = new Reassembler(2);
    r.add(fragmentHandshake(20, 3, Buffer.alloc(12), 100)[0]!, 1);
    expect(r.take()).to.equal(undefined);
    r.add(fragmentHandshake(16, 2, Buffer.alloc(5), 100)[0]!, 0);
    expect(r.take()!.msgType).to.equal(16);
    expect(r.take()!.msgType).to.equal(20);
  });

  it('reports earlier message_seq values as retransmissions', () => {
    const r = new Reassembler(3);
    expect(r.add(fragmentHandshake(1, 1, body, 200)[0]!, 0)).to.deep.equal({
      kind: 'old',
      msgType: 1,
      messageSeq: 1,
      fragmentOffset: 0,
      epoch: 0,
    });
  });

  it('bounds memory: huge lengths, far-ahead message_seq, inconsistent fragments, full buffer', () => {
    const r = new Reassembler(0, { maxMessageLength: 1000, maxBufferedBytes: 3000, window: 2 });
    const f = (seq: number, len: number, type = 1): HandshakeFragment => ({
      msgType: type,
      length: len,
      messageSeq: seq,
      fragmentOffset: 0,
      body: Buffer.alloc(1),
    });
    expect(r.add(f(0, 0xffffff), 0).kind).to.equal('rejected');
    expect(r.add(f(2, 10), 0).kind).to.equal('rejected');
    expect(r.add(f(0, 900), 0).kind).to.equal('buffered');
    expect(r.add(f(0, 901), 0).kind).to.equal('rejected');
    expect(r.add(f(0, 900, 2), 0).kind).to.equal('rejected');
    expect(r.add(f(0, 900), 1).kind).to.equal('rejected');
    expect(r.add(f(1, 900), 0).kind).to.equal('rejected'); // 2×900 + 2×900 > 3000
    expect(r.bufferedBytes).to.equal(1800);
  });
});

describe('dtls extensions and handshake messages', () => {
  it('rejects duplicate extensions (RFC 5246 §7.4.1.4) and truncated ones', () => {
    const dup = encodeExtensionList([ext.extendedMasterSecret(), ext.extendedMasterSecret()]).subarray(2);
    expect(() => decodeExtensionList(dup)).to.throw(DecodeError, /duplicate/);
    expect(() => decodeExtensionList(hex('0017000500'))).to.throw(DecodeError);
  });

  it('reads SNI host_name, max_fragment_length, renegotiation_info and connection_id', () => {
    expect(decodeServerName(ext.serverName('naf.example.org').data)).to.equal('naf.example.org');
    expect(decodeMaxFragmentLength(hex('02'))).to.equal(1024);
    expect(() => decodeMaxFragmentLength(hex('05'))).to.throw(DecodeError);
    expect(decodeRenegotiationInfo(hex('00')).length).to.equal(0);
    expect(decodeConnectionId(ext.connectionId(hex('a1a2')).data)).to.deep.equal(hex('a1a2'));
    expect(ext.maxFragmentLength(512).data).to.deep.equal(hex('01'));
  });

  it('decodes a ClientHello without an extensions block (node-dtls-client, docs/standards-notes/lwm2m-coap-dtls.md §6.1)', () => {
    const datagram = hex(
      '16feff0000000000000000004a0100003e000000000000003efefd' +
        '11'.repeat(32) +
        '00000016008b008c008d00ae00af00a800a9c0a4c0a5c0a8c0a90100',
    );
    const rec = parseDatagram(datagram).records[0]!;
    const ch = decodeClientHello(decodeHandshakeFragments(rec.fragment)[0]!.body);
    expect(ch.extensions).to.equal(undefined);
    expect(ch.cipherSuites).to.include(0xc0a8);
    expect(rec.version).to.equal(DTLS_1_0);
  });

  it('rejects malformed ClientHellos', () => {
    const good = encodeClientHello({
      clientVersion: DTLS_1_2,
      random: Buffer.alloc(32),
      sessionId: Buffer.alloc(0),
      cookie: Buffer.alloc(0),
      cipherSuites: [0xc0a8],
      compressionMethods: Buffer.from([0]),
      extensions: [],
    });
    expect(decodeClientHello(good).extensions).to.deep.equal([]);
    const bad: [string, Buffer][] = [
      ['truncated random', good.subarray(0, 20)],
      ['session id > 32', Buffer.concat([good.subarray(0, 34), hex('21'), Buffer.alloc(33)])],
      ['odd suites', Buffer.concat([good.subarray(0, 36), hex('0003c0a8000100')])],
      ['no compression', Buffer.concat([good.subarray(0, 36), hex('0002c0a800')])],
      ['trailing bytes', Buffer.concat([good, hex('00')])],
    ];
    for (const [name, b] of bad) expect(() => decodeClientHello(b), name).to.throw(DecodeError);
  });

  it('decodes HelloVerifyRequest, ServerHello (with and without extensions), CKE and Finished, rejecting junk', () => {
    expect(decodeHelloVerifyRequest(hex('feff0401020304'))).to.deep.equal({
      serverVersion: 0xfeff,
      cookie: hex('01020304'),
    });
    const sh = {
      serverVersion: DTLS_1_2,
      random: Buffer.alloc(32, 7),
      sessionId: Buffer.alloc(0),
      cipherSuite: 0xc0a8,
      compressionMethod: 0,
      extensions: [],
    };
    expect(decodeServerHello(encodeServerHello(sh))).to.deep.equal(sh);
    expect(decodeClientKeyExchange(hex('0003616263')).toString()).to.equal('abc');
    expect(() => decodeClientKeyExchange(hex('0000'))).to.throw(DecodeError);
    expect(() => decodeClientKeyExchange(hex('0005616263'))).to.throw(DecodeError);
    expect(() => decodeFinished(Buffer.alloc(11))).to.throw(DecodeError);
    expect(HandshakeType.finished).to.equal(20);
  });
});
