/**
 * Hostile binary inputs as pure functions (seed → bytes): CoAP over TCP frames (RFC 8323 §3.2), CoAP messages
 * (RFC 7252 §3) for DTLS application data, and DTLS datagrams before and after the cookie (RFC 6347 §4.2.1),
 * each built from a valid message and then damaged.
 */
import { Rng, mutateBytes } from './rng.js';

/** RFC 7252 §3.1 option encoding (delta and length nibbles with 13/14 extensions). */
export function encodeOptions(opts: Array<[number, Buffer]>): Buffer {
  const out: Buffer[] = [];
  let prev = 0;
  for (const [num, val] of [...opts].sort((a, b) => a[0] - b[0])) {
    const nib = (n: number): [number, Buffer] =>
      n < 13
        ? [n, Buffer.alloc(0)]
        : n < 269
          ? [13, Buffer.of(n - 13)]
          : [14, Buffer.from([(n - 269) >> 8, (n - 269) & 0xff])];
    const [d, dx] = nib(num - prev);
    const [l, lx] = nib(val.length);
    out.push(Buffer.of((d << 4) | l), dx, lx, val);
    prev = num;
  }
  return Buffer.concat(out);
}

const REGISTER_PAYLOAD = Buffer.from('</>;rt="oma.lwm2m";ct=11542,</1/0>,</3/0>');

/** Option lists and payloads of requests a device could send; the body of a message before its framing. */
function requestParts(rng: Rng): { code: number; opts: Array<[number, Buffer]>; payload: Buffer } {
  const s = (t: string) => Buffer.from(t);
  switch (rng.int(0, 6)) {
    case 0:
      return {
        code: 0x02,
        opts: [
          [11, s('rd')],
          [15, s(`ep=urn:uuid:${rng.str(8, '0123456789abcdef')}`)],
          [15, s('lt=60')],
          [15, s('lwm2m=1.1')],
          [15, s('b=T')],
          [12, Buffer.of(40)],
        ],
        payload: REGISTER_PAYLOAD,
      };
    case 1:
      return {
        code: 0x02,
        opts: [
          [11, s('rd')],
          [11, s(rng.str(rng.int(0, 20)))],
        ],
        payload: Buffer.alloc(0),
      }; // Update of some id
    case 2:
      return {
        code: 0x04,
        opts: [
          [11, s('rd')],
          [11, s(rng.str(8))],
        ],
        payload: Buffer.alloc(0),
      }; // De-register
    case 3:
      return {
        code: 0x01,
        opts: [
          [11, s('3')],
          [11, s('0')],
        ],
        payload: Buffer.alloc(0),
      };
    case 4:
      return {
        code: rng.int(0, 255),
        opts: Array.from(
          { length: rng.int(0, 8) },
          () => [rng.int(0, 2100), rng.bytes(rng.length(300))] as [number, Buffer],
        ),
        payload: rng.bytes(rng.length(2000)),
      };
    case 5:
      return {
        code: 0x02,
        opts: [
          [11, s('rd')],
          [15, s(`ep=${'x'.repeat(rng.length(5000))}`)],
          [12, Buffer.of(40)],
        ],
        payload: Buffer.from(`</${'9/'.repeat(rng.int(0, 3000))}>`),
      };
    default:
      return {
        code: rng.pick([0x00, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0x45, 0x84, 0xa0]),
        opts: [[rng.int(1, 4), rng.bytes(rng.int(0, 8))]],
        payload: Buffer.alloc(0),
      };
  }
}

const body = (p: { opts: Array<[number, Buffer]>; payload: Buffer }): Buffer =>
  Buffer.concat([encodeOptions(p.opts), ...(p.payload.length ? [Buffer.of(0xff), p.payload] : [])]);

/** RFC 8323 §3.2: Len|TKL, extended length, Code, Token, Options, Payload; damaged after it is built. */
export function coapTcpFrame(seed: number): Buffer {
  const rng = new Rng(seed ^ 0xc0a9);
  const p = requestParts(rng);
  const token = rng.bytes(rng.pick([0, 1, 4, 8]));
  const rest = body(p);
  const len = rest.length;
  const [nib, ext] =
    len < 13
      ? [len, Buffer.alloc(0)]
      : len < 269
        ? [13, Buffer.of(len - 13)]
        : len < 65805
          ? [14, Buffer.from([(len - 269) >> 8, (len - 269) & 0xff])]
          : [
              15,
              (() => {
                const b = Buffer.alloc(4);
                b.writeUInt32BE(len - 65805);
                return b;
              })(),
            ];
  const frame = Buffer.concat([Buffer.of((nib << 4) | token.length), ext, Buffer.of(p.code), token, rest]);
  switch (rng.int(0, 5)) {
    case 0:
      return frame; // valid framing, odd content
    case 1:
      return Buffer.concat([
        Buffer.of(0xf0 | rng.int(0, 15)),
        Buffer.from([0x7f, 0xff, 0xff, 0xff]),
        Buffer.of(p.code),
      ]); // claims ~2 GB
    case 2:
      return Buffer.concat([Buffer.of((nib << 4) | rng.int(9, 15)), ext, Buffer.of(p.code), token, rest]); // TKL 9..15 is reserved
    default:
      return mutateBytes(rng, frame);
  }
}

/** RFC 7252 §3: Ver|T|TKL, Code, Message ID, Token, Options, Payload; damaged after it is built. */
export function coapUdpMessage(seed: number): Buffer {
  const rng = new Rng(seed ^ 0x0dd5);
  const p = requestParts(rng);
  const token = rng.bytes(rng.pick([0, 2, 8]));
  const type = rng.int(0, 3);
  const msg = Buffer.concat([
    Buffer.of(0x40 | (type << 4) | token.length, p.code, rng.int(0, 255), rng.int(0, 255)),
    token,
    body(p),
  ]);
  return rng.chance(0.4) ? msg : mutateBytes(rng, msg);
}

