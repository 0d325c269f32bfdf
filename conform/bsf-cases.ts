/**
 * The BSF conformance catalogue (issue 17, contract C8): UB-01…UB-13 against the Ub URL and ZN-01, ZN-02
 * against Zn, with one test subscriber the user provisioned at the BSF's HSS. Case ids and their meaning are
 * a contract. Each case runs on its own software USIM (starting at --sqn-ms), computes its expectations from
 * K/OPc itself and checks only what its row says, so one defect fails the one case about it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { akaPassword } from '../shared/crypto/digest.js';
import { createAkaAlgorithm, type SubscriberKeys } from '../shared/crypto/aka-algorithm.js';
import { openAutn } from '../shared/crypto/aka-tokens.js';
import { ks as ksOf, ksNaf } from '../shared/crypto/kdf.js';
import { sqnFromBytes, UsimSqnState } from '../shared/crypto/sqn.js';
import { BSF_XML_CONTENT_TYPE, GBA_NAMESPACE } from '../shared/wire/bsf-xml.js';
import { formatDigest } from '../shared/wire/digest-header.js';
import { SoftUsim } from '../device/usim.js';
import { describe, header, HttpClient } from './http.js';
import {
  answer,
  bootstrap,
  CaseFail,
  CaseSkip,
  checkRspauth,
  fail,
  initialAuthorization,
  readChallenge,
  send,
  type UeContext,
} from './ue.js';

export type CaseResult = 'pass' | 'fail' | 'skip';
export interface CaseReport {
  id: string;
  title: string;
  clause: string;
  result: CaseResult;
  detail: string;
  ms: number;
}
/** The C8 JSON report. */
export interface ConformReport {
  target: string;
  cases: CaseReport[];
  passed: number;
  failed: number;
  skipped: number;
}

export interface ConformTarget {
  ub: string;
  impi: string;
  /** The BSF realm expected in the challenge and the B-TID: the BSF domain of the home network (TS 23.003 §16.2). */
  realm: string;
  /** For ZN-01's expectations and UB-11's unknown identity. */
  imsi?: string;
  keys: SubscriberKeys;
  /** The software USIM's highest accepted SQN when each case starts. */
  sqnMs: number;
  zn?: { url: string; token: string; nafFqdn: string };
  timeoutMs?: number;
}

interface Ctx extends UeContext {
  t: ConformTarget;
  newUsim(sqnMs?: number): SoftUsim;
}

interface CaseDef {
  id: string;
  title: string;
  clause: string;
  run(ctx: Ctx): Promise<string>;
}

const IND_BITS = 5;
const hex12 = (n: number) => n.toString(16).padStart(12, '0');
/** Ua security protocol id of HTTP Digest over Ua, the NAF's own (TS 33.220 Annex H). */
const UA_ID_DIGEST = Buffer.from('0100000002', 'hex');

async function initialChallenge(ctx: Ctx) {
  return readChallenge(await send(ctx, initialAuthorization(ctx.impi, ctx.realm, ctx.uri)));
}

/** Not 200 and not 5xx: what a refused request must get (the row says which status is expected beyond that). */
function refused(what: string, r: { status: number }, rDescr: string): void {
  if (r.status === 200) fail(`${what}: expected a refusal, got 200 — ${rDescr}`);
  if (r.status === 0 || r.status >= 500) fail(`${what}: expected a 4xx refusal, got ${rDescr}`);
}

