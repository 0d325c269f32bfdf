/**
 * Hostile Diameter frames for a Zh (MAR) or Zn (BIR) listener, as a pure, seeded function: the same seed gives
 * the same frames, octet for octet, so a campaign can replay a failure. Each frame is sent on a connection
 * whose capabilities exchange already succeeded, and says what a correct peer does with it (RFC 6733 §3, §4.1,
 * §7.1, §7.5): an error answer with a given Result-Code (and Failed-AVP naming the AVP at fault), or closing
 * the connection (framing faults: nothing after them can be trusted), and in every case no crash, no hang and
 * no buffering beyond one message's declared length.
 */
import {
  avp,
  AVP_M,
  AVP_V,
  encodeAvp,
  encodeMessage,
  FLAG_E,
  FLAG_P,
  FLAG_R,
  type Avp,
} from '../../shared/diameter/codec.js';
import { APP_ZH, APP_ZN, CMD, RC } from '../../shared/diameter/dictionary.js';
import { birAvps, marAvps } from '../../shared/diameter/gba.js';

export type Expect =
  | {
      kind: 'answer';
      resultCode: number;
      /** Code of the AVP inside Failed-AVP, when RFC 6733 §7.5 names one. */ failedAvpCode?: number;
    }
  | { kind: 'close' }
  /** Random damage: an answer (whatever the damage turned the request into) or closing are both correct. */
  | { kind: 'answer-or-close' };

export interface HostileFrame {
  name: string;
  /** Octets to write after CER/CEA. */
  bytes: Buffer;
  /** Half-close our side after writing (a frame that can never complete). */
  endAfter?: boolean;
  expect: Expect;
}

export interface FrameContext {
  app: 'zh' | 'zn';
  originHost: string;
  originRealm: string;
  destinationRealm: string;
  /** MAR: an IMPI; BIR: a B-TID. */
  subject: string;
  /** BIR: the NAF FQDN. */
  nafFqdn?: string;
}

/** mulberry32: a tiny seeded PRNG (deterministic across runs and platforms). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The valid request the frames are made from (MAR for Zh, BIR for Zn). */
export function validAvps(c: FrameContext, hopSeed = 1): Avp[] {
  const r = {
    sessionId: `${c.originHost};hostile;${hopSeed}`,
    originHost: c.originHost,
    originRealm: c.originRealm,
    destinationRealm: c.destinationRealm,
  };
  return c.app === 'zh'
    ? marAvps(r, { impi: c.subject })
    : birAvps(r, {
        btid: c.subject,
        nafFqdn: c.nafFqdn ?? 'naf.example.org',
        uaSecProtId: '0100000002',
        gbaUAware: false,
      });
}

export function request(c: FrameContext, avps: Avp[], hop: number, flags = FLAG_R | FLAG_P): Buffer {
  return encodeMessage({
    flags,
    commandCode: c.app === 'zh' ? CMD.MA : CMD.BI,
    applicationId: c.app === 'zh' ? APP_ZH : APP_ZN,
    hopByHop: hop,
    endToEnd: hop,
    avps,
  });
}

const setLength = (b: Buffer, len: number): Buffer => {
  const o = Buffer.from(b);
  o.writeUIntBE(len, 1, 3);
  return o;
};

