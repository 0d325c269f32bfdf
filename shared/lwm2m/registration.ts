/**
 * LwM2M Registration interface on the wire: the Register (`POST /rd?…`) and Update (`POST /rd/<id>?…`) query
 * parameters and payload (LwM2M Core 1.1 §6.2.1, §6.2.2; docs/standards-notes/lwm2m-coap-dtls.md §3.1, §3.2).
 *
 * Parsers return outcomes as values; a failure carries the CoAP code the server answers: 4.00 for anything
 * malformed, 4.12 for an LwM2M version the server does not support (as Leshan and Wakaama).
 */
import { DecodeError, InputError } from '../errors.js';
import {
  Code,
  type CoapMessage,
  type CoapOption,
  getContentFormat,
  getUriQuery,
  OptionNumber,
  encodeUint,
} from '../coap/message.js';
import { ContentFormat } from './content-formats.js';
import {
  extractRegistrationLinks,
  parseLinkFormat,
  type RegistrationLinks,
  type Link,
  serializeLinkFormat,
} from './link-format.js';

export const SUPPORTED_LWM2M_VERSIONS = ['1.0', '1.1', '1.2'] as const;
export type Lwm2mVersion = (typeof SUPPORTED_LWM2M_VERSIONS)[number];

export const DEFAULT_LIFETIME_SEC = 86_400;
export const DEFAULT_BINDING = 'U';

export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; code: typeof Code.BAD_REQUEST | typeof Code.PRECONDITION_FAILED; reason: string };

const bad = (reason: string) => ({ ok: false, code: Code.BAD_REQUEST, reason }) as const;

export interface RegisterQuery {
  /** `ep`; may be omitted from LwM2M 1.1 on, when it equals the security identity (Core 1.1.1 §6.2.1). */
  endpoint?: string;
  /** `lt`, default 86400 s. */
  lifetimeSec: number;
  /** `lwm2m`, default "1.0" when absent (LwM2M 1.0 made it optional). */
  lwm2mVersion: Lwm2mVersion;
  /** `b` as sent, default "U". In 1.0 it may include Q. */
  binding: string;
  /** `Q` (1.1+) or Q inside `b` (1.0). */
  queueMode: boolean;
  /** `sms`, the MSISDN. */
  sms?: string;
  /** Parameters we do not know, kept as Leshan keeps "additional attributes". */
  extra: Record<string, string | true>;
}

export interface UpdateQuery {
  lifetimeSec?: number;
  binding?: string;
  queueMode?: boolean;
  sms?: string;
  extra: Record<string, string | true>;
}

const LIFETIME = /^[0-9]{1,10}$/;
const LWM2M_VERSION = /^[0-9]+\.[0-9]+$/;
const LWM2M_1_0_BINDINGS = ['U', 'UQ', 'S', 'SQ', 'US', 'UQS']; // Anjay is_valid_lwm2m_1_0_binding_mode

/**
 * Binding letters per version (docs/standards-notes/lwm2m-coap-dtls.md §3.1): 1.0 allows the six modes above (Q inside b); 1.1 and 1.2 allow any
 * set of distinct letters from U, T, S, N, with queue mode moved to the `Q` parameter. (Whether 1.2 adds letters
 * for its MQTT/HTTP transports is open: neither Anjay nor Leshan has one.)
 */
export function isValidBinding(binding: string, version: Lwm2mVersion): boolean {
  if (version === '1.0') return LWM2M_1_0_BINDINGS.includes(binding);
  return /^[UTSN]+$/.test(binding) && new Set(binding).size === binding.length;
}

/** Splits "name=value" / "name"; rejects an empty name and a repeated parameter. */
function splitQuery(queries: readonly string[]): Outcome<Map<string, string | true>> {
  const params = new Map<string, string | true>();
  for (const q of queries) {
    const eq = q.indexOf('=');
    const name = eq < 0 ? q : q.slice(0, eq);
    if (name === '') return bad(`query '${q}' has no name`);
    if (params.has(name)) return bad(`query parameter '${name}' repeated`);
    params.set(name, eq < 0 ? true : q.slice(eq + 1));
  }
  return { ok: true, value: params };
}

function lifetime(v: string | true): Outcome<number> {
  if (v === true || !LIFETIME.test(v) || Number(v) < 1 || Number(v) > 0xffffffff)
    return bad('lt must be a positive integer (seconds)');
  return { ok: true, value: Number(v) };
}

function nonEmpty(name: string, v: string | true): Outcome<string> {
  return v === true || v === '' ? bad(`${name} needs a value`) : { ok: true, value: v };
}

