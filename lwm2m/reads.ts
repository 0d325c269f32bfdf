/**
 * Server-initiated Read (LwM2M Core 1.1 §6.3.1; docs/standards-notes/lwm2m-coap-dtls.md §3.3): GET /o/i[/r[/ri]] over the registered client's own
 * connection, with an Accept the client can answer, decoded to plain JSON (content-decoder.ts).
 *
 * Accept by default: TLV (11542) for LwM2M 1.0, where it is mandatory for clients. For 1.1+, SenML JSON (110)
 * unless the client's root link `ct` lists TLV and not SenML JSON; a 4.06 to the default is retried once with
 * the other of the two (TLV is mandatory for 1.1 servers; which one a 1.1 client must support is an open
 * question, docs/standards-notes/lwm2m-coap-dtls.md §3.3). An answer split with Block2 (RFC 7959 §2.4, BERT per RFC 8323 §6) is fetched whole.
 */
import {
  Code,
  CoapExchangeError,
  type CoapMessage,
  type CoapOption,
  codeClass,
  codeToString,
  decodeUint,
  encodeUint,
  getContentFormat,
  getOption,
  OptionNumber,
} from '../shared/coap/message.js';
import { DecodeError, InputError } from '../shared/errors.js';
import { ContentFormat } from '../shared/lwm2m/content-formats.js';
import type { Logger } from '../shared/log.js';
import { decodeContent, type Lwm2mJson, type Lwm2mPath } from './content-decoder.js';
import type { Lwm2mMetrics } from './metrics.js';
import type { ClientRegistry, Registration } from './registry.js';

export interface ReadResult {
  /** The CoAP response code, e.g. 0x45. */
  code: number;
  /** "2.05" */
  status: string;
  /** The answer's Content-Format, null when it had none. */
  contentFormat: number | null;
  /** Decoded content for a 2.xx answer; the diagnostic text for an error answer (or null). */
  content: Lwm2mJson;
}

/** No registration for that endpoint. */
export class UnknownEndpoint extends Error {
  override readonly name = 'UnknownEndpoint';
}

const MAX_ID = 65534; // 65535 is reserved (Core 1.1 §7.2)
const MAX_BLOCKWISE_BYTES = 1 << 20;

