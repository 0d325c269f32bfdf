/**
 * Hostile HTTP inputs as pure functions (seed → input): Ub Authorization headers (TS 24.109 §4.4 HTTP Digest AKA,
 * RFC 7616 syntax) and JSON bodies for Zn (TS 29.309 Nbsp_GBA bootstrapping-info-retrieval) and the NAF PSK API.
 */
import { Rng } from './rng.js';

export interface HttpInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const REALM = 'bsf.mnc001.mcc001.pub.3gppnetwork.org';
const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';
const DIGEST_PARAMS = [
  'username',
  'realm',
  'nonce',
  'uri',
  'response',
  'algorithm',
  'qop',
  'nc',
  'cnonce',
  'opaque',
  'auts',
];

function junk(rng: Rng): string {
  return rng.pick([
    '',
    '"',
    '""',
    '\\',
    '\\"',
    ',',
    ',,,',
    '=',
    '"unterminated',
    'a'.repeat(rng.length(9000)),
    '\u00ff\u00fe',
    '%00',
    '${jndi:x}',
    '../../etc/passwd',
    String(-1),
    String(2 ** 64),
    'null',
    '0x',
    rng.str(rng.int(1, 64)),
    Buffer.from(rng.bytes(rng.int(1, 48))).toString('base64'),
  ]);
}

/** A Digest Authorization header for Ub, damaged one way or another. */
export function ubAuthorization(seed: number): string {
  const rng = new Rng(seed);
  const params: Array<[string, string]> = [
    ['username', IMPI],
    ['realm', REALM],
    ['nonce', Buffer.from(rng.bytes(rng.pick([0, 16, 32, 48]))).toString('base64')],
    ['uri', '/'],
    ['response', rng.bytes(16).toString('hex')],
    ['algorithm', rng.pick(['AKAv1-MD5', 'AKAv2-MD5', 'MD5', 'akav1-md5', ''])],
    ['qop', rng.pick(['auth', 'auth-int', 'auth,auth-int', ''])],
    ['nc', rng.pick(['00000001', 'zzzzzzzz', '1', ''])],
    ['cnonce', rng.str(8, 'abcdef0123456789')],
  ];
  if (rng.chance(0.2)) params.push(['auts', Buffer.from(rng.bytes(rng.pick([0, 14, 15, 22]))).toString('base64')]);
  for (let i = rng.int(1, 3); i > 0; i--) {
    const k = rng.int(0, params.length - 1);
    switch (rng.int(0, 6)) {
      case 0:
        params.splice(k, 1);
        break;
      case 1:
        params[k]![1] = junk(rng);
        break;
      case 2:
        params.push([params[k]![0], params[k]![1]]);
        break; // duplicate parameter
      case 3:
        params.push([rng.pick(DIGEST_PARAMS) + rng.str(rng.int(0, 3)), junk(rng)]);
        break;
      case 4:
        params[k]![0] = params[k]![0].toUpperCase();
        break;
      case 5:
        params.push([rng.str(rng.int(1, 300), 'abcxyz'), junk(rng)]);
        break;
      default:
        params[k]![1] = params[k]![1].repeat(rng.int(2, 200));
        break;
    }
  }
  const quote = (v: string) => (rng.chance(0.9) ? `"${v}"` : v);
  const sep = rng.pick([', ', ',', ' , ', ',\t', ' ']);
  const scheme = rng.pick(['Digest', 'Digest', 'Digest', 'digest', 'DIGEST', 'Basic', 'Bearer', '', 'Digest\t']);
  const header = `${scheme} ${params.map(([k, v]) => `${k}=${quote(v)}`).join(sep)}`;
  // Node refuses header values with CR, LF or NUL before sending; keep to what can go on the wire.
  return header.replace(/[\r\n\0]/g, ' ');
}

export function ubInput(seed: number): HttpInput {
  const rng = new Rng(seed ^ 0x5eed);
  const method = rng.pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS']);
  const path = rng.pick(['/', '/', '/', '/?x=1', `/${rng.str(rng.int(1, 40), 'abc%/.')}`]);
  return {
    method,
    path,
    headers: {
      authorization: ubAuthorization(seed),
      'user-agent': rng.pick(['3gpp-gba', 'x 3gpp-gba-uicc', rng.str(20)]),
    },
  };
}