export const CATALOGUE: readonly CaseDef[] = [
  {
    id: 'UB-01',
    clause: 'TS 24.109 §4.4.2, RFC 3310 §3.1',
    title: 'initial request → 401 Digest AKA challenge (realm, nonce = base64(RAND‖AUTN), AKAv1/2-MD5, qop auth-int)',
    async run(ctx) {
      const r = await send(ctx, initialAuthorization(ctx.impi, ctx.realm, ctx.uri));
      const ch = readChallenge(r);
      const problems: string[] = [];
      if (ch.realm !== ctx.t.realm)
        problems.push(
          `realm ${JSON.stringify(ch.realm)}, expected the BSF realm ${JSON.stringify(ctx.t.realm)}${ch.realm === new URL(ctx.t.ub).host ? ' (it is the Host header echoed)' : ''}`,
        );
      const alg = ch.params.get('algorithm');
      if (!alg || !/^AKAv[12]-MD5$/i.test(alg))
        problems.push(
          `algorithm ${alg === undefined ? '(absent)' : JSON.stringify(alg)}, expected AKAv1-MD5 or AKAv2-MD5`,
        );
      const qops = (ch.params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
      if (!qops.includes('auth-int'))
        problems.push(`qop ${JSON.stringify(ch.params.get('qop') ?? '(absent)')}, expected it to offer auth-int`);
      if (problems.length) fail(problems.join('; '));
      return `401, realm ${ch.realm}, ${alg}, qop ${ch.params.get('qop')}`;
    },
  },
  {
    id: 'UB-02',
    clause: 'TS 33.102 §6.3.3',
    title: "AUTN verifies under the subscriber's K/OPc (MAC-A) and its SQN is fresh",
    async run(ctx) {
      const ch = await initialChallenge(ctx);
      const o = openAutn(createAkaAlgorithm(ctx.t.keys), ch.rand, ch.autn);
      if (!o.macOk)
        fail(
          `MAC-A in AUTN ${ch.autn.toString('hex')} does not verify under the subscriber's K/OPc (RAND ${ch.rand.toString('hex')})`,
        );
      const sqn = sqnFromBytes(o.sqn);
      const state = new UsimSqnState(ctx.t.sqnMs, IND_BITS);
      if (!state.isFresh(sqn))
        fail(`SQN ${hex12(sqn)} is not fresh for a USIM with SQN_MS ${hex12(ctx.t.sqnMs)} (TS 33.102 Annex C)`);
      return `MAC-A verifies, SQN ${hex12(sqn)}`;
    },
  },
  {
    id: 'UB-03',
    clause: 'TS 24.109 §4.4.4, Annex C',
    title:
      'correct response → 200 application/vnd.3gpp.bsf+xml BootstrappingInfo (uri:3gpp-gba) with btid and lifetime',
    async run(ctx) {
      const b = await bootstrap(ctx, ctx.newUsim());
      const problems: string[] = [];
      const ct = header(b.final, 'content-type') ?? '';
      if (ct.split(';')[0]!.trim().toLowerCase() !== BSF_XML_CONTENT_TYPE)
        problems.push(`Content-Type ${JSON.stringify(ct || '(absent)')}, expected ${BSF_XML_CONTENT_TYPE}`);
      const body = b.final.body.replace(/^\uFEFF?\s*(<\?xml[^?]*\?>)?\s*/, '');
      const root = /^<(?:([A-Za-z_][\w.-]*):)?BootstrappingInfo(\s[^>]*)?>/.exec(body);
      if (!root)
        problems.push(`body is not a BootstrappingInfo document: ${JSON.stringify(b.final.body.slice(0, 160))}`);
      else {
        const nsAttr = root[1] ? `xmlns:${root[1]}` : 'xmlns';
        const ns = new RegExp(`${nsAttr}\\s*=\\s*["']([^"']*)["']`).exec(root[2] ?? '')?.[1];
        if (ns !== GBA_NAMESPACE)
          problems.push(`namespace ${JSON.stringify(ns ?? '(none)')}, expected ${GBA_NAMESPACE}`);
      }
      if (!b.btid) problems.push('no <btid> element');
      if (!b.lifetime) problems.push('no <lifetime> element');
      if (problems.length) fail(problems.join('; '));
      return `200, btid ${b.btid}`;
    },
  },
  {
    id: 'UB-04',
    clause: 'TS 33.220 §4.5.2',
    title: 'B-TID = base64(RAND) "@" BSF realm',
    async run(ctx) {
      const b = await bootstrap(ctx, ctx.newUsim());
      if (!b.btid) fail('no <btid> in the 200 body');
      const want = `${b.challenge.rand.toString('base64')}@${ctx.t.realm}`;
      if (b.btid !== want) {
        const [local, domain] = [
          b.btid!.slice(0, b.btid!.lastIndexOf('@')),
          b.btid!.slice(b.btid!.lastIndexOf('@') + 1),
        ];
        const why = !b.btid!.includes('@')
          ? 'no "@"'
          : local !== b.challenge.rand.toString('base64')
            ? `the part before "@" is not base64(RAND) ${b.challenge.rand.toString('base64')}`
            : `the domain ${JSON.stringify(domain)} is not the BSF realm`;
        fail(`B-TID ${JSON.stringify(b.btid)}, expected ${JSON.stringify(want)}: ${why}`);
      }
      return `B-TID ${b.btid}`;
    },
  },
  {
    id: 'UB-05',
    clause: 'TS 24.109 Annex C',
    title: 'lifetime is an xs:dateTime in the future',
    async run(ctx) {
      const b = await bootstrap(ctx, ctx.newUsim());
      const l = b.lifetime;
      if (!l) fail('no <lifetime> in the 200 body');
      if (!/^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(l!))
        fail(`lifetime ${JSON.stringify(l)} is not an xs:dateTime`);
      const ms = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(l!) ? l! : `${l}Z`);
      if (Number.isNaN(ms)) fail(`lifetime ${JSON.stringify(l)} is not a valid date`);
      if (ms <= Date.now()) fail(`lifetime ${l} is not in the future (now ${new Date().toISOString()})`);
      return `lifetime ${l}`;
    },
  },
  {
    id: 'UB-06',
    clause: 'RFC 3310 §3.4, RFC 2617 §3.2.3',
    title: 'Authentication-Info rspauth verifies (qop auth-int, over the response body)',
    async run(ctx) {
      const b = await bootstrap(ctx, ctx.newUsim());
      const c = checkRspauth(ctx, b);
      if (!c.present)
        throw new CaseSkip(
          'the 200 has no Authentication-Info: the BSF does not authenticate itself to the UE (optional in RFC 2617 §3.2.3)',
        );
      if (!c.ok) fail(c.detail);
      return c.detail;
    },
  },
  {
    id: 'UB-07',
    clause: 'TS 24.109 §4.4.x',
    title: 'a wrong response → not 200 (401 with a fresh challenge expected)',
    async run(ctx) {
      const ch = await initialChallenge(ctx);
      const r = await send(ctx, answer(ctx, ch, Buffer.alloc(0), [], randomBytes(16).toString('hex')).authorization);
      refused('a wrong digest response', r, describe(r));
      if (r.status !== 401) return `refused with ${describe(r)} (401 with a fresh challenge was expected)`;
      try {
        const again = readChallenge(r, 'the answer to a wrong response');
        return again.nonce === ch.nonce
          ? '401 with the same nonce again (a fresh one was expected)'
          : '401 with a fresh challenge';
      } catch (err) {
        return `401 without a usable challenge (${(err as Error).message})`;
      }
    },
  },
  {
    id: 'UB-08',
    clause: 'TS 33.220 §4.5.2 (replay), RFC 2617 §4.5',
    title: 'the same final request replayed → not 200',
    async run(ctx) {
      const b = await bootstrap(ctx, ctx.newUsim());
      const r = await send(ctx, b.answer.authorization);
      refused('the replayed final request', r, describe(r));
      return `replay refused: ${describe(r)}`;
    },
  },
  {
    id: 'UB-09',
    clause: 'TS 24.109 §4.4.6, TS 33.102 §6.3.5',
    title: "USIM's SQN ahead: AUTS → fresh challenge with SQN > SQN_MS, which then succeeds",
    async run(ctx) {
      const ch = await initialChallenge(ctx);
      const o = openAutn(createAkaAlgorithm(ctx.t.keys), ch.rand, ch.autn);
      if (!o.macOk) fail('cannot run: MAC-A of the first challenge does not verify (see UB-02)');
      // A USIM that has already seen SQNs 64 SEQs beyond the one offered (any IND): the offered one is stale.
      const sqnMs = Math.max(sqnFromBytes(o.sqn), ctx.t.sqnMs) + 64 * 2 ** IND_BITS;
      const usim = ctx.newUsim(sqnMs);
      const a = usim.authenticate(ch.rand, ch.autn);
      if (a.kind !== 'sync_failure')
        fail(`cannot run: the USIM at SQN_MS ${hex12(sqnMs)} did not report a synchronisation failure`);
      const auts = (a as { auts: Buffer }).auts;
      const r = await send(
        ctx,
        answer(ctx, ch, Buffer.alloc(0), [['auts', auts.toString('base64'), true]]).authorization,
      );
      const ch2 = readChallenge(r, `the answer with AUTS (SQN_MS ${hex12(sqnMs)})`);
      if (ch2.nonce === ch.nonce) fail('the answer with AUTS repeated the same challenge');
      const o2 = openAutn(createAkaAlgorithm(ctx.t.keys), ch2.rand, ch2.autn);
      if (!o2.macOk) fail('MAC-A of the challenge after AUTS does not verify');
      const sqn2 = sqnFromBytes(o2.sqn);
      if (sqn2 <= sqnMs)
        fail(
          `the challenge after AUTS has SQN ${hex12(sqn2)}, not above SQN_MS ${hex12(sqnMs)}: the HSS did not resynchronise`,
        );
      const a2 = usim.authenticate(ch2.rand, ch2.autn);
      if (a2.kind !== 'ok') fail(`the USIM rejects the challenge after AUTS (${a2.kind}, SQN ${hex12(sqn2)})`);
      const ok = a2 as { res: Buffer; ck: Buffer; ik: Buffer };
      const final = await send(ctx, answer(ctx, ch2, akaPassword(ch2.algorithm, ok.res, ok.ck, ok.ik)).authorization);
      if (final.status !== 200)
        fail(`the correct response to the challenge after AUTS should get 200, got ${describe(final)}`);
      return `resynchronised: SQN_MS ${hex12(sqnMs)} → SQN ${hex12(sqn2)}, then 200`;
    },
  },
  {
    id: 'UB-10',
    clause: 'RFC 3310 §3.3',
    title: 'a reported MAC failure (response with the empty password) → not 200',
    async run(ctx) {
      const ch = await initialChallenge(ctx);
      const r = await send(ctx, answer(ctx, ch, Buffer.alloc(0)).authorization);
      refused('the MAC failure report', r, describe(r));
      return `refused: ${describe(r)}`;
    },
  },
  {
    id: 'UB-11',
    clause: 'TS 24.109 §4.4.x',
    title: 'unknown IMPI → 4xx, never 200 or 5xx',
    async run(ctx) {
      const impi = unknownImpi(ctx.t);
      const r = await send({ ...ctx, impi }, initialAuthorization(impi, ctx.realm, ctx.uri));
      if (r.status < 400 || r.status >= 500) fail(`unknown IMPI ${impi}: expected 4xx, got ${describe(r)}`);
      return `${impi}: ${describe(r)}`;
    },
  },
  {
    id: 'UB-12',
    clause: 'robustness',
    title: 'malformed Authorization headers → 4xx, never 5xx, and the BSF keeps answering',
    async run(ctx) {
      const bad: Array<[string, string | undefined]> = [
        ['no Authorization', undefined],
        ['scheme only', 'Digest'],
        ['unterminated quoted string', `Digest username="${ctx.impi}`],
        ['parameter without value', 'Digest username='],
        [
          'duplicate username',
          `Digest username="${ctx.impi}", username="x", realm="${ctx.realm}", nonce="", uri="${ctx.uri}", response=""`,
        ],
        ['Basic scheme', 'Basic Zm9vOmJhcg=='],
        ['empty username', `Digest username="", realm="${ctx.realm}", nonce="", uri="${ctx.uri}", response=""`],
        [
          'nonce that is not base64',
          formatDigest([
            ['username', ctx.impi, true],
            ['realm', ctx.realm, true],
            ['nonce', '%%%not-base64%%%', true],
            ['uri', ctx.uri, true],
            ['qop', 'auth-int', false],
            ['nc', '00000001', false],
            ['cnonce', 'abc', true],
            ['response', '0'.repeat(32), true],
          ]),
        ],
        [
          'nc not hex',
          formatDigest([
            ['username', ctx.impi, true],
            ['realm', ctx.realm, true],
            ['nonce', randomBytes(32).toString('base64'), true],
            ['uri', ctx.uri, true],
            ['qop', 'auth-int', false],
            ['nc', 'zz', false],
            ['cnonce', 'abc', true],
            ['response', '0'.repeat(32), true],
          ]),
        ],
        [
          'auts of the wrong length',
          formatDigest([
            ['username', ctx.impi, true],
            ['realm', ctx.realm, true],
            ['nonce', randomBytes(32).toString('base64'), true],
            ['uri', ctx.uri, true],
            ['qop', 'auth-int', false],
            ['nc', '00000001', false],
            ['cnonce', 'abc', true],
            ['response', '0'.repeat(32), true],
            ['auts', 'AAAA', true],
          ]),
        ],
        [
          '8 KB username',
          `Digest username="${'a'.repeat(8000)}", realm="${ctx.realm}", nonce="", uri="${ctx.uri}", response=""`,
        ],
        ['stray commas', `Digest ,,, username="${ctx.impi}",,`],
      ];
      const problems: string[] = [];
      for (const [name, value] of bad) {
        const r = await send(ctx, value);
        if (r.status === 0 || r.status >= 500 || r.status < 400)
          problems.push(`${name}: expected 4xx, got ${describe(r)}`);
      }
      const after = await send(ctx, initialAuthorization(ctx.impi, ctx.realm, ctx.uri));
      if (after.status !== 401)
        problems.push(`afterwards a well-formed initial request got ${describe(after)}, expected 401`);
      if (problems.length) fail(problems.join('; '));
      return `${bad.length} malformed requests refused with 4xx; the BSF still answers`;
    },
  },
  {
    id: 'UB-13',
    clause: 'TS 33.220 §4.5.2',
    title: 'two bootstraps give different RANDs and B-TIDs',
    async run(ctx) {
      const usim = ctx.newUsim();
      const one = await bootstrap(ctx, usim, 'first bootstrap');
      const two = await bootstrap(ctx, usim, 'second bootstrap');
      const problems: string[] = [];
      if (one.challenge.rand.equals(two.challenge.rand))
        problems.push(`RAND ${one.challenge.rand.toString('hex')} repeated`);
      if (one.btid === two.btid) problems.push(`B-TID ${one.btid} repeated`);
      if (problems.length) fail(problems.join('; '));
      return `${one.btid} ≠ ${two.btid}`;
    },
  },
  {
    id: 'ZN-01',
    clause: 'TS 33.220 Annex B, TS 29.309',
    title: 'Zn returns Ks_NAF equal to the UE-side derivation',
    async run(ctx) {
      const zn = znOf(ctx);
      const b = await bootstrap(ctx, ctx.newUsim());
      if (!b.btid) fail('no B-TID from the bootstrap');
      const r = await znRequest(ctx, zn, b.btid!);
      if (r.status !== 200)
        fail(`Zn for B-TID ${b.btid} (NAF ${zn.nafFqdn}, Ua id 0100000002): expected 200, got ${describe(r)}`);
      let got: unknown;
      try {
        got = (JSON.parse(r.body) as { meKeyMaterial?: unknown }).meKeyMaterial;
      } catch {
        fail(`Zn answer is not JSON: ${r.body.slice(0, 160)}`);
      }
      const want = ksNaf({
        ks: ksOf(b.ck, b.ik),
        rand: b.challenge.rand,
        impi: ctx.impi,
        nafFqdn: zn.nafFqdn,
        uaSecProtId: UA_ID_DIGEST,
      });
      // TS 29.309 carries meKeyMaterial as bytes; hex here, base64 tolerated.
      const asHex =
        typeof got === 'string' && /^[0-9a-fA-F]{64}$/.test(got)
          ? got.toLowerCase()
          : typeof got === 'string'
            ? Buffer.from(got, 'base64').toString('hex')
            : undefined;
      if (asHex !== want.toString('hex'))
        fail(
          `meKeyMaterial ${JSON.stringify(got)}, expected Ks_NAF ${want.toString('hex')} (KDF of Annex B.3 with NAF_Id ${zn.nafFqdn} ‖ 0100000002)`,
        );
      return 'Ks_NAF matches';
    },
  },
  {
    id: 'ZN-02',
    clause: 'TS 29.309',
    title: 'Zn for an unknown B-TID → 404',
    async run(ctx) {
      const zn = znOf(ctx);
      const btid = `${randomBytes(16).toString('base64')}@${ctx.t.realm}`;
      const r = await znRequest(ctx, zn, btid);
      if (r.status !== 404) fail(`Zn for the unknown B-TID ${btid}: expected 404, got ${describe(r)}`);
      return '404';
    },
  },
];