/** Register query (Core 1.1 §6.2.1; docs/standards-notes/lwm2m-coap-dtls.md §3.1 for the codes). Parameter order does not matter. */
export function parseRegisterQuery(queries: readonly string[]): Outcome<RegisterQuery> {
  const split = splitQuery(queries);
  if (!split.ok) return split;
  const params = split.value;

  let lwm2mVersion: Lwm2mVersion = '1.0';
  const v = params.get('lwm2m');
  if (v !== undefined) {
    if (v === true || !LWM2M_VERSION.test(v)) return bad('lwm2m must be a version like 1.1');
    if (!(SUPPORTED_LWM2M_VERSIONS as readonly string[]).includes(v)) {
      return { ok: false, code: Code.PRECONDITION_FAILED, reason: `LwM2M version ${v} not supported` };
    }
    lwm2mVersion = v as Lwm2mVersion;
  }

  const query: RegisterQuery = {
    lifetimeSec: DEFAULT_LIFETIME_SEC,
    lwm2mVersion,
    binding: DEFAULT_BINDING,
    queueMode: false,
    extra: {},
  };
  const ep = params.get('ep');
  if (ep !== undefined) {
    const r = nonEmpty('ep', ep);
    if (!r.ok) return r;
    query.endpoint = r.value;
  } else if (lwm2mVersion === '1.0') {
    return bad('ep is mandatory in LwM2M 1.0');
  }
  const common = applyCommon(params, lwm2mVersion, query);
  if (!common.ok) return common;
  if (lwm2mVersion === '1.0' && query.binding.includes('Q')) query.queueMode = true;
  for (const [name, value] of params) if (!['ep', 'lwm2m', ...COMMON].includes(name)) query.extra[name] = value;
  return { ok: true, value: query };
}

const COMMON = ['lt', 'b', 'Q', 'sms'];

/** lt, b, Q and sms: the parameters Register and Update share. */
function applyCommon(
  params: Map<string, string | true>,
  version: Lwm2mVersion,
  into: Partial<RegisterQuery> & UpdateQuery,
): Outcome<null> {
  const lt = params.get('lt');
  if (lt !== undefined) {
    const r = lifetime(lt);
    if (!r.ok) return r;
    into.lifetimeSec = r.value;
  }
  const b = params.get('b');
  if (b !== undefined) {
    if (b === true || !isValidBinding(b, version))
      return bad(`binding '${b === true ? '' : b}' not valid for LwM2M ${version}`);
    into.binding = b;
  }
  const q = params.get('Q');
  if (q !== undefined) {
    if (q !== true) return bad('Q takes no value');
    into.queueMode = true;
  }
  const sms = params.get('sms');
  if (sms !== undefined) {
    const r = nonEmpty('sms', sms);
    if (!r.ok) return r;
    into.sms = r.value;
  }
  return { ok: true, value: null };
}

/** Update query (Core 1.1 §6.2.2): every parameter optional; absent means unchanged. */
export function parseUpdateQuery(queries: readonly string[], version: Lwm2mVersion): Outcome<UpdateQuery> {
  const split = splitQuery(queries);
  if (!split.ok) return split;
  const query: UpdateQuery = { extra: {} };
  const common = applyCommon(split.value, version, query);
  if (!common.ok) return common;
  if (version === '1.0' && query.binding?.includes('Q')) query.queueMode = true;
  for (const [name, value] of split.value) if (!COMMON.includes(name)) query.extra[name] = value;
  return { ok: true, value: query };
}

// --- whole requests -------------------------------------------------------------------------------------------

export interface RegisterRequest {
  query: RegisterQuery;
  links: RegistrationLinks;
}

/**
 * Register request checks beyond routing (docs/standards-notes/lwm2m-coap-dtls.md §3.1): it must be confirmable over UDP (Leshan: 4.00 "CON CoAP
 * type expected"), Content-Format 40 or absent, a well-formed link-format payload with at least one object.
 */
export function parseRegisterRequest(msg: CoapMessage): Outcome<RegisterRequest> {
  if (msg.type !== undefined && msg.type !== 'CON') return bad('Register must be a CON request');
  // The query first, so that an unsupported version is 4.12 whatever its payload looks like.
  const query = queriesOf(msg);
  if (!query.ok) return query;
  const q = parseRegisterQuery(query.value);
  if (!q.ok) return q;
  const payload = payloadLinks(msg, true);
  if (!payload.ok) return payload;
  return { ok: true, value: { query: q.value, links: payload.value! } };
}

export interface UpdateRequest {
  query: UpdateQuery;
  /** Present when the Update carries a new object list. */
  links?: RegistrationLinks;
}

export function parseUpdateRequest(msg: CoapMessage, version: Lwm2mVersion): Outcome<UpdateRequest> {
  if (msg.type !== undefined && msg.type !== 'CON') return bad('Update must be a CON request');
  const query = queriesOf(msg);
  if (!query.ok) return query;
  const q = parseUpdateQuery(query.value, version);
  if (!q.ok) return q;
  const payload = payloadLinks(msg, false);
  if (!payload.ok) return payload;
  return { ok: true, value: { query: q.value, ...(payload.value ? { links: payload.value } : {}) } };
}

