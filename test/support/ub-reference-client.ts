/**
 * An independent Ub client written from TS 24.109 Annex A and RFC 3310/2617 for the tests: its own header
 * formatting and parsing (regular expressions), its own MD5 digest arithmetic (node:crypto), and Milenage
 * outputs taken from the project's verified crypto core only for RES/CK/IK. It shares nothing with device/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Milenage } from '../../shared/crypto/milenage.js';

const md5 = (...p: Array<string | Buffer>) => {
  const h = createHash('md5');
  for (const x of p) h.update(x);
  return h.digest('hex');
};

export interface RefResult {
  status: number;
  btid?: string;
  lifetime?: string;
  body: string;
  headers: Headers;
  ck?: Buffer;
  ik?: Buffer;
  rand?: Buffer;
}

/** One complete bootstrap: initial request, challenge, answer. Returns the final response. */
export async function referenceBootstrap(
  bsfUrl: string,
  impi: string,
  k: Buffer,
  opc: Buffer,
  opts: { realm?: string; qop?: 'auth' | 'auth-int' } = {},
): Promise<RefResult> {
  const url = new URL(bsfUrl);
  const uri = url.pathname;
  const first = await fetch(url, {
    headers: {
      Authorization: `Digest username="${impi}", realm="${opts.realm ?? 'bsf.example'}", nonce="", uri="${uri}", response=""`,
    },
  });
  await first.text();
  if (first.status !== 401) return { status: first.status, body: '', headers: first.headers };
  const wa = first.headers.get('www-authenticate') ?? '';
  const param = (n: string) => new RegExp(`${n}="?([^",]*)"?`).exec(wa)?.[1];
  const nonce = param('nonce')!,
    realm = param('realm')!,
    opaque = param('opaque');
  const raw = Buffer.from(nonce, 'base64');
  const rand = raw.subarray(0, 16);
  const m = new Milenage(k, opc);
  const { res, ck, ik } = m.f2345(rand);
  const qop = opts.qop ?? 'auth-int';
  const cnonce = randomBytes(4).toString('hex');
  const ha1 = md5(`${impi}:${realm}:`, res);
  const ha2 = qop === 'auth-int' ? md5(`GET:${uri}:${md5('')}`) : md5(`GET:${uri}`);
  const response = md5(`${ha1}:${nonce}:00000001:${cnonce}:${qop}:${ha2}`);
  const second = await fetch(url, {
    headers: {
      Authorization: `Digest username="${impi}", realm="${realm}", nonce="${nonce}", uri="${uri}", qop=${qop}, nc=00000001, cnonce="${cnonce}", response="${response}"${opaque ? `, opaque="${opaque}"` : ''}, algorithm=AKAv1-MD5`,
    },
  });
  const body = await second.text();
  const out: RefResult = { status: second.status, body, headers: second.headers, ck, ik, rand };
  if (second.status === 200) {
    out.btid = /<btid>([^<]+)<\/btid>/.exec(body)?.[1];
    out.lifetime = /<lifetime>([^<]+)<\/lifetime>/.exec(body)?.[1];
    const ai = second.headers.get('authentication-info') ?? '';
    const rspauth = /rspauth="([0-9a-f]{32})"/.exec(ai)?.[1];
    const a2 = qop === 'auth-int' ? md5(`:${uri}:${md5(body)}`) : md5(`:${uri}`);
    if (rspauth !== md5(`${ha1}:${nonce}:00000001:${cnonce}:${qop}:${a2}`))
      throw new Error('reference client: rspauth does not verify');
  }
  return out;
}