function znOf(ctx: Ctx): NonNullable<ConformTarget['zn']> {
  if (!ctx.t.zn) throw new CaseSkip('no --zn given (with --zn-token and --naf-fqdn)');
  return ctx.t.zn;
}

function znRequest(ctx: Ctx, zn: NonNullable<ConformTarget['zn']>, btId: string) {
  const url = new URL(`${zn.url.replace(/\/$/, '')}/bootstrapping-info-retrieval`);
  return ctx.http.send(
    'POST',
    url,
    { authorization: `Bearer ${zn.token}`, 'content-type': 'application/json', accept: 'application/json' },
    JSON.stringify({ btId, nafId: { nafFqdn: zn.nafFqdn, uaSecProtId: '0100000002' } }),
  );
}

/** An identity nobody provisioned: a random MSIN in the subscriber's home network, or a random local part. */
function unknownImpi(t: ConformTarget): string {
  const at = t.impi.lastIndexOf('@');
  const domain = at >= 0 ? t.impi.slice(at + 1) : 'ims.mnc001.mcc001.3gppnetwork.org';
  if (t.imsi && t.impi.startsWith(`${t.imsi}@`)) {
    let msin = '';
    for (let i = 5; i < t.imsi.length; i++) msin += String(randomInt(10));
    return `${t.imsi.slice(0, 5)}${msin}@${domain}`;
  }
  return `conform-unknown-${randomBytes(6).toString('hex')}@${domain}`;
}