function queriesOf(msg: CoapMessage): Outcome<string[]> {
  try {
    return { ok: true, value: getUriQuery(msg) };
  } catch (err) {
    return bad(err instanceof DecodeError ? err.message : 'bad Uri-Query');
  }
}

function payloadLinks(msg: CoapMessage, required: boolean): Outcome<RegistrationLinks | undefined> {
  try {
    const cf = getContentFormat(msg);
    if (cf !== undefined && cf !== ContentFormat.LINK_FORMAT)
      return bad(`Content-Format ${cf}, expected 40 (link-format)`);
    if (msg.payload.length === 0 && !required) return { ok: true, value: undefined };
    return { ok: true, value: extractRegistrationLinks(parseLinkFormat(msg.payload)) };
  } catch (err) {
    if (err instanceof DecodeError) return bad(err.message);
    throw err;
  }
}

// --- building (device side) -----------------------------------------------------------------------------------

export interface RegisterParams {
  endpoint?: string;
  lifetimeSec?: number;
  lwm2mVersion: Lwm2mVersion;
  binding?: string;
  queueMode?: boolean;
  sms?: string;
}

/** Register query in the order ep, lt, lwm2m, b, Q, sms; absent values are left out (the defaults apply). */
export function buildRegisterQuery(p: RegisterParams): string[] {
  if (p.endpoint === undefined && p.lwm2mVersion === '1.0') throw new InputError('ep is mandatory in LwM2M 1.0');
  if (p.queueMode && p.lwm2mVersion === '1.0') throw new InputError('LwM2M 1.0 signals queue mode inside b (e.g. UQ)');
  const out: string[] = [];
  if (p.endpoint !== undefined) out.push(`ep=${checkValue('ep', p.endpoint)}`);
  if (p.lifetimeSec !== undefined) out.push(`lt=${checkLifetime(p.lifetimeSec)}`);
  out.push(`lwm2m=${p.lwm2mVersion}`);
  out.push(...commonQuery(p, p.lwm2mVersion));
  return out;
}

export interface UpdateParams {
  lifetimeSec?: number;
  binding?: string;
  sms?: string;
}

export function buildUpdateQuery(p: UpdateParams, version: Lwm2mVersion): string[] {
  return [...(p.lifetimeSec === undefined ? [] : [`lt=${checkLifetime(p.lifetimeSec)}`]), ...commonQuery(p, version)];
}

function commonQuery(p: { binding?: string; queueMode?: boolean; sms?: string }, version: Lwm2mVersion): string[] {
  const out: string[] = [];
  if (p.binding !== undefined) {
    if (!isValidBinding(p.binding, version))
      throw new InputError(`binding '${p.binding}' not valid for LwM2M ${version}`);
    out.push(`b=${p.binding}`);
  }
  if (p.queueMode) out.push('Q');
  if (p.sms !== undefined) out.push(`sms=${checkValue('sms', p.sms)}`);
  return out;
}

function checkValue(name: string, v: string): string {
  if (v === '') throw new InputError(`${name} must not be empty`);
  return v;
}

function checkLifetime(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff)
    throw new InputError('lifetime must be a positive integer (seconds)');
  return n;
}

/** The Register request (CON POST /rd, Content-Format 40) minus type, message ID and token. */
export function buildRegisterRequest(
  p: RegisterParams,
  links: readonly Link[],
): Pick<CoapMessage, 'code' | 'options' | 'payload'> {
  return requestTo(['rd'], buildRegisterQuery(p), links);
}

/** The Update request (CON POST to the Location-Path the Register returned); links only when the object list changed. */
export function buildUpdateRequest(
  location: readonly string[],
  p: UpdateParams,
  version: Lwm2mVersion,
  links?: readonly Link[],
): Pick<CoapMessage, 'code' | 'options' | 'payload'> {
  return requestTo(location, buildUpdateQuery(p, version), links);
}

function requestTo(
  path: readonly string[],
  queries: string[],
  links?: readonly Link[],
): Pick<CoapMessage, 'code' | 'options' | 'payload'> {
  const options: CoapOption[] = [
    ...path.map((s) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(s, 'utf8') })),
    ...queries.map((q) => ({ number: OptionNumber.URI_QUERY, value: Buffer.from(q, 'utf8') })),
  ];
  if (links === undefined) return { code: Code.POST, options, payload: Buffer.alloc(0) };
  options.push({ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(ContentFormat.LINK_FORMAT) });
  options.sort((a, b) => a.number - b.number); // stable: repeated options keep their order
  return { code: Code.POST, options, payload: Buffer.from(serializeLinkFormat(links), 'utf8') };
}
