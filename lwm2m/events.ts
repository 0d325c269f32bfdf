/**
 * The server's event stream (docs/contracts.md C10): `registration`, `update`, `deregistration` and `notification`,
 * served as Server-Sent Events (WHATWG HTML §9.2) on GET /api/events[?ep=].
 *
 * A slow reader never blocks the server: each subscriber has a bounded queue that is written only while its
 * socket drains; when it is full the oldest event is dropped and counted (`dropped`).
 */
import type { ServerResponse } from 'node:http';

export type EventName = 'registration' | 'update' | 'deregistration' | 'notification';

export interface Lwm2mEvent {
  name: EventName;
  endpoint: string;
  data: Record<string, unknown>;
}

export interface EventHubOptions {
  /** Per-subscriber queue bound (default 256 events). */
  maxQueue?: number;
  /** Heartbeat comment interval (default 15 s). */
  heartbeatMs?: number;
  /** Subscriber bound (default 100); more get 503. */
  maxSubscribers?: number;
}

class Subscriber {
  readonly queue: string[] = [];
  dropped = 0;
  constructor(
    readonly res: ServerResponse,
    readonly endpoint: string | undefined,
    readonly max: number,
  ) {}

  push(frame: string): void {
    if (this.queue.length >= this.max) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(frame);
    this.flush();
  }

  /** Writes while the socket takes it; the rest waits for 'drain'. */
  flush(): void {
    while (this.queue.length && !this.res.writableNeedDrain && !this.res.destroyed) this.res.write(this.queue.shift()!);
  }
}

/** One SSE frame: `event:` + one `data:` line (JSON has no raw newlines). */
export const sseFrame = (name: string, data: unknown, id?: number): string =>
  `${id !== undefined ? `id: ${id}\n` : ''}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export class EventHub {
  readonly #subs = new Set<Subscriber>();
  readonly #max: number;
  readonly #heartbeatMs: number;
  readonly #maxSubs: number;
  #seq = 0;
  #droppedTotal = 0;

  constructor(o: EventHubOptions = {}) {
    this.#max = o.maxQueue ?? 256;
    this.#heartbeatMs = o.heartbeatMs ?? 15_000;
    this.#maxSubs = o.maxSubscribers ?? 100;
  }

  get subscribers(): number {
    return this.#subs.size;
  }
  /** Events dropped from full subscriber queues since start. */
  get dropped(): number {
    return this.#droppedTotal + [...this.#subs].reduce((n, s) => n + s.dropped, 0);
  }
  get full(): boolean {
    return this.#subs.size >= this.#maxSubs;
  }

  publish(e: Lwm2mEvent): void {
    const frame = sseFrame(e.name, e.data, ++this.#seq);
    for (const s of this.#subs) if (s.endpoint === undefined || s.endpoint === e.endpoint) s.push(frame);
  }

  /** Takes over an HTTP response whose head (200, text/event-stream) is written. */
  attach(res: ServerResponse, endpoint: string | undefined): void {
    const s = new Subscriber(res, endpoint, this.#max);
    this.#subs.add(s);
    res.write(': lwm2m events\n\n');
    const beat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': heartbeat\n\n');
    }, this.#heartbeatMs);
    beat.unref();
    res.on('drain', () => s.flush());
    const end = (): void => {
      clearInterval(beat);
      if (this.#subs.delete(s)) this.#droppedTotal += s.dropped;
    };
    res.on('close', end);
    res.on('error', end);
  }

  close(): void {
    for (const s of this.#subs) s.res.end();
    this.#subs.clear();
  }
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;