export interface RunOptions {
  /** Called as each case finishes (the CLI prints its line). */
  onCase?: (c: CaseReport) => void;
  /** Run only these ids (tests). */
  only?: readonly string[];
}

/** Runs the catalogue in order; a case that throws anything but CaseSkip fails with the message as evidence. */
export async function runConformance(t: ConformTarget, o: RunOptions = {}): Promise<ConformReport> {
  const ub = new URL(t.ub);
  const http = new HttpClient(ub, t.timeoutMs ?? 10_000);
  const ctx: Ctx = {
    t,
    http,
    impi: t.impi,
    realm: t.realm,
    uri: ub.pathname + ub.search,
    newUsim: (sqnMs = t.sqnMs) => new SoftUsim({ ...t.keys, sqnMs, indBits: IND_BITS }),
  };
  const cases: CaseReport[] = [];
  try {
    for (const c of CATALOGUE) {
      if (o.only && !o.only.includes(c.id)) continue;
      const t0 = performance.now();
      let result: CaseResult = 'pass',
        detail = '';
      try {
        detail = await c.run(ctx);
      } catch (err) {
        if (err instanceof CaseSkip) {
          result = 'skip';
          detail = err.message;
        } else if (err instanceof CaseFail) {
          result = 'fail';
          detail = err.message;
        } else {
          result = 'fail';
          detail = `runner error: ${(err as Error).message}`;
        }
      }
      if (result === 'fail' && !detail) detail = 'failed without evidence';
      const rep: CaseReport = {
        id: c.id,
        title: c.title,
        clause: c.clause,
        result,
        detail,
        ms: Math.round(performance.now() - t0),
      };
      cases.push(rep);
      o.onCase?.(rep);
    }
  } finally {
    http.close();
  }
  return {
    target: t.ub,
    cases,
    passed: cases.filter((c) => c.result === 'pass').length,
    failed: cases.filter((c) => c.result === 'fail').length,
    skipped: cases.filter((c) => c.result === 'skip').length,
  };
}