/** A DTLS datagram damaged from `base` (a ClientHello datagram, with or without a cookie). */
export function dtlsDatagram(seed: number, base: Buffer): Buffer {
  const rng = new Rng(seed ^ 0xd715);
  switch (rng.int(0, 9)) {
    case 0:
      return rng.bytes(rng.length(1500)); // noise
    case 1:
      return Buffer.concat([base, base]); // two records in one datagram
    case 2: {
      const b = Buffer.from(base);
      b[0] = rng.pick([20, 21, 22, 23, 24, 25, 0, 255]);
      return b;
    } // content type
    case 3: {
      const b = Buffer.from(base);
      b.writeUInt16BE(rng.pick([0xfefd, 0xfeff, 0x0303, 0x0000, 0xffff]), 1);
      return b;
    }
    case 4: {
      const b = Buffer.from(base);
      b.writeUInt16BE(rng.pick([0, 1, 0xffff]), 3);
      return b;
    } // epoch
    case 5: {
      const b = Buffer.from(base);
      if (b.length > 13) b.writeUInt16BE(rng.pick([0, 1, 0x3fff, 0xffff]), 11);
      return b;
    } // record length
    case 6: {
      const b = Buffer.from(base);
      if (b.length > 24) {
        b.writeUIntBE(rng.pick([0, 1, 0xffffff]), 14, 3);
        b.writeUIntBE(rng.pick([0, 0xffffff]), 22, 3);
      }
      return b;
    } // fragment fields
    default:
      return mutateBytes(rng, base, 13);
  }
}

/** RFC 6733 §3/§4.1: a Diameter message (header + AVPs) built valid, then damaged. */
export function diameterFrame(seed: number): Buffer {
  const rng = new Rng(seed ^ 0xd1a0);
  const avp = (code: number, data: Buffer, flags = 0x40, vendor?: number): Buffer => {
    const hl = vendor === undefined ? 8 : 12;
    const h = Buffer.alloc(hl);
    h.writeUInt32BE(code, 0);
    h[4] = vendor === undefined ? flags : flags | 0x80;
    h.writeUIntBE(hl + data.length, 5, 3);
    if (vendor !== undefined) h.writeUInt32BE(vendor, 8);
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    return Buffer.concat([h, data, pad]);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  const host = Buffer.from(
    rng.pick([
      'bsf.mnc001.mcc001.3gppnetwork.org',
      'naf.mnc001.mcc001.3gppnetwork.org',
      'evil.example',
      '',
      'x'.repeat(rng.length(3000)),
    ]),
  );
  const realm = Buffer.from('mnc001.mcc001.3gppnetwork.org');
  const cmd = rng.pick([257, 280, 282, 303, 310, rng.int(0, 0xffffff)]);
  const app = cmd === 303 ? 16777221 : cmd === 310 ? 16777220 : 0;
  const avps = [avp(263, Buffer.from(`s;${rng.int(0, 1e9)}`)), avp(264, host), avp(296, realm)];
  if (cmd === 257)
    avps.push(
      avp(257, Buffer.from([0, 1, 127, 0, 0, 1])),
      avp(266, u32(10415)),
      avp(269, Buffer.from('hostile')),
      avp(260, Buffer.concat([avp(266, u32(10415)), avp(258, u32(app || 16777221))])),
    );
  if (cmd === 303)
    avps.push(avp(1, Buffer.from('001010000000001@ims.mnc001.mcc001.3gppnetwork.org')), avp(607, u32(1), 0xc0, 10415));
  if (cmd === 310)
    avps.push(avp(400, Buffer.from('AAAA@bsf'), 0xc0, 10415), avp(2402, Buffer.from('naf.example'), 0xc0, 10415));
  for (let i = rng.int(0, 3); i > 0; i--)
    avps.push(
      avp(
        rng.int(0, 5000),
        rng.bytes(rng.length(300)),
        rng.pick([0x00, 0x40, 0xc0, 0x20]),
        rng.chance(0.3) ? rng.int(0, 20000) : undefined,
      ),
    );
  if (rng.chance(0.1)) {
    let g = avp(1, Buffer.from('x'));
    for (let i = 0; i < rng.int(10, 200); i++) g = avp(260, g);
    avps.push(g);
  } // deep grouping
  const bodyBuf = Buffer.concat(avps);
  const h = Buffer.alloc(20);
  h[0] = 1;
  h.writeUIntBE(20 + bodyBuf.length, 1, 3);
  h[4] = 0x80 | (rng.chance(0.2) ? rng.int(0, 0x7f) : 0);
  h.writeUIntBE(cmd, 5, 3);
  h.writeUInt32BE(app, 8);
  h.writeUInt32BE(rng.int(0, 2 ** 32 - 1) >>> 0, 12);
  h.writeUInt32BE(rng.int(0, 2 ** 32 - 1) >>> 0, 16);
  const msg = Buffer.concat([h, bodyBuf]);
  switch (rng.int(0, 6)) {
    case 0:
    case 1:
      return msg;
    case 2: {
      const b = Buffer.from(msg);
      b.writeUIntBE(rng.pick([0, 1, 19, 21, 0xffffff]), 1, 3);
      return b;
    } // message length lies
    case 3: {
      const b = Buffer.from(msg);
      b[0] = rng.pick([0, 2, 255]);
      return b;
    } // version
    case 4: {
      const b = Buffer.from(msg);
      if (b.length > 28) b.writeUIntBE(rng.pick([0, 1, 7, 0xffffff]), 25, 3);
      return b;
    } // first AVP length
    default:
      return mutateBytes(rng, msg, 1);
  }
}