/** "/3/0/1" or [3, 0, 1] → checked ids (1 to 4 of them, each 0..65534). */
export function parseLwm2mPath(path: string | readonly number[]): number[] {
  const ids =
    typeof path === 'string'
      ? path
          .replace(/^\//, '')
          .split('/')
          .map((s) => (/^(0|[1-9]\d{0,4})$/.test(s) ? Number(s) : NaN))
      : [...path];
  if (ids.length < 1 || ids.length > 4 || ids.some((n) => !Number.isInteger(n) || n < 0 || n > MAX_ID)) {
    throw new InputError(
      `'${typeof path === 'string' ? path : path.join('/')}' is not an LwM2M path /objectId[/instanceId[/resourceId[/resourceInstanceId]]]`,
    );
  }
  return ids;
}

/** The Accept a read of this client uses unless the caller names one. */
export function defaultAccept(r: Pick<Registration, 'lwm2mVersion' | 'contentFormats'>): number {
  if (r.lwm2mVersion === '1.0') return ContentFormat.LWM2M_TLV;
  const ct = r.contentFormats;
  if (ct.includes(ContentFormat.LWM2M_TLV) && !ct.includes(ContentFormat.SENML_JSON)) return ContentFormat.LWM2M_TLV;
  return ContentFormat.SENML_JSON;
}

export interface ClientReaderDeps {
  registry: ClientRegistry;
  log: Logger;
  metrics?: Lwm2mMetrics;
}

export class ClientReader {
  constructor(private readonly d: ClientReaderDeps) {}

  /**
   * Reads `path` from the client registered as `endpoint`. Resolves with any CoAP answer (error codes included);
   * rejects with UnknownEndpoint, CoapExchangeError (timeout, connection closed) or DecodeError (content that does
   * not parse), and InputError for a bad path or Accept.
   */
  async read(endpoint: string, path: string | readonly number[], accept?: number): Promise<ReadResult> {
    const ids = parseLwm2mPath(path);
    if (accept !== undefined && (!Number.isInteger(accept) || accept < 0 || accept > 0xffff))
      throw new InputError('accept must be a Content-Format number 0..65535');
    const r = this.d.registry.byEndpoint(endpoint);
    if (!r) throw new UnknownEndpoint(`no client registered as ${endpoint}`);
    const count = (result: string): void => this.d.metrics?.reads.inc({ result });
    try {
      const first = accept ?? defaultAccept(r);
      let res = await getWhole(r, ids, first);
      if (accept === undefined && res.code === Code.NOT_ACCEPTABLE) {
        const other = first === ContentFormat.SENML_JSON ? ContentFormat.LWM2M_TLV : ContentFormat.SENML_JSON;
        res = await getWhole(r, ids, other);
      }
      const result = toResult(res.msg, res.payload, ids);
      count(codeClass(result.code) === 2 ? 'ok' : 'error_code');
      this.d.log.debug(
        {
          event: 'lwm2m.read',
          endpoint,
          path: `/${ids.join('/')}`,
          status: result.status,
          contentFormat: result.contentFormat,
        },
        'read',
      );
      return result;
    } catch (err) {
      count(
        err instanceof CoapExchangeError
          ? err.reason === 'timeout'
            ? 'timeout'
            : 'closed'
          : err instanceof DecodeError
            ? 'bad_content'
            : 'closed',
      );
      this.d.log.info(
        {
          event: 'lwm2m.read-failed',
          endpoint,
          path: `/${ids.join('/')}`,
          reason: err instanceof Error ? err.message : String(err),
        },
        'read failed',
      );
      throw err;
    }
  }
}

function toResult(msg: CoapMessage, payload: Buffer, ids: Lwm2mPath): ReadResult {
  const cf = getContentFormat(msg);
  const ok = codeClass(msg.code) === 2;
  return {
    code: msg.code,
    status: codeToString(msg.code),
    contentFormat: cf ?? null,
    content: ok ? decodeContent(cf, payload, ids) : payload.length ? payload.toString('utf8') : null,
  };
}

/** GET with Accept; follows Block2 until the last block (RFC 7959 §2.4). */
async function getWhole(
  r: Registration,
  ids: Lwm2mPath,
  accept: number,
): Promise<{ code: number; msg: CoapMessage; payload: Buffer }> {
  const base: CoapOption[] = [
    ...ids.map((id) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(String(id)) })),
    { number: OptionNumber.ACCEPT, value: encodeUint(accept) },
  ];
  let msg = await r.peer.request({ code: Code.GET, options: base });
  const parts: Buffer[] = [msg.payload];
  let total = msg.payload.length;
  for (;;) {
    const b2 = getOption(msg, OptionNumber.BLOCK2);
    if (b2 === undefined || codeClass(msg.code) !== 2) break;
    const v = decodeUint(b2);
    const more = (v & 0x08) !== 0;
    if (!more) break;
    const szx = v & 0x07;
    const size = szx === 7 ? 1024 : 1 << (szx + 4);
    // BERT (SZX 7) may carry several 1024-byte blocks in one message (RFC 8323 §6).
    const next = (v >>> 4) + Math.max(1, Math.floor(msg.payload.length / size));
    msg = await r.peer.request({
      code: Code.GET,
      options: [...base, { number: OptionNumber.BLOCK2, value: encodeUint((next << 4) | szx) }],
    });
    parts.push(msg.payload);
    total += msg.payload.length;
    if (total > MAX_BLOCKWISE_BYTES) throw new DecodeError('Block2', `answer larger than ${MAX_BLOCKWISE_BYTES} bytes`);
  }
  return { code: msg.code, msg, payload: codeClass(msg.code) === 2 ? Buffer.concat(parts) : msg.payload };
}
