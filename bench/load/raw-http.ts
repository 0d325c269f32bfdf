/**
 * The HTTP load loop: keep-alive HTTP/1.1 connections on bare sockets, each with one request in flight
 * (no pipelining), sending prebuilt request octets and reading just enough of each response (status line,
 * Content-Length) to know where it ends. Far cheaper per request than any full client, so for the HTTP
 * phases the server, not the generator, is what gets measured.
 */
import { connect, type Socket } from 'node:net';
import { Histogram } from '../histogram.js';
import { MeasureWindow } from './window.js';

export interface HttpRequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpLoadJob {
  kind: 'http';
  host: string;
  port: number;
  /** Sent in turn, round robin over all connections. */
  requests: Uint8Array[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Any other status counts as an error. */
  expectStatus: number;
}

export interface LoadCounts {
  /** Completed in the measured window. */
  ok: number;
  errors: number;
  /** Up to a few distinct error descriptions. */
  errorSamples: string[];
  /** Seconds the measured window lasted. */
  seconds: number;
  histogram: Histogram;
}

/** The request octets for a spec (Host and Content-Length filled in; keep-alive is HTTP/1.1's default). */
export function buildRequest(host: string, port: number, r: HttpRequestSpec): Buffer {
  const body = r.body === undefined ? undefined : Buffer.from(r.body, 'utf8');
  let head = `${r.method} ${r.path} HTTP/1.1\r\nHost: ${host}:${port}\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (body) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;

/** Where the response starting at `b[0]` ends and its status, or undefined when more octets are needed. */
export function responseEnd(b: Buffer): { end: number; status: number } | undefined {
  const h = b.indexOf(CRLFCRLF);
  if (h < 0) return undefined;
  const head = b.toString('latin1', 0, h);
  if (!head.startsWith('HTTP/1.')) throw new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 40))}`);
  const status = Number(head.slice(9, 12));
  if (CHUNKED.test(head)) throw new Error('chunked responses are not supported by the load generator');
  const m = CONTENT_LENGTH.exec(head);
  const len = m ? Number(m[1]) : status === 204 || status === 304 ? 0 : NaN;
  if (Number.isNaN(len)) throw new Error(`response without Content-Length (status ${status})`);
  const end = h + 4 + len;
  return b.length >= end ? { end, status } : undefined;
}

export interface RunControl {
  onProgress?: (completed: number, measuring: boolean) => void;
}

export function runHttpLoad(job: HttpLoadJob, ctl: RunControl = {}): Promise<LoadCounts> {
  const hist = new Histogram();
  const errorSamples = new Set<string>();
  let completed = 0,
    next = 0;
  const w = new MeasureWindow(job.warmupMs, job.durationMs);
  let stopping = false;
  let done = false;
  const sockets = new Set<Socket>();
  const sample = (what: string) => {
    if (errorSamples.size < 5) errorSamples.add(what);
  };
  // Errors outside any request (connection failures): counted while the window is open.
  const noteError = (what: string) => {
    const now = performance.now();
    if (w.record(now, now, false)) sample(what);
  };

  return new Promise((resolve) => {
    let open = 0;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      for (const s of sockets) s.destroy();
      resolve({ ok: w.ok, errors: w.errors, errorSamples: [...errorSamples], seconds: w.seconds(), histogram: hist });
    };
    const ticker = setInterval(() => {
      ctl.onProgress?.(completed, w.measuring());
      if (!stopping && !w.open()) {
        stopping = true;
        // Give in-flight requests a moment to finish cleanly, then close whatever is left.
        setTimeout(finish, 2000).unref();
        if (open === 0) finish();
      }
    }, 100);

    const start = (): void => {
      const s = connect({ host: job.host, port: job.port, noDelay: true });
      sockets.add(s);
      open++;
      let buf: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let busy = false;
      const send = () => {
        if (stopping || !w.open()) {
          busy = false;
          s.end();
          return;
        }
        const req = job.requests[next]!;
        next = next + 1 === job.requests.length ? 0 : next + 1;
        sentAt = performance.now();
        busy = true;
        s.write(req);
      };
      s.on('connect', send);
      s.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          let r;
          try {
            r = responseEnd(buf);
          } catch (err) {
            noteError((err as Error).message);
            s.destroy();
            return;
          }
          if (!r) return;
          buf = r.end === buf.length ? Buffer.alloc(0) : buf.subarray(r.end);
          const now = performance.now();
          completed++;
          const good = r.status === job.expectStatus;
          if (w.record(sentAt, now, good)) {
            if (good) hist.record((now - sentAt) * 1000);
            else sample(`HTTP ${r.status}`);
          } else if (!good && !w.measuring(sentAt)) sample(`HTTP ${r.status} (warm-up)`);
          busy = false;
          send();
        }
      });
      s.on('error', (err) => {
        if (!stopping) noteError(err.message);
      });
      s.on('close', () => {
        sockets.delete(s);
        open--;
        if (stopping) {
          if (open === 0) finish();
          return;
        }
        // The server closed a keep-alive connection (or it failed): count the lost request, open another.
        if (busy) noteError('connection closed with a request in flight');
        if (w.open()) setTimeout(start, 10);
        else if (open === 0) {
          stopping = true;
          finish();
        }
      });
    };
    for (let i = 0; i < job.connections; i++) start();
  });
}
