/**
 * The measured window of a phase: a warm-up, then `duration`. What completes inside it counts. When nothing
 * has succeeded by the end of it (a very short window on a busy machine), the window stays open until the
 * first success, up to a grace period, and the rate is taken over the window's real length: never a
 * rate of zero just because the window was shorter than one operation.
 */
export class MeasureWindow {
  readonly from: number;
  readonly to: number;
  readonly hardStop: number;
  ok = 0;
  errors = 0;
  #closedAt: number | undefined;

  constructor(warmupMs: number, durationMs: number, graceMs = 30_000) {
    this.from = performance.now() + warmupMs;
    this.to = this.from + durationMs;
    this.hardStop = this.to + graceMs;
  }

  measuring(now = performance.now()): boolean {
    return now >= this.from;
  }

  /** Whether loops should start another operation. */
  open(now = performance.now()): boolean {
    if (this.#closedAt !== undefined) return false;
    if (now < this.to) return true;
    if (this.ok > 0) {
      this.#closedAt = this.to;
      return false;
    }
    if (now >= this.hardStop) {
      this.#closedAt = this.hardStop;
      return false;
    }
    return true;
  }

  /** Records an operation that ran from `start` to `end`; true when it counts (it was inside the window). */
  record(start: number, end: number, success: boolean): boolean {
    if (start < this.from) return false;
    if (this.#closedAt !== undefined && end > this.#closedAt) return false;
    if (end > this.to) {
      if (this.ok > 0 || !success) return false;
      this.#closedAt = end; // the first success of an overrunning window closes it
    }
    if (success) this.ok++;
    else this.errors++;
    return true;
  }

  /** Length of the window in seconds. */
  seconds(): number {
    return ((this.#closedAt ?? this.to) - this.from) / 1000;
  }
}
