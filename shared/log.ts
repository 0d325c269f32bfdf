/**
 * Structured logs: one JSON object per line, with the NF and interface as fields. Callers pass identifiers
 * (IMPI, B-TID, outcome), never keys.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error)
    return { name: err.name, message: err.message, stack: err.stack?.split('\n').slice(0, 6).join('\n') };
  return { message: String(err) };
}

export function createLogger(
  opts: { level?: Level; write?: (line: string) => void; bindings?: Record<string, unknown> } = {},
): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write =
    opts.write ??
    ((line: string) => {
      process.stdout.write(line);
    });
  const make = (bindings: Record<string, unknown>): Logger => {
    const emit = (level: Level) => (fields: Record<string, unknown>, msg: string) => {
      if (ORDER[level] < min) return;
      const rec: Record<string, unknown> = { time: new Date().toISOString(), level, ...bindings, msg };
      for (const [k, v] of Object.entries(fields)) rec[k] = k === 'err' ? errorFields(v) : v;
      write(`${JSON.stringify(rec)}\n`);
    };
    return {
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make(opts.bindings ?? {});
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger({ write: () => {} });
