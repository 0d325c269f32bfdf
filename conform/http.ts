/**
 * The conformance runner's HTTP client: node:http(s) with a keep-alive agent, a timeout per request, and no
 * rewriting of what the caller sends (the malformed-header cases need to send headers exactly as written).
 * A transport failure comes back as a reply with status 0 and the error in `error`, so a case can report it
 * as evidence instead of throwing.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface Reply {
  /** HTTP status, or 0 when no answer came (then `error` says why). */
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  error?: string;
}

export const MAX_BODY = 64 * 1024;

export class HttpClient {
  readonly #agent: HttpAgent;
  readonly #https: boolean;

  constructor(
    readonly base: URL,
    readonly timeoutMs = 10_000,
    maxSockets = 4,
  ) {
    this.#https = base.protocol === 'https:';
    this.#agent = this.#https
      ? new HttpsAgent({ keepAlive: true, maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets });
  }

  /** One request to `url` (same origin as `base`, or any other), headers sent as given. */
  send(method: string, url: URL, headers: Record<string, string>, body?: string): Promise<Reply> {
    const req = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: Reply) => {
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      try {
        const r = req(
          url,
          {
            method,
            headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
            agent: url.protocol === this.base.protocol ? this.#agent : undefined,
            timeout: this.timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size <= MAX_BODY) chunks.push(c);
            });
            res.on('end', () =>
              done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
            );
            res.on('error', (err) => done({ status: 0, headers: {}, body: '', error: err.message }));
          },
        );
        r.on('timeout', () => {
          r.destroy(new Error(`no answer within ${this.timeoutMs} ms`));
        });
        r.on('error', (err) => done({ status: 0, headers: {}, body: '', error: err.message }));
        r.end(body);
      } catch (err) {
        // node:http refuses some header values itself (e.g. a CR or LF in them).
        done({ status: 0, headers: {}, body: '', error: `not sent: ${(err as Error).message}` });
      }
    });
  }

  get(headers: Record<string, string>): Promise<Reply> {
    return this.send('GET', this.base, headers);
  }

  close(): void {
    this.#agent.destroy();
  }
}

export function header(r: Reply, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** A reply in a few words, for a case's evidence: `401 (WWW-Authenticate: …)`, `403 "detail"`, `no answer: …`. */
export function describe(r: Reply): string {
  if (r.status === 0) return `no answer (${r.error ?? 'connection closed'})`;
  let detail = '';
  try {
    detail = String((JSON.parse(r.body) as { detail?: unknown }).detail ?? '');
  } catch {
    detail = r.body.replace(/\s+/g, ' ').trim().slice(0, 120);
  }
  return `${r.status}${detail ? ` ${JSON.stringify(detail.slice(0, 160))}` : ''}`;
}