/** The C8 JSON report (without the per-case timing, which only the JUnit file carries). */
export function reportJson(r: ConformReport): object {
  return {
    target: r.target,
    cases: r.cases.map(({ id, title, clause, result, detail }) => ({ id, title, clause, result, detail })),
    passed: r.passed,
    failed: r.failed,
    skipped: r.skipped,
  };
}

/** One line per case: `UB-03 pass  title — evidence` (failure lines carry the evidence, expected vs got). */
export function caseLine(c: CaseReport): string {
  const tag = c.result === 'pass' ? 'pass' : c.result === 'fail' ? 'FAIL' : 'skip';
  return `${c.id} ${tag} ${c.title}${c.detail ? ` — ${c.detail}` : ''}`;
}

const xmlEscape = (s: string): string =>
  s
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 has no place for most control characters.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML as CI systems read it (one testcase per case, one <failure> per failed case, <skipped> for skips). */
export function junitXml(r: ConformReport, suite = 'gba-sim conform bsf'): string {
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const total = r.cases.reduce((a, c) => a + c.ms, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(suite)}" tests="${r.cases.length}" failures="${r.failed}" skipped="${r.skipped}" errors="0" time="${secs(total)}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${r.cases.length}" failures="${r.failed}" skipped="${r.skipped}" errors="0" time="${secs(total)}" timestamp="${new Date().toISOString().replace(/\.\d+Z$/, '')}">`,
    `    <properties><property name="target" value="${xmlEscape(r.target)}"/></properties>`,
  ];
  for (const c of r.cases) {
    const head = `    <testcase classname="conform.bsf" name="${xmlEscape(`${c.id} ${c.title}`)}" time="${secs(c.ms)}"`;
    if (c.result === 'pass') {
      lines.push(`${head}/>`);
      continue;
    }
    lines.push(`${head}>`);
    if (c.result === 'fail')
      lines.push(
        `      <failure message="${xmlEscape(`${c.id}: ${c.detail}`.slice(0, 1000))}" type="${xmlEscape(c.clause)}">${xmlEscape(`${c.id} (${c.clause}): ${c.detail}`)}</failure>`,
      );
    else lines.push(`      <skipped message="${xmlEscape(c.detail)}"/>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
