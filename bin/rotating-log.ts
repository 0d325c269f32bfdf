/**
 * Bounded log files for `gba-sim up` (issue 18 finding 11): <stateDir>/logs/<nf>.log grows to at most
 * log.maxFileBytes; then it becomes <nf>.log.1 (an older .1 becomes .2 …) and a new <nf>.log starts. At most
 * log.keepFiles rotated files are kept, so one NF's logs never take more than (keepFiles + 1) × maxFileBytes.
 * Files are the owner's only (0600): they name subscribers and devices. Writes are synchronous appends of whole
 * lines, so a line is never split across two files and nothing is lost when `up` exits.
 */
import { closeSync, fchmodSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface RotatingLogOptions {
  /** A file that would grow past this many octets is rotated first. */
  maxBytes: number;
  /** Rotated files kept beside the live one (0: the old lines are dropped). */
  keep: number;
}

export const DEFAULT_LOG_ROTATION: RotatingLogOptions = { maxBytes: 10 * 1024 * 1024, keep: 5 };

export class RotatingLog {
  #fd: number | undefined;
  #size = 0;

  constructor(
    readonly file: string,
    readonly o: RotatingLogOptions = DEFAULT_LOG_ROTATION,
  ) {
    this.#open();
  }

  #open(): void {
    this.#fd = openSync(this.file, 'a', 0o600);
    fchmodSync(this.#fd, 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  /** Appends `text` (whole lines); a single line longer than maxBytes is cut to fit, ending in "…\n". */
  write(text: string): void {
    if (this.#fd === undefined) return;
    let buf = Buffer.from(text, 'utf8');
    if (buf.length > this.o.maxBytes)
      buf = Buffer.concat([buf.subarray(0, Math.max(0, this.o.maxBytes - 4)), Buffer.from('…\n')]);
    if (this.#size > 0 && this.#size + buf.length > this.o.maxBytes) this.#rotate();
    writeSync(this.#fd, buf);
    this.#size += buf.length;
  }

  #rotate(): void {
    closeSync(this.#fd!);
    this.#fd = undefined;
    rmSync(`${this.file}.${this.o.keep}`, { force: true });
    for (let i = this.o.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch {
        /* not there yet */
      }
    }
    if (this.o.keep > 0) renameSync(this.file, `${this.file}.1`);
    else rmSync(this.file, { force: true });
    this.#open();
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
