/**
 * The Ub handler under fault scenarios (C8), without sockets: a fake Zh, the in-memory stores, and a device that
 * gets it wrong (answers a faulted challenge with RES) — the paths our own agent never takes.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { UbHandler } from '../../../bsf/ub.js';
import { scenarioHooks, SCENARIO_REASONS, faultOfOpaque } from '../../../bsf/scenarios.js';
import { DigestAnswer, findDigestChallenge } from '../../../device/digest-client.js';
import type { AuthVector } from '../../../shared/crypto/aka-tokens.js';
import type { HttpResponse } from '../../../shared/http/server.js';
import { silentLogger } from '../../../shared/log.js';
import { Counter } from '../../../shared/metrics.js';
import type { ZhService } from '../../../shared/services/zh.js';
import { createMemoryStores } from '../../../shared/store/memory.js';
import type { Stores } from '../../../shared/store/types.js';
import { formatDigest } from '../../../shared/wire/digest-header.js';

const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';

class FakeZh implements ZhService {
  vectors: AuthVector[] = [];
  async authVector(): Promise<AuthVector> {
    const av = {
      rand: randomBytes(16),
      autn: randomBytes(16),
      xres: randomBytes(8),
      ck: randomBytes(16),
      ik: randomBytes(16),
    };
    this.vectors.push(av);
    return av;
  }
  async guss() {
    return undefined;
  }
  async close(): Promise<void> {}
}

const header = (r: HttpResponse, name: string) => String(r.headers?.[name] ?? '');

describe('bsf/ub.ts under fault scenarios (no sockets)', () => {
  let stores: Stores, zh: FakeZh, ub: UbHandler;
  const events: Array<{ outcome: string; reason: string }> = [];
  beforeEach(() => {
    stores = createMemoryStores();
    zh = new FakeZh();
    events.length = 0;
    ub = new UbHandler({
      domain: REALM,
      algorithm: 'AKAv1-MD5',
      lifetimeSec: 7200,
      challengeTtlMs: 30_000,
      zh,
      challenges: stores.challenges,
      sessions: stores.sessions,
      log: silentLogger,
      outcomes: new Counter('o', 'o', ['outcome']),
      challengesIssued: new Counter('c', 'c', ['reason']),
      now: Date.now,
      recorder: { onOutcome: (_impi, outcome, reason) => events.push({ outcome, reason }) },
      scenarios: scenarioHooks(stores.scenarios, silentLogger),
    });
  });
  afterEach(() => stores.close());

  const first = () =>
    ub.handle({
      method: 'GET',
      uri: '/',
      authorization: formatDigest([
        ['username', IMPI, true],
        ['realm', REALM, true],
        ['nonce', '', true],
        ['uri', '/', true],
        ['response', '', true],
      ]),
    });
  /** Answers with the RES of the vector the fake HSS issued last (what a device that ignores AUTN would send). */
  const answerWithRes = (r: HttpResponse, av: AuthVector) => {
    const a = new DigestAnswer(findDigestChallenge(header(r, 'WWW-Authenticate'))!, {
      username: IMPI,
      method: 'GET',
      uri: '/',
      algorithm: 'AKAv1-MD5',
    });
    return ub.handle({ method: 'GET', uri: '/', authorization: a.authorization(av.xres).header });
  };

  it("bad_mac: AUTN differs from the HSS's only in MAC-A; a device answering it with RES gets 403 and the timeline says it was wrong", async () => {
    await stores.scenarios.put({ impi: IMPI, fault: 'bad_mac', count: 1 });
    const r = await first();
    const nonce = Buffer.from(/nonce="([^"]+)"/.exec(header(r, 'WWW-Authenticate'))![1]!, 'base64');
    const av = zh.vectors.at(-1)!;
    expect(nonce.subarray(0, 16)).to.deep.equal(av.rand);
    expect(nonce.subarray(16, 31)).to.deep.equal(av.autn.subarray(0, 15));
    expect(nonce[31]).to.not.equal(av.autn[15]);
    expect(faultOfOpaque(/opaque="([^"]+)"/.exec(header(r, 'WWW-Authenticate'))![1])).to.equal('bad_mac');
    const res = await answerWithRes(r, av);
    expect(res.status).to.equal(403);
    expect(events.at(-1)).to.deep.equal({ outcome: 'mac_failure', reason: SCENARIO_REASONS.badMacAnswered });
    expect(await stores.scenarios.list()).to.deep.equal([]);
    expect((await first()).status, 'used up: the next initial request is normal').to.equal(401);
    expect(faultOfOpaque(/opaque="([^"]+)"/.exec(header(await first(), 'WWW-Authenticate'))![1])).to.equal(undefined);
  });

  it('stale_sqn: the last vector is replayed; a device accepting it gets 403; without a last vector a fresh one is sent and the timeline says why', async () => {
    await stores.scenarios.put({ impi: IMPI, fault: 'stale_sqn', count: 2 });
    const none = await first();
    expect(events.at(-1)).to.deep.equal({ outcome: 'sync_failure', reason: SCENARIO_REASONS.staleNoVector });
    const ok = await answerWithRes(none, zh.vectors.at(-1)!);
    expect(ok.status).to.equal(200);
    const used = zh.vectors.at(-1)!;
    await new Promise((r) => setImmediate(r));
    const replay = await first();
    const nonce = Buffer.from(/nonce="([^"]+)"/.exec(header(replay, 'WWW-Authenticate'))![1]!, 'base64');
    expect(nonce).to.deep.equal(Buffer.concat([used.rand, used.autn]));
    const res = await answerWithRes(replay, used);
    expect(res.status).to.equal(403);
    expect(events.at(-1)).to.deep.equal({ outcome: 'sync_failure', reason: SCENARIO_REASONS.staleAnswered });
  });

  it('a store that fails leaves Ub answering normally', async () => {
    stores.scenarios.take = async () => {
      throw new Error('store down');
    };
    expect((await first()).status).to.equal(401);
  });
});
