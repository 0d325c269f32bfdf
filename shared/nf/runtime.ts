/**
 * What every NF process does around its protocol logic: load the configuration, open the store, start
 * the listeners, print one `ready` line with the real URLs (port 0 works), and close cleanly on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type Logger } from '../log.js';
import { Registry, registerProcessMetrics } from '../metrics.js';
import type { ResolvedConfig } from '../config.js';
import { labelWorkerMetrics } from './workers.js';

export interface NfContext {
  config: ResolvedConfig;
  log: Logger;
  registry: Registry;
}

export function nfContext(nf: string, config: ResolvedConfig): NfContext {
  const log = createLogger({ level: config.log.level, bindings: { nf } });
  const registry = new Registry();
  registerProcessMetrics(registry);
  registry.register({ render: renderProcessFaults });
  labelWorkerMetrics(registry); // worker="<i>" on every sample in a --workers worker (shared/nf/workers.ts)
  return { config, log, registry };
}

// --- process-level faults (issue 18 finding 7) ---------------------------------------------------------------

/** Counted per process (every registry of the process renders the same figures). */
const processFaults = { unhandledRejection: 0, uncaughtException: 0 };

function renderProcessFaults(): string {
  return [
    '# HELP process_unhandled_errors_total Promise rejections no code handled (the process kept serving) and exceptions no code caught (the process exited).',
    '# TYPE process_unhandled_errors_total counter',
    `process_unhandled_errors_total{kind="unhandledRejection"} ${processFaults.unhandledRejection}`,
    `process_unhandled_errors_total{kind="uncaughtException"} ${processFaults.uncaughtException}`,
  ].join('\n');
}

/** Credentials that may sit in an error's text: userinfo of a URL (redis://:pw@host) and Bearer tokens. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/g, '$1 [redacted]');
}

/** An error as the fault log shows it: name, message and the top of the stack, secrets scrubbed, nothing else. */
function faultFields(reason: unknown): Record<string, string> {
  if (reason instanceof Error) {
    return {
      name: reason.name,
      message: scrubSecrets(reason.message),
      stack: scrubSecrets(reason.stack?.split('\n').slice(1, 6).join('\n') ?? ''),
    };
  }
  return { message: scrubSecrets(typeof reason === 'string' ? reason : Object.prototype.toString.call(reason)) };
}

export interface ProcessFaultHandlers {
  onUnhandledRejection(reason: unknown): void;
  onUncaughtException(err: unknown): void;
}

/**
 * What the process does with a fault no code handled. An unhandled rejection settles a promise nobody awaits:
 * the request that produced it has already been answered or has failed on its own, and the event loop and every
 * listener are intact, so the NF logs it, counts it and keeps serving. An uncaught exception leaves a callback
 * half done with state of unknown consistency (Node's documentation: "it is not safe to resume normal operation"),
 * so the NF logs it, counts it and exits non-zero; `gba-sim up`'s supervisor (or systemd) restarts it.
 */
export function processFaultHandlers(
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): ProcessFaultHandlers {
  return {
    onUnhandledRejection(reason) {
      processFaults.unhandledRejection++;
      try {
        log.error(
          { event: 'process.unhandled-rejection', reason: faultFields(reason) },
          'unhandled promise rejection; still serving',
        );
      } catch {
        /* logging must not turn this into an exception */
      }
    },
    onUncaughtException(err) {
      processFaults.uncaughtException++;
      try {
        log.error(
          { event: 'process.uncaught-exception', reason: faultFields(err) },
          'uncaught exception; exiting for the supervisor to restart',
        );
      } finally {
        exit(70); // EX_SOFTWARE (sysexits.h)
      }
    },
  };
}

/** The current counts (tests and the fault log). */
export const processFaultCounts = (): Readonly<typeof processFaults> => ({ ...processFaults });

let installed: ProcessFaultHandlers | undefined;
/** Installs the handlers once per process (every NF does, before it announces readiness). */
export function installProcessFaultHandlers(log: Logger): void {
  if (installed) return;
  installed = processFaultHandlers(log);
  process.on('unhandledRejection', installed.onUnhandledRejection);
  process.on('uncaughtException', installed.onUncaughtException);
}

/** A bearer token: 32 random octets, base64url. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/**
 * A configured token, or one generated once and kept in the state directory (mode 0600) so a standalone NF
 * keeps it across restarts. The log says where it is, never what it is.
 */
export function tokenFromConfigOrState(value: string | undefined, stateDir: string, name: string, log: Logger): string {
  if (value) return value;
  const file = join(stateDir, name);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(stateDir, { recursive: true });
    const t = newToken();
    writeFileSync(file, `${t}\n`, { mode: 0o600 });
    log.info({ file }, `generated ${name}; it is in the file named here`);
    return t;
  }
}

/** Announces readiness, installs the process fault handlers and wires the shutdown signals. */
export function runUntilSignalled(log: Logger, listeners: Record<string, string>, close: () => Promise<void>): void {
  installProcessFaultHandlers(log);
  log.info({ event: 'ready', listeners }, 'ready');
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Supervised, a terminal's Ctrl-C reaches the whole process group at once: leave the order to the parent
  // (`gba-sim up` stops its demo device first, then each NF with SIGTERM).
  process.on('SIGINT', () => {
    if (process.env.GBA_SIM_SUPERVISED !== '1') stop('SIGINT');
  });
  // Started by `gba-sim up`: stdin is a pipe from the parent, so its end means the parent is gone
  // (even after a SIGKILL); never outlive it.
  if (process.env.GBA_SIM_SUPERVISED === '1') {
    process.stdin.on('end', () => stop('parent exited'));
    process.stdin.on('error', () => stop('parent exited'));
    process.stdin.resume();
  }
}
