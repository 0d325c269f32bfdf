/**
 * The progress bar, on stderr so stdout stays the report. On a terminal it redraws one line in place;
 * otherwise (CI logs, pipes) it prints one line when a phase starts and one when it ends, never a stream
 * of carriage returns.
 */
interface ProgressSink {
  write(s: string): void;
  isTTY?: boolean;
  columns?: number;
}

export class Progress {
  #phase = '';
  #startedAt = 0;
  #totalMs = 0;
  #lastDraw = 0;
  #drawn = false;

  constructor(
    readonly out: ProgressSink = process.stderr,
    readonly enabled = true,
  ) {}

  get tty(): boolean {
    return !!this.out.isTTY;
  }

  /** A phase of about `totalMs` (0 when its length is unknown). */
  start(phase: string, totalMs = 0): void {
    this.#end();
    this.#phase = phase;
    this.#startedAt = Date.now();
    this.#totalMs = totalMs;
    if (!this.enabled) return;
    if (this.tty) this.update('');
    else this.out.write(`bench: ${phase}${totalMs ? ` (~${Math.round(totalMs / 1000)} s)` : ''} …\n`);
  }

  /** Redraws the bar (terminals only; at most 10 times a second). */
  update(detail: string, fraction?: number): void {
    if (!this.enabled || !this.tty) return;
    const now = Date.now();
    if (this.#drawn && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const elapsed = now - this.#startedAt;
    const f = Math.max(0, Math.min(1, fraction ?? (this.#totalMs ? elapsed / this.#totalMs : 0)));
    const width = 24;
    const filled = Math.round(f * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    let line = `${this.#phase.padEnd(22)} ${bar} ${String(Math.round(f * 100)).padStart(3)}%  ${(elapsed / 1000).toFixed(1)} s  ${detail}`;
    const cols = this.out.columns ?? 100;
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    this.out.write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }

  /** Ends the current phase with a one-line summary. */
  done(summary: string): void {
    if (!this.enabled) {
      this.#phase = '';
      return;
    }
    const secs = ((Date.now() - this.#startedAt) / 1000).toFixed(1);
    if (this.tty) this.out.write(`\r\x1b[2K${this.#phase.padEnd(22)} ${summary}  (${secs} s)\n`);
    else this.out.write(`bench: ${this.#phase}: ${summary} (${secs} s)\n`);
    this.#drawn = false;
    this.#phase = '';
  }

  #end(): void {
    if (this.#phase && this.enabled && this.tty && this.#drawn) this.out.write('\n');
    this.#drawn = false;
  }

  /** A message between phases (clears the bar line first). */
  note(s: string): void {
    if (!this.enabled) return;
    if (this.tty && this.#drawn) {
      this.out.write('\r\x1b[2K');
      this.#drawn = false;
    }
    this.out.write(`${s}\n`);
  }
}
