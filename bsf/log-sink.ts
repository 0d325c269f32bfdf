/**
 * Where the BSF's log lines go: stdout, as before, but written once per event-loop turn instead of once per
 * line. The BSF logs twice per bootstrap and once per Zn request; under load a write(2) per line was a tenth
 * of its CPU. Same lines, same order; pending lines are written synchronously if the process exits first.
 */
import { writeSync } from 'node:fs';

export interface LineSink {
  write(line: string): void;
  flush(): void;
}

export function batchedStdout(out: { write(s: string): unknown } = process.stdout, fd = 1): LineSink {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!pending.length) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    out.write(text);
  };
  process.on('exit', () => {
    if (!pending.length) return;
    try {
      writeSync(fd, pending.join(''));
    } catch {
      /* stdout gone: nothing to write to */
    }
    pending = [];
  });
  return {
    write(line) {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
