/** UbHandler without sockets: a fake ZhService, the in-memory stores, and the device's Digest client flow. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { UbHandler, type UbDeps } from '../../../bsf/ub.js';
import { DigestAnswer, findDigestChallenge } from '../../../device/digest-client.js';
import type { AuthVector } from '../../../shared/crypto/aka-tokens.js';
import { akaPassword } from '../../../shared/crypto/digest.js';
import type { HttpResponse } from '../../../shared/http/server.js';
import { silentLogger } from '../../../shared/log.js';
import { Counter } from '../../../shared/metrics.js';
import { HssRefused, PeerUnavailable, UserUnknown } from '../../../shared/services/errors.js';
import type { ResyncInfo, ZhService } from '../../../shared/services/zh.js';
import { createMemoryStores } from '../../../shared/store/memory.js';
import type { Guss, Stores } from '../../../shared/store/types.js';
import { parseBootstrappingInfo } from '../../../shared/wire/bsf-xml.js';
import { formatDigest } from '../../../shared/wire/digest-header.js';
import { SourceRateLimiter } from '../../../shared/net/rate-limit.js';

const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';
const T0 = Date.parse('2030-01-01T00:00:00Z');

class FakeZh implements ZhService {
  vectors: AuthVector[] = [];
  resyncs: Array<{ impi: string; resync: ResyncInfo }> = [];
  fail: Error | undefined;
  resyncFail: Error | undefined;
  guss_: Guss | undefined = { bsfInfo: { lifeTime: 3600 } };
  async authVector(impi: string, resync?: ResyncInfo): Promise<AuthVector> {
    if (resync) {
      this.resyncs.push({ impi, resync });
      if (this.resyncFail) throw this.resyncFail;
    }
    if (this.fail) throw this.fail;
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
  async guss(): Promise<Guss | undefined> {
    return this.guss_;
  }
  async close(): Promise<void> {}
}

const header = (r: HttpResponse, name: string): string | undefined => {
  const v = r.headers?.[name] ?? r.headers?.[name.toLowerCase()];
  return v === undefined ? undefined : String(v);
};
const problemOf = (r: HttpResponse) => JSON.parse(String(r.body)) as { status: number; detail: string; cause?: string };

describe('bsf/ub.ts UbHandler (no sockets)', () => {
  let stores: Stores;
  let zh: FakeZh;
  let deps: UbDeps;
  let ub: UbHandler;
  beforeEach(() => {
    stores = createMemoryStores();
    zh = new FakeZh();
    deps = {
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
      now: () => T0,
    };
    ub = new UbHandler(deps);
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
  const answerTo = (r: HttpResponse) => {
    const ch = findDigestChallenge(header(r, 'WWW-Authenticate'))!;
    return new DigestAnswer(ch, { username: IMPI, method: 'GET', uri: '/', algorithm: 'AKAv1-MD5' });
  };

  it('challenges the first request with nonce = base64(RAND ‖ AUTN), AKAv1-MD5, qop auth-int', async () => {
    const r = await first();
    expect(r.status).to.equal(401);
    const av = zh.vectors[0]!;
    const ch = findDigestChallenge(header(r, 'WWW-Authenticate'))!;
    expect(ch.get('nonce')).to.equal(Buffer.concat([av.rand, av.autn]).toString('base64'));
    expect(ch.get('algorithm')).to.equal('AKAv1-MD5');
    expect(ch.get('qop')).to.equal('auth-int');
    expect(header(r, 'Content-Type')).to.equal('application/problem+json');
    expect(deps.challengesIssued.get({ reason: 'initial' })).to.equal(1);
  });

  it('accepts RES, creates the session and signs the body with rspauth; the nonce is single use', async () => {
    const c = await first();
    const a = answerTo(c);
    const av = zh.vectors[0]!;
    const { header: auth, ha1 } = a.authorization(akaPassword('AKAv1-MD5', av.xres));
    const r = await ub.handle({ method: 'GET', uri: '/', authorization: auth });
    expect(r.status).to.equal(200);
    expect(a.checkRspauth(header(r, 'Authentication-Info'), ha1, String(r.body))).to.equal('verified');
    const bi = parseBootstrappingInfo(String(r.body));
    expect(bi.lifetimeMs).to.equal(T0 + 3600_000); // GUSS lifeTime wins over the default
    const s = await stores.sessions.get(bi.btid);
    expect(s?.impi).to.equal(IMPI);
    expect(s?.ks.equals(Buffer.concat([av.ck, av.ik]))).to.equal(true);
    expect(deps.outcomes.get({ outcome: 'ok' })).to.equal(1);
    const replay = await ub.handle({ method: 'GET', uri: '/', authorization: auth });
    expect(replay.status).to.equal(401);
    expect(deps.challengesIssued.get({ reason: 'stale_nonce' })).to.equal(1);
  });

  it('a wrong RES gets a fresh challenge (401), not a 403', async () => {
    const a = answerTo(await first());
    const r = await ub.handle({ method: 'GET', uri: '/', authorization: a.authorization(randomBytes(8)).header });
    expect(r.status).to.equal(401);
    expect(zh.vectors).to.have.length(2);
    expect(deps.outcomes.get({ outcome: 'wrong_res' })).to.equal(1);
  });

  it('the empty password (RFC 3310 §3.3) is a MAC failure: 403 AUTHENTICATION_REJECTED', async () => {
    const a = answerTo(await first());
    const r = await ub.handle({ method: 'GET', uri: '/', authorization: a.authorization(Buffer.alloc(0)).header });
    expect(r.status).to.equal(403);
    expect(problemOf(r).cause).to.equal('AUTHENTICATION_REJECTED');
    expect(deps.outcomes.get({ outcome: 'mac_failure' })).to.equal(1);
  });

  it('AUTS goes to the HSS with the RAND of the refused challenge, and a new challenge follows', async () => {
    const a = answerTo(await first());
    const rand = zh.vectors[0]!.rand;
    const auts = randomBytes(14);
    const r = await ub.handle({
      method: 'GET',
      uri: '/',
      authorization: a.authorization(Buffer.alloc(0), [['auts', auts.toString('base64'), true]]).header,
    });
    expect(r.status).to.equal(401);
    expect(zh.resyncs).to.have.length(1);
    expect(zh.resyncs[0]!.resync.rand.equals(rand)).to.equal(true);
    expect(zh.resyncs[0]!.resync.auts.equals(auts)).to.equal(true);
    expect(deps.challengesIssued.get({ reason: 'resync' })).to.equal(1);
  });

  it('a refused resynchronisation is 403 and says "resynchronisation refused" once', async () => {
    zh.resyncFail = new HssRefused('MAC-S does not verify (TS 33.102 §6.3.5)');
    const a = answerTo(await first());
    const r = await ub.handle({
      method: 'GET',
      uri: '/',
      authorization: a.authorization(Buffer.alloc(0), [['auts', randomBytes(14).toString('base64'), true]]).header,
    });
    expect(r.status).to.equal(403);
    const { detail } = problemOf(r);
    expect(detail.match(/resynchronisation refused/g)).to.have.length(1);
    expect(detail).to.contain('MAC-S');
  });

  it('malformed AUTS, a foreign realm, a mismatching uri, a missing header and POST are refused with 4xx', async () => {
    const a = answerTo(await first());
    const badAuts = await ub.handle({
      method: 'GET',
      uri: '/',
      authorization: a.authorization(Buffer.alloc(0), [['auts', 'AAAA', true]]).header,
    });
    expect(badAuts.status).to.equal(400);
    const foreign = new DigestAnswer(
      new Map([
        ['realm', 'other.example'],
        ['nonce', 'x'],
        ['qop', 'auth-int'],
      ]),
      { username: IMPI, method: 'GET', uri: '/', algorithm: 'AKAv1-MD5' },
    );
    expect(
      (await ub.handle({ method: 'GET', uri: '/', authorization: foreign.authorization('p').header })).status,
    ).to.equal(400);
    expect(
      (await ub.handle({ method: 'GET', uri: '/other', authorization: a.authorization('p').header })).status,
    ).to.equal(400);
    expect((await ub.handle({ method: 'GET', uri: '/', authorization: undefined })).status).to.equal(400);
    const post = await ub.handle({ method: 'POST', uri: '/', authorization: undefined });
    expect(post.status).to.equal(405);
    expect(header(post, 'Allow')).to.equal('GET');
    expect(deps.outcomes.get({ outcome: 'malformed' })).to.equal(5);
  });

  it('an unknown IMPI is 403 USER_NOT_FOUND; an unreachable HSS is 503 with Retry-After', async () => {
    zh.fail = new UserUnknown(IMPI);
    const unknown = await first();
    expect(unknown.status).to.equal(403);
    expect(problemOf(unknown)).to.include({ cause: 'USER_NOT_FOUND' });
    zh.fail = new PeerUnavailable('down');
    const down = await first();
    expect(down.status).to.equal(503);
    expect(header(down, 'Retry-After')).to.equal('5');
  });

  describe('SQN burn limits (issue 18 finding 10)', () => {
    const initial = (remoteAddress?: string) =>
      ub.handle({
        method: 'GET',
        uri: '/',
        remoteAddress,
        authorization: formatDigest([
          ['username', IMPI, true],
          ['realm', REALM, true],
          ['nonce', '', true],
          ['uri', '/', true],
          ['response', '', true],
        ]),
      });

    it('32 outstanding challenges per IMPI: the 33rd initial request is 429 with Retry-After, and spends no vector', async () => {
      deps.throttled = new Counter('t', 't', ['reason']);
      ub = new UbHandler(deps);
      const issued = await Promise.all(Array.from({ length: 32 }, () => initial()));
      expect(issued.map((r) => r.status)).to.deep.equal(Array(32).fill(401));
      const refused = await initial();
      expect(refused.status).to.equal(429);
      expect(header(refused, 'Retry-After')).to.equal('30');
      expect(problemOf(refused).cause).to.equal('TOO_MANY_REQUESTS');
      expect(zh.vectors).to.have.length(32);
      expect(deps.throttled.get({ reason: 'outstanding_challenges' })).to.equal(1);
      // Answering one frees its slot.
      const a = answerTo(issued[0]!);
      const ok = await ub.handle({
        method: 'GET',
        uri: '/',
        authorization: a.authorization(akaPassword('AKAv1-MD5', zh.vectors[0]!.xres)).header,
      });
      expect(ok.status).to.equal(200);
      expect((await initial()).status).to.equal(401);
    });

    it('a burst of concurrent initial requests cannot overshoot the cap', async () => {
      const all = await Promise.all(Array.from({ length: 40 }, () => initial()));
      expect(all.filter((r) => r.status === 401)).to.have.length(32);
      expect(all.filter((r) => r.status === 429)).to.have.length(8);
      expect(zh.vectors).to.have.length(32);
    });

    it('per source address: over the rate, 429 with Retry-After and a counter; other addresses are served', async () => {
      const now = { ms: T0 };
      deps.throttled = new Counter('t', 't', ['reason']);
      deps.sourceLimiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 2, now: () => now.ms });
      ub = new UbHandler(deps);
      expect((await initial('192.0.2.1')).status).to.equal(401);
      expect((await initial('192.0.2.1')).status).to.equal(401);
      const refused = await initial('192.0.2.1');
      expect(refused.status).to.equal(429);
      expect(header(refused, 'Retry-After')).to.equal('1');
      expect(deps.throttled.get({ reason: 'source_rate' })).to.equal(1);
      expect((await initial('192.0.2.2')).status).to.equal(401);
      now.ms += 1000;
      expect((await initial('192.0.2.1')).status).to.equal(401);
      expect(zh.vectors).to.have.length(4);
    });
  });
});
