/**
 * Error types shared by every network function.
 *
 * DecodeError: a wire format could not be parsed (digest header, XML, CoAP frame, DTLS record …).
 * It carries the format name and, where known, the offset, so a 4xx detail can say exactly what was wrong.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(readonly format: string, readonly reason: string, readonly offset?: number) {
    super(offset === undefined ? `${format}: ${reason}` : `${format}: ${reason} (at offset ${offset})`);
  }
}

/** A caller-supplied value is invalid (bad hex, wrong length …). The message is safe to show to the caller. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
