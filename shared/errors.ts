/**
 * Error types shared by every network function.
 *
 * DecodeError: a wire format could not be parsed (digest header, XML, CoAP frame, DTLS record …).
 * It carries the format name and, where known, the offset, so a 4xx detail can say exactly what was wrong.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly format: string,
    readonly reason: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? `${format}: ${reason}` : `${format}: ${reason} (at offset ${offset})`);
  }
}

/** A caller-supplied value is invalid (bad hex, wrong length …). The message is safe to show to the caller. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/**
 * A dependency (the Redis store) did not answer: unreachable, reconnecting or timed out. HTTP answers it with
 * 503 + Retry-After (shared/http/server.ts), never 500. The message is for the log, not for the caller.
 */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
