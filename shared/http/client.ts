/**
 * JSON-over-HTTP client for the NF-to-NF interfaces (Zh/N65, Zn/N66, PSK API): one keep-alive connection
 * pool per peer, bearer token, timeout. Connection failures surface as PeerUnavailable so callers can answer
 * 503 instead of 500.
 */
import { Pool } from 'undici';

export class PeerUnavailable extends Error {
  override readonly name = 'PeerUnavailable';
}

export interface PeerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

export interface JsonClientOptions {
  token?: string;
  timeoutMs?: number;
  connections?: number;
}

export class JsonClient {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, opts: JsonClientOptions = {}) {
    const u = new URL(baseUrl);
    this.#pool = new Pool(u.origin, { connections: opts.connections ?? 64, pipelining: 1, keepAliveTimeout: 30_000 });
    this.#basePath = u.pathname.replace(/\/$/, '');
    this.#auth = opts.token ? `Bearer ${opts.token}` : undefined;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
  }

  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown): Promise<PeerResponse> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.#auth) headers.authorization = this.#auth;
    let body: string | undefined;
    if (json !== undefined) {
      body = JSON.stringify(json);
      headers['content-type'] = 'application/json';
    }
    let res;
    try {
      res = await this.#pool.request({
        method,
        path: this.#basePath + path,
        headers,
        body,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (err) {
      throw new PeerUnavailable(`${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.body.text();
    let parsed: unknown;
    const ct = String(res.headers['content-type'] ?? '');
    if (text && ct.includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