function jsonJunk(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1]);
    case 3:
      return junk(rng);
    case 4:
      return rng.str(rng.length(5000));
    case 5:
      return '';
    case 6:
      return Array.from({ length: rng.int(0, 5) }, () => jsonJunk(rng, depth + 1));
    case 7:
      return { ['__proto__']: { polluted: true }, constructor: { prototype: { x: 1 } } };
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(0, 5) }, () => [rng.str(rng.int(0, 12)), jsonJunk(rng, depth + 1)]),
      );
  }
}

/** Damages a JSON document: a field replaced, removed, added, or the text itself cut or corrupted. */
function damage(rng: Rng, doc: Record<string, unknown>, fields: string[]): string {
  const d: Record<string, unknown> = structuredClone(doc);
  const target = (o: Record<string, unknown>, path: string[]): [Record<string, unknown>, string] => {
    let cur = o;
    for (const p of path.slice(0, -1)) {
      if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    return [cur, path[path.length - 1]!];
  };
  for (let i = rng.int(1, 3); i > 0; i--) {
    const [o, k] = target(d, rng.pick(fields).split('.'));
    switch (rng.int(0, 3)) {
      case 0:
        delete o[k];
        break;
      case 1:
        o[k] = jsonJunk(rng);
        break;
      case 2:
        d[rng.str(rng.int(1, 20))] = jsonJunk(rng);
        break;
      default:
        o[k] =
          typeof o[k] === 'string'
            ? (o[k] as string).toUpperCase() + rng.pick(['.', '..', '\u0000', ' ', '%2e'])
            : o[k];
        break;
    }
  }
  const text = JSON.stringify(d) ?? 'null';
  switch (rng.int(0, 9)) {
    case 0:
      return text.slice(0, rng.int(0, text.length));
    case 1:
      return text.replace(/[{}[\]]/, '');
    case 2:
      return `${text}${text}`;
    case 3:
      return '['.repeat(rng.int(100, 5000));
    default:
      return text;
  }
}

const BTID = () => `${Buffer.alloc(16, 7).toString('base64')}@${REALM}`;

/** A Zn bootstrapping-info-retrieval body (TS 29.309 §6.1.6.2.2 BootstrappingInfoReq), damaged. */
export function znBody(seed: number): string {
  const rng = new Rng(seed ^ 0x2a2a);
  const doc = {
    btId: BTID(),
    nafId: {
      nafFqdn: rng.pick([
        'naf.mnc001.mcc001.pub.3gppnetwork.org',
        'NAF.MNC001.MCC001.PUB.3GPPNETWORK.ORG.',
        'lwm2m.mnc001.mcc001.pub.3gppnetwork.org',
      ]),
      uaSecProtId: rng.pick(['010001c0a8', '0100000002', '01000100A8']),
    },
    gbaUAware: false,
    gsIds: ['x'],
  };
  return damage(rng, doc, ['btId', 'nafId', 'nafId.nafFqdn', 'nafId.uaSecProtId', 'gbaUAware', 'gsIds']);
}

/** A NAF PSK API lookup body ({"pskIdentity", "uaSecProtId"?}), damaged. */
export function pskBody(seed: number): string {
  const rng = new Rng(seed ^ 0x7070);
  const doc = {
    pskIdentity: rng.pick([
      `3GPP-bootstrapping.${BTID()}`,
      BTID(),
      `3GPP-bootstrapping-uicc.${BTID()}`,
      `3GPP-bootstrapping.${'A'.repeat(rng.length(9000))}`,
    ]),
    uaSecProtId: rng.pick(['010001c0a8', '01000100a8', 'zz']),
  };
  return damage(rng, doc, ['pskIdentity', 'uaSecProtId']);
}

export function jsonInput(seed: number, path: string, body: string, token: string): HttpInput {
  const rng = new Rng(seed ^ 0x1357);
  const ct = rng.pick([
    'application/json',
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/problem+json',
    '',
  ]);
  return {
    method: rng.chance(0.95) ? 'POST' : rng.pick(['GET', 'PUT']),
    path,
    headers: { authorization: `Bearer ${token}`, ...(ct ? { 'content-type': ct } : {}) },
    body,
  };
}