/** The frames for one seed: a fixed catalogue, then `random` seeded mutations of the valid request. */
export function hostileFrames(c: FrameContext, seed: number, random = 8): HostileFrame[] {
  const rnd = prng(seed);
  const ok = request(c, validAvps(c, seed), 0x1000);
  const required = c.app === 'zh' ? 'User-Name' : 'Transaction-Identifier';
  const requiredCode = c.app === 'zh' ? 1 : 401;
  const frames: HostileFrame[] = [
    // RFC 6733 §3: a header cut short can never be framed; the peer gives up on the connection.
    {
      name: 'truncated header (10 of 20 octets)',
      bytes: ok.subarray(0, 10),
      endAfter: true,
      expect: { kind: 'close' },
    },
    { name: 'length field below the 20-octet header', bytes: setLength(ok, 12), expect: { kind: 'close' } },
    { name: 'length field not a multiple of 4', bytes: setLength(ok, ok.length + 1), expect: { kind: 'close' } },
    {
      name: 'unsupported version 2',
      bytes: Buffer.concat([Buffer.from([2]), ok.subarray(1)]),
      expect: { kind: 'close' },
    },
    // 16 MiB − 4: far beyond any Zh/Zn message; closed at once, never buffered.
    {
      name: '16 MiB length field',
      bytes: Buffer.concat([setLength(ok.subarray(0, 20), 0xfffffc), Buffer.alloc(4096, 0x41)]),
      expect: { kind: 'close' },
    },
    // §4.1: the last AVP claims more octets than the message holds → 5014 DIAMETER_INVALID_AVP_LENGTH.
    (() => {
      const tail = encodeAvp(avp('Error-Message', 'x'.repeat(8)));
      const bad = Buffer.from(tail);
      bad.writeUIntBE(200, 5, 3);
      const m = request(c, validAvps(c, seed), 0x1001);
      return {
        name: 'AVP length beyond the message',
        bytes: setLength(Buffer.concat([m, bad]), m.length + bad.length),
        expect: { kind: 'answer', resultCode: RC.INVALID_AVP_LENGTH, failedAvpCode: 281 },
      } satisfies HostileFrame;
    })(),
    // §4.1: an AVP with the M bit the receiver does not know → 5001 with it in Failed-AVP.
    {
      name: 'unknown AVP with the M bit',
      bytes: request(
        c,
        [...validAvps(c, seed), { code: 0x7fff01, flags: AVP_V | AVP_M, vendorId: 10415, data: Buffer.from('boom') }],
        0x1002,
      ),
      expect: { kind: 'answer', resultCode: RC.AVP_UNSUPPORTED, failedAvpCode: 0x7fff01 },
    },
    // §7.1.5: a required AVP missing → 5005 with a stub of it in Failed-AVP (§7.5).
    {
      name: `missing ${required}`,
      bytes: request(
        c,
        validAvps(c, seed).filter((a) => a.code !== requiredCode),
        0x1003,
      ),
      expect: { kind: 'answer', resultCode: RC.MISSING_AVP, failedAvpCode: requiredCode },
    },
    // §4.1: padding octets are zero.
    (() => {
      const m = Buffer.from(request(c, [...validAvps(c, seed), avp('Error-Message', 'abcde')], 0x1004));
      m[m.length - 1] = 0xee;
      return {
        name: 'non-zero padding',
        bytes: m,
        expect: { kind: 'answer', resultCode: RC.INVALID_AVP_LENGTH, failedAvpCode: 281 },
      } satisfies HostileFrame;
    })(),
    // §3: the E bit is never set on a request → 3008 DIAMETER_INVALID_HDR_BITS.
    {
      name: 'request with the E bit',
      bytes: request(c, validAvps(c, seed), 0x1005, FLAG_R | FLAG_P | FLAG_E),
      expect: { kind: 'answer', resultCode: RC.INVALID_HDR_BITS },
    },
    // §4.1: reserved AVP flag bits → 3009 DIAMETER_INVALID_AVP_BITS.
    (() => {
      const m = Buffer.from(request(c, validAvps(c, seed), 0x1006));
      m[20 + 4] = m[20 + 4]! | 0x01; // the first AVP (Session-Id)'s flags
      return {
        name: 'reserved AVP flag bit',
        bytes: m,
        expect: { kind: 'answer', resultCode: RC.INVALID_AVP_BITS },
      } satisfies HostileFrame;
    })(),
  ];
  // Seeded damage inside the declared length: flip octets of the AVP area, or cut an AVP's length field.
  for (let i = 0; i < random; i++) {
    const m = Buffer.from(request(c, validAvps(c, seed + i), 0x2000 + i));
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) {
      const at = 20 + Math.floor(rnd() * (m.length - 20));
      m[at] = Math.floor(rnd() * 256);
    }
    frames.push({
      name: `seed ${seed} mutation ${i} (${flips} octets)`,
      bytes: m,
      expect: { kind: 'answer-or-close' },
    });
  }
  return frames;
}
