/**
 * CoRE Link Format (RFC 6690) as LwM2M Register/Update carries it (Content-Format 40), and the LwM2M reading of a
 * Register payload (LwM2M Core 1.1 §6.2.1; docs/standards-notes/lwm2m-coap-dtls.md §3.1):
 *
 *   </>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>,</3303>;ver=1.1
 */
import { DecodeError, InputError } from '../errors.js';

export interface Link {
  /** The URI-Reference between "<" and ">". */
  path: string;
  /** Parameter values with any quoting removed; `true` for a parameter without a value. */
  params: Record<string, string | true>;
}

const FORMAT = 'link-format';

// RFC 3986 §2: unreserved, gen-delims, sub-delims (pct-encoded is checked separately).
const URI_CHAR = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]$/;
const PTOKEN_CHAR = /^[!#$%&'()*+\-./0-9:<=>?@A-Za-z[\]^_`{|}~]$/;
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;
const PTOKEN = /^[!#$%&'()*+\-./0-9:<=>?@A-Za-z[\]^_`{|}~]+$/;
const PARMNAME = /^[A-Za-z0-9!#$&+\-.^_`|~]+\*?$/;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  fail(reason: string): never {
    throw new DecodeError(FORMAT, reason, this.pos);
  }
  expect(c: string): void {
    if (this.text[this.pos] !== c) this.fail(this.atEnd ? `expected '${c}', got the end` : `expected '${c}'`);
    this.pos++;
  }
  while(test: RegExp): string {
    const start = this.pos;
    while (!this.atEnd && test.test(this.text[this.pos]!)) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

/**
 * RFC 6690 §2 (link-param alternatives other than link-extension are special cases of it and are read as such):
 *
 *   Link            = link-value-list
 *   link-value-list = [ link-value *[ "," link-value ]]
 *   link-value      = "<" URI-Reference ">" *( ";" link-param )
 *   link-extension  = ( parmname [ "=" ( ptoken / quoted-string ) ] )
 *                   / ( ext-name-star "=" ext-value )
 *   ptoken          = 1*ptokenchar
 *   ptokenchar      = "!" / "#" / "$" / "%" / "&" / "'" / "(" / ")" / "*" / "+" / "-" / "." / "/" / DIGIT
 *                   / ":" / "<" / "=" / ">" / "?" / "@" / ALPHA / "[" / "]" / "^" / "_" / "`" / "{" / "|"
 *                   / "}" / "~"
 *   parmname        = 1*attr-char                                  ; RFC 5987; ext-name-star = parmname "*"
 *   attr-char       = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
 *   quoted-string   = DQUOTE *( qdtext / quoted-pair ) DQUOTE    ; RFC 2616 §2.2
 *
 * No whitespace is allowed between the elements. A parameter repeated on one link is rejected, since `params`
 * cannot hold it. An empty input is an empty list.
 */
export function parseLinkFormat(input: string | Buffer): Link[] {
  const text = typeof input === 'string' ? input : utf8(input);
  const s = new Scanner(text);
  const links: Link[] = [];
  if (s.atEnd) return links;
  for (;;) {
    links.push(linkValue(s));
    if (s.atEnd) return links;
    s.expect(',');
  }
}

function utf8(b: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new DecodeError(FORMAT, 'payload is not valid UTF-8');
  }
}

// link-value = "<" URI-Reference ">" *( ";" link-param )
function linkValue(s: Scanner): Link {
  s.expect('<');
  const path = uriReference(s);
  s.expect('>');
  const params: Record<string, string | true> = {};
  while (s.peek() === ';') {
    s.pos++;
    const name = s.while(ATTR_CHAR) + (s.peek() === '*' ? (s.pos++, '*') : '');
    if (!PARMNAME.test(name)) s.fail('expected a parameter name');
    if (Object.hasOwn(params, name)) s.fail(`parameter '${name}' repeated`);
    if (s.peek() !== '=') {
      params[name] = true;
      continue;
    }
    s.pos++;
    if (s.peek() === '"') params[name] = quotedString(s);
    else {
      const v = s.while(PTOKEN_CHAR);
      if (v === '') s.fail(`parameter '${name}' has an empty value`);
      params[name] = v;
    }
  }
  return { path, params };
}

// URI-Reference (RFC 3986 §4.1), checked at the character level: its chars, or "%" HEXDIG HEXDIG.
function uriReference(s: Scanner): string {
  const start = s.pos;
  for (;;) {
    const c = s.peek();
    if (c === '%') {
      if (!/^%[0-9A-Fa-f]{2}$/.test(s.text.slice(s.pos, s.pos + 3))) s.fail('bad percent-encoding in URI');
      s.pos += 3;
    } else if (c !== undefined && URI_CHAR.test(c)) s.pos++;
    else return s.text.slice(start, s.pos);
  }
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; qdtext is any char but '"' and controls (SP and HT ok)
function quotedString(s: Scanner): string {
  s.expect('"');
  let out = '';
  for (;;) {
    const c = s.peek();
    if (c === undefined) s.fail('unterminated quoted string');
    s.pos++;
    if (c === '"') return out;
    if (c === '\\') {
      const next = s.peek();
      if (next === undefined || next.charCodeAt(0) > 0x7f) s.fail('bad quoted-pair');
      out += next;
      s.pos++;
      continue;
    }
    const code = c.charCodeAt(0);
    if ((code < 0x20 && c !== '\t') || code === 0x7f) s.fail('control character in quoted string');
    out += c;
  }
}

/**
 * Writes links. A value is written bare when it is a ptoken, and quoted otherwise or when its name is in `quoted`
 * (default rt, if, anchor, title: the relation-type style parameters conventionally quoted). For LwM2M 1.0,
 * which quotes `ver` (docs/standards-notes/lwm2m-coap-dtls.md §3.1), pass `quoted: [...DEFAULT_QUOTED, 'ver']`.
 */
export const DEFAULT_QUOTED: readonly string[] = ['rt', 'if', 'anchor', 'title'];

export function serializeLinkFormat(links: readonly Link[], opts: { quoted?: readonly string[] } = {}): string {
  const quoted = new Set(opts.quoted ?? DEFAULT_QUOTED);
  return links
    .map((link) => {
      if ([...link.path].some((c) => !URI_CHAR.test(c) && c !== '%'))
        throw new InputError(`link path '${link.path}' is not a URI-Reference`);
      let out = `<${link.path}>`;
      for (const [name, value] of Object.entries(link.params)) {
        if (!PARMNAME.test(name)) throw new InputError(`bad link parameter name '${name}'`);
        if (value === true) out += `;${name}`;
        else if (PTOKEN.test(value) && !quoted.has(name)) out += `;${name}=${value}`;
        else out += `;${name}="${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
      }
      return out;
    })
    .join(',');
}

// ---------------------------------------------------------------------------------------------------------------
// LwM2M Register payload (LwM2M Core 1.1 §6.2.1; docs/standards-notes/lwm2m-coap-dtls.md §3.1)

export interface RegisteredObject {
  objectId: number;
  /** `ver` of a non-default object version, e.g. "1.1". */
  version?: string;
  /** Instances listed as </oid/iid>, ascending. */
  instances: number[];
}

export interface RegistrationLinks {
  /** Alternate root path, always ending in "/": "/" by default, "/lwm2m/" for </lwm2m>;rt="oma.lwm2m". */
  rootPath: string;
  /** Content-Formats from the root link's `ct`. */
  contentFormats: number[];
  /** In order of first appearance. */
  objects: RegisteredObject[];
  /**
   * Listed objects a client MUST NOT report at Register: Security (0) and OSCORE (21) (Core 1.1 §6.2.1, quoted by
   * Anjay corelnk.c). Whether to reject (4.00) or ignore them is the server's decision.
   */
  forbiddenObjects: number[];
}

const FORBIDDEN_AT_REGISTER = [0, 21];
const MAX_ID = 65534; // 65535 is reserved (MAX_ID)
const CARDINAL = /^(0|[1-9][0-9]*)$/;
const VERSION = /^[0-9]+\.[0-9]+$/;

/**
 * Reads the root link, alternate path, object and instance links. The root link is the first with `rt` naming
 * oma.lwm2m, else a </> link (as Leshan's DefaultRegistrationDataExtractor). Every other link must be
 * <root>oid or <root>oid/iid; anything else (resource links, links outside the root, bad ids or `ver`) and an empty
 * object list are DecodeErrors, which a server answers 4.00 (docs/standards-notes/lwm2m-coap-dtls.md §3.1).
 */
export function extractRegistrationLinks(links: readonly Link[]): RegistrationLinks {
  const root =
    links.find((l) => typeof l.params.rt === 'string' && l.params.rt.split(' ').includes('oma.lwm2m')) ??
    links.find((l) => l.path === '/');
  if (root && !root.path.startsWith('/')) throw new DecodeError(FORMAT, `root path '${root.path}' is not absolute`);
  const rootPath = root === undefined ? '/' : root.path.endsWith('/') ? root.path : `${root.path}/`;
  const contentFormats = root?.params.ct === undefined ? [] : parseCt(root.params.ct);

  const objects = new Map<number, RegisteredObject>();
  for (const link of links) {
    if (link === root) continue;
    if (!link.path.startsWith(rootPath))
      throw new DecodeError(FORMAT, `link <${link.path}> is outside the root path ${rootPath}`);
    const ids = link.path
      .slice(rootPath.length)
      .split('/')
      .map((seg) => lwm2mId(seg, link.path));
    if (ids.length > 2) throw new DecodeError(FORMAT, `<${link.path}> is neither an object nor an object instance`);
    const [objectId, instanceId] = ids as [number, number | undefined];
    const obj = objects.get(objectId) ?? { objectId, instances: [] };
    objects.set(objectId, obj);
    if (instanceId !== undefined && !obj.instances.includes(instanceId)) obj.instances.push(instanceId);
    const ver = link.params.ver;
    if (ver !== undefined) {
      if (ver === true || !VERSION.test(ver)) throw new DecodeError(FORMAT, `bad ver on <${link.path}>`);
      if (obj.version !== undefined && obj.version !== ver)
        throw new DecodeError(FORMAT, `conflicting ver for object ${objectId}`);
      obj.version = ver;
    }
  }
  if (objects.size === 0) throw new DecodeError(FORMAT, 'no object links');
  const list = [...objects.values()];
  for (const o of list) o.instances.sort((a, b) => a - b);
  return {
    rootPath,
    contentFormats,
    objects: list,
    forbiddenObjects: list.map((o) => o.objectId).filter((id) => FORBIDDEN_AT_REGISTER.includes(id)),
  };
}

function lwm2mId(seg: string, path: string): number {
  if (!CARDINAL.test(seg) || Number(seg) > MAX_ID)
    throw new DecodeError(FORMAT, `<${path}>: '${seg}' is not an LwM2M id`);
  return Number(seg);
}

// ct = cardinal / DQUOTE cardinal *( 1*SP cardinal ) DQUOTE (RFC 7252 §7.2.1); quotes are already removed here.
function parseCt(ct: string | true): number[] {
  if (ct === true) throw new DecodeError(FORMAT, 'ct without a value');
  const parts = ct.split(/ +/);
  if (parts.some((p) => !CARDINAL.test(p) || Number(p) > 0xffff)) throw new DecodeError(FORMAT, `bad ct '${ct}'`);
  return parts.map(Number);
}

/** Builds the Register/Update payload: an optional root link, then one link per object and instance. */
export function registrationLinks(
  objects: readonly RegisteredObject[],
  root?: { path?: string; contentFormats?: number[] },
): Link[] {
  const links: Link[] = [];
  const base = root?.path === undefined || root.path === '/' ? '' : root.path.replace(/\/$/, '');
  if (root) {
    const params: Record<string, string | true> = { rt: 'oma.lwm2m' };
    if (root.contentFormats?.length) params.ct = root.contentFormats.join(' ');
    links.push({ path: base === '' ? '/' : base, params });
  }
  for (const o of objects) {
    const ver: Record<string, string | true> = o.version === undefined ? {} : { ver: o.version };
    if (o.instances.length === 0) links.push({ path: `${base}/${o.objectId}`, params: ver });
    o.instances.forEach((iid, i) => links.push({ path: `${base}/${o.objectId}/${iid}`, params: i === 0 ? ver : {} }));
  }
  return links;
}
