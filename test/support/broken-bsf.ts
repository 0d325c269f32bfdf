/**
 * A deliberately configurable BSF for the conformance runner's tests: a small node:http server that is its own
 * HSS (Milenage vectors for one subscriber) and can break the standards in one way at a time, each switch the
 * defect of one catalogue case (several are what fkgi/bag was seen to do: a 16-octet XRES, a B-TID that is
 * not base64(RAND), a realm echoed from Host). Written independently of bsf/ (network functions never
 * import each other, and a test BSF must not share the code under test).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createAkaAlgorithm } from '../../shared/crypto/aka-algorithm.js';
import { generateVector, recoverSqnMs } from '../../shared/crypto/aka-tokens.js';
import { computeRspauth, requestDigest, type Qop } from '../../shared/crypto/digest.js';
import { ks as ksOf, ksNaf } from '../../shared/crypto/kdf.js';
import { nextNetworkSqn, sqnFromBytes, sqnToBytes } from '../../shared/crypto/sqn.js';
import { parseDigestCredentials } from '../../shared/wire/digest-header.js';

export interface Defects {
  badMac?: boolean; // UB-02: AUTN with a wrong MAC-A
  noAuthInfo?: boolean; // UB-06 skip: 200 without Authentication-Info
  wrongRspauth?: boolean; // UB-06: rspauth that does not verify
  xres16?: boolean; // UB-03…: expects a 16-octet XRES, so the 8-octet Milenage RES never verifies
  btidNotRand?: boolean; // UB-04: B-TID not base64(RAND)
  realmFromHost?: boolean; // UB-01: realm echoed from Host
  qopAuthOnly?: boolean; // UB-01: qop="auth" only
  acceptReplay?: boolean; // UB-08: a nonce can be used again
  error500OnMalformed?: boolean; // UB-12: 500 for a header it cannot parse
  sameRand?: boolean; // UB-13: the same RAND every time
  acceptWrongResponse?: boolean; // UB-07: any response (but the empty-password one) gets 200
  acceptEmptyPassword?: boolean; // UB-10: the MAC failure report gets 200
  unknownImpi500?: boolean; // UB-11: 500 for an unknown IMPI
  refuseResync?: boolean; // UB-09: AUTS is refused with 403
  lifetimePast?: boolean; // UB-05: lifetime in the past
  wrongNamespace?: boolean; // UB-03: BootstrappingInfo in another namespace
  wrongKsNaf?: boolean; // ZN-01: a key that is not Ks_NAF
  znUnknown200?: boolean; // ZN-02: an unknown B-TID gets 200
}

export const BROKEN_DOMAIN = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
export const ZN_TOKEN = 'broken-bsf-zn-token';

interface Pending {
  rand: Buffer;
  xres: Buffer;
  ck: Buffer;
  ik: Buffer;
}

export class BrokenBsf {
  defects: Defects = {};
  #server?: Server;
  #sqnHe = 0;
  readonly #challenges = new Map<string, Pending>();
  readonly #sessions = new Map<string, { ks: Buffer; rand: Buffer }>();
  readonly #fixedRand = randomBytes(16);
  readonly #alg;

  constructor(
    readonly impi: string,
    k: Buffer,
    opc: Buffer,
  ) {
    this.#alg = createAkaAlgorithm({ algorithm: 'milenage', k, opc });
  }

  async start(): Promise<{ ub: string; zn: string }> {
    this.#server = createServer((req, res) => {
      void this.#route(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    const { port } = this.#server.address() as AddressInfo;
    return { ub: `http://127.0.0.1:${port}/`, zn: `http://127.0.0.1:${port}/zn` };
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'POST' && req.url === '/zn/bootstrapping-info-retrieval')
      return this.#zn(req, Buffer.concat(chunks).toString(), res);
    return this.#ub(req, res);
  }

  #send(res: ServerResponse, status: number, headers: Record<string, string>, body = ''): void {
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  #malformed(res: ServerResponse, why: string): void {
    this.#send(res, this.defects.error500OnMalformed ? 500 : 400, { 'content-type': 'text/plain' }, why);
  }

  #challenge(req: IncomingMessage, res: ServerResponse): void {
    this.#sqnHe = nextNetworkSqn(this.#sqnHe);
    const rand = this.defects.sameRand ? this.#fixedRand : randomBytes(16);
    const v = generateVector(this.#alg, rand, sqnToBytes(this.#sqnHe), Buffer.from('8000', 'hex'));
    if (this.defects.badMac) v.autn[15] ^= 0x01;
    const nonce = Buffer.concat([v.rand, v.autn]).toString('base64');
    // fkgi/bag-like: a 16-octet XRES (RES repeated), which an 8-octet Milenage RES never matches.
    this.#challenges.set(nonce, {
      rand: v.rand,
      xres: this.defects.xres16 ? Buffer.concat([v.xres, v.xres]) : v.xres,
      ck: v.ck,
      ik: v.ik,
    });
    const realm = this.defects.realmFromHost ? (req.headers.host ?? '') : BROKEN_DOMAIN;
    const qop = this.defects.qopAuthOnly ? 'auth' : 'auth-int';
    this.#send(
      res,
      401,
      { 'www-authenticate': `Digest realm="${realm}", nonce="${nonce}", algorithm=AKAv1-MD5, qop="${qop}"` },
      '',
    );
  }

  #ub(req: IncomingMessage, res: ServerResponse): void {
    const auth = req.headers.authorization;
    if (!auth) return this.#malformed(res, 'no Authorization');
    let p: Map<string, string>;
    try {
      p = parseDigestCredentials(auth);
    } catch (err) {
      return this.#malformed(res, (err as Error).message);
    }
    const username = p.get('username');
    if (!username) return this.#malformed(res, 'no username');
    if (username !== this.impi) return this.#send(res, this.defects.unknownImpi500 ? 500 : 403, {}, 'unknown IMPI');
    const nonce = p.get('nonce');
    if (!nonce) return this.#challenge(req, res);
    const c = this.#challenges.get(nonce);
    if (!c) return this.#challenge(req, res);
    if (!this.defects.acceptReplay) this.#challenges.delete(nonce);
    if (p.has('auts')) {
      const auts = Buffer.from(p.get('auts')!, 'base64');
      if (auts.length !== 14) return this.#malformed(res, 'auts length');
      if (this.defects.refuseResync) return this.#send(res, 403, {}, 'resynchronisation not supported');
      const r = recoverSqnMs(this.#alg, c.rand, auts);
      if (!r.macSOk) return this.#send(res, 403, {}, 'MAC-S');
      this.#sqnHe = Math.max(this.#sqnHe, sqnFromBytes(r.sqnMs));
      return this.#challenge(req, res);
    }
    const qop = p.get('qop') as Qop | undefined;
    const input = {
      username,
      realm: p.get('realm') ?? '',
      nonce,
      nc: p.get('nc'),
      cnonce: p.get('cnonce'),
      qop,
      method: 'GET',
      uri: p.get('uri') ?? '/',
    };
    const expected = requestDigest({ ...input, password: c.xres });
    const response = p.get('response') ?? '';
    const empty = requestDigest({ ...input, password: Buffer.alloc(0) }).response;
    if (response !== expected.response) {
      if (response === empty && !this.defects.acceptEmptyPassword)
        return this.#send(res, 403, {}, 'MAC failure reported');
      if (response !== empty && !this.defects.acceptWrongResponse) return this.#challenge(req, res);
    }
    const rand = this.defects.btidNotRand ? randomBytes(16) : c.rand;
    const btid = `${rand.toString('base64')}@${BROKEN_DOMAIN}`;
    this.#sessions.set(btid, { ks: ksOf(c.ck, c.ik), rand: c.rand });
    const lifetime = new Date(Date.now() + (this.defects.lifetimePast ? -3600_000 : 3600_000))
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    const ns = this.defects.wrongNamespace ? 'urn:example:not-gba' : 'uri:3gpp-gba';
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<BootstrappingInfo xmlns="${ns}"><btid>${btid}</btid><lifetime>${lifetime}</lifetime></BootstrappingInfo>\n`;
    let rspauth = computeRspauth(expected.ha1, input, body);
    if (this.defects.wrongRspauth) rspauth = `${rspauth.slice(0, 31)}${rspauth.endsWith('0') ? '1' : '0'}`;
    const headers: Record<string, string> = { 'content-type': 'application/vnd.3gpp.bsf+xml' };
    if (!this.defects.noAuthInfo)
      headers['authentication-info'] =
        `qop=${qop ?? 'auth-int'}, rspauth="${rspauth}", cnonce="${input.cnonce ?? ''}", nc=${input.nc ?? '00000001'}`;
    this.#send(res, 200, headers, body);
  }

  #zn(req: IncomingMessage, text: string, res: ServerResponse): void {
    if (req.headers.authorization !== `Bearer ${ZN_TOKEN}`)
      return this.#send(res, 401, { 'www-authenticate': 'Bearer' });
    const q = JSON.parse(text) as { btId: string; nafId: { nafFqdn: string; uaSecProtId: string } };
    const s = this.#sessions.get(q.btId);
    if (!s) {
      if (this.defects.znUnknown200)
        return this.#send(
          res,
          200,
          { 'content-type': 'application/json' },
          JSON.stringify({ meKeyMaterial: randomBytes(32).toString('hex') }),
        );
      return this.#send(
        res,
        404,
        { 'content-type': 'application/problem+json' },
        JSON.stringify({ status: 404, detail: 'unknown B-TID' }),
      );
    }
    const key = this.defects.wrongKsNaf
      ? randomBytes(32)
      : ksNaf({
          ks: s.ks,
          rand: s.rand,
          impi: this.impi,
          nafFqdn: q.nafId.nafFqdn,
          uaSecProtId: Buffer.from(q.nafId.uaSecProtId, 'hex'),
        });
    this.#send(
      res,
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({ meKeyMaterial: key.toString('hex'), impi: this.impi }),
    );
  }
}
