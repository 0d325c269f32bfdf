/**
 * Hostile Diameter frames against the real Zh (HSS-mock) and Zn (BSF) listeners over TCP, from the seeded
 * generator test/hostile/diameter-frames.ts: every frame gets the answer RFC 6733 prescribes (5001/5005 with
 * Failed-AVP, 5014, 3008, 3009) or a closed connection, within a bound; neither process crashes and both still
 * answer a valid request afterwards.
 */
import { expect } from 'chai';
import { createConnection, type Socket } from 'node:net';
import { givenNetwork } from '../support/network.js';
import type { RunningNetwork } from '../../bin/network.js';
import { hostileFrames, request, validAvps, type FrameContext, type HostileFrame } from '../hostile/diameter-frames.js';
import {
  avp,
  decodeAvps,
  decodeMessage,
  encodeMessage,
  FLAG_E,
  FLAG_R,
  find,
  type DiameterMessage,
} from '../../shared/diameter/codec.js';
import { APP_ZH, APP_ZN, CMD, RC } from '../../shared/diameter/dictionary.js';
import { resultOf } from '../../shared/diameter/peer.js';
import { parseAaaUri } from '../../shared/diameter/identity.js';

const LAB_NAF = 'hostile.naf.test';
const SEED = 20261206;

/** A raw Diameter connection: messages framed by their length field, or 'close'. */
class Raw {
  #buf = Buffer.alloc(0);
  #closed = false;
  #wake?: () => void;
  private constructor(readonly s: Socket) {
    s.on('data', (d) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    s.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    s.on('error', () => undefined);
  }
  static async open(port: number): Promise<Raw> {
    const s = createConnection({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new Raw(s);
  }
  async next(timeoutMs: number): Promise<DiameterMessage | 'close' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buf.length >= 4) {
        const len = this.#buf.readUInt32BE(0) & 0xffffff;
        if (this.#buf.length >= len) {
          const m = this.#buf.subarray(0, len);
          this.#buf = this.#buf.subarray(len);
          return decodeMessage(m);
        }
      }
      if (this.#closed) return 'close';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }
}

function cer(originHost: string, realm: string, app: number): Buffer {
  return encodeMessage({
    flags: FLAG_R,
    commandCode: CMD.CE,
    applicationId: 0,
    hopByHop: 1,
    endToEnd: 1,
    avps: [
      avp('Origin-Host', originHost),
      avp('Origin-Realm', realm),
      avp('Host-IP-Address', '127.0.0.1'),
      avp('Vendor-Id', 0),
      avp('Product-Name', 'hostile'),
      avp('Vendor-Specific-Application-Id', [avp('Vendor-Id', 10415), avp('Auth-Application-Id', app)]),
    ],
  });
}

describe('hostile Diameter frames against the real Zh and Zn listeners (RFC 6733 §3, §4, §7)', function () {
  this.timeout(60000);
  let net: RunningNetwork & { logs: () => string };

  before(async () => {
    net = await givenNetwork({
      nfs: ['hss-mock', 'bsf'],
      config: {
        bsf: {
          ubPort: 0,
          znPort: 0,
          diameter: { port: 0 },
          nafs: [
            {
              name: 'hostile',
              token: 'hostile-naf-token-0123456789',
              fqdns: [{ fqdn: 'naf.hostile.test' }],
              diameterHost: LAB_NAF,
            },
          ],
        },
      },
    });
  });
  after(async () => {
    await net?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.logs());
  });

  for (const app of ['zh', 'zn'] as const) {
    it(`${app === 'zh' ? 'Zh (HSS-mock, MAR)' : 'Zn (BSF, BIR)'}: each frame is answered as RFC 6733 says or the connection is closed; the listener keeps serving`, async () => {
      const e = net.endpoints;
      const dia = app === 'zh' ? e.hss.diameter! : e.bsf.diameter!;
      const { port } = parseAaaUri(dia.uri);
      const me = app === 'zh' ? e.bsf.diameter!.host : LAB_NAF;
      const appId = app === 'zh' ? APP_ZH : APP_ZN;
      const ctx: FrameContext = {
        app,
        originHost: me,
        originRealm: 'hostile.test',
        destinationRealm: dia.realm,
        subject:
          app === 'zh'
            ? '001019999999999@ims.mnc001.mcc001.3gppnetwork.org'
            : `${Buffer.alloc(16, 3).toString('base64')}@${e.bsf.realm}`,
        nafFqdn: 'naf.hostile.test',
      };
      const frames = hostileFrames(ctx, SEED + (app === 'zh' ? 0 : 1));
      // The generator is pure: the same seed gives the same octets.
      expect(hostileFrames(ctx, SEED + (app === 'zh' ? 0 : 1)).map((f) => f.bytes.toString('hex'))).to.deep.equal(
        frames.map((f) => f.bytes.toString('hex')),
      );
      const outcome = async (f: HostileFrame) => {
        const c = await Raw.open(port);
        c.s.write(cer(me, 'hostile.test', appId));
        const cea = await c.next(5000);
        expect(cea !== 'close' && cea !== 'timeout' && resultOf(cea), `${f.name}: CEA`).to.equal(RC.SUCCESS);
        c.s.write(f.bytes);
        if (f.endAfter) c.s.end();
        const r = await c.next(5000);
        c.s.destroy();
        return r;
      };
      for (const f of frames) {
        const r = await outcome(f);
        expect(r, `${f.name}: neither an answer nor a close within 5 s`).not.to.equal('timeout');
        if (f.expect.kind === 'close') {
          expect(r, f.name).to.equal('close');
          continue;
        }
        if (r === 'close' || r === 'timeout') {
          expect(f.expect.kind, `${f.name}: closed instead of answering`).to.equal('answer-or-close');
          continue;
        }
        expect(r.flags & FLAG_R, `${f.name}: an answer`).to.equal(0);
        expect(r.hopByHop, `${f.name}: hop-by-hop copied`).to.equal(f.bytes.readUInt32BE(12));
        if (f.expect.kind !== 'answer') continue;
        expect(resultOf(r), f.name).to.equal(f.expect.resultCode);
        expect(r.flags & FLAG_E, `${f.name}: E bit only on 3xxx`).to.equal(f.expect.resultCode < 4000 ? FLAG_E : 0);
        if (f.expect.failedAvpCode !== undefined) {
          const failed = find(r.avps, 'Failed-AVP');
          expect(failed, `${f.name}: Failed-AVP`).to.not.equal(undefined);
          expect(
            decodeAvps(failed!.data).map((a) => a.code),
            `${f.name}: the AVP in Failed-AVP`,
          ).to.include(f.expect.failedAvpCode);
        }
      }
      // Still serving: a valid request on a fresh connection is answered (5401 unknown IMPI / 5403 unknown B-TID).
      const c = await Raw.open(port);
      c.s.write(cer(me, 'hostile.test', appId));
      await c.next(5000);
      c.s.write(request(ctx, validAvps(ctx), 0x4242));
      const a = await c.next(5000);
      c.s.destroy();
      expect(a !== 'close' && a !== 'timeout' && resultOf(a)).to.equal(
        app === 'zh' ? RC.IDENTITY_UNKNOWN : RC.TRANSACTION_IDENTIFIER_INVALID,
      );
      for (const [nf, child] of net.children) expect(child.exitCode, `${nf} still running`).to.equal(null);
    });
  }
});
