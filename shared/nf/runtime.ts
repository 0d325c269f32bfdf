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
  labelWorkerMetrics(registry);   // worker="<i>" on every sample in a --workers worker (shared/nf/workers.ts)
  return { config, log, registry };
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

/** Announces readiness and wires the shutdown signals. */
export function runUntilSignalled(log: Logger, listeners: Record<string, string>, close: () => Promise<void>): void {
  log.info({ event: 'ready', listeners }, 'ready');
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    close().then(() => process.exit(0), (err) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Supervised, a terminal's Ctrl-C reaches the whole process group at once: leave the order to the parent
  // (`gba-sim up` stops its demo device first, then each NF with SIGTERM).
  process.on('SIGINT', () => { if (process.env.GBA_SIM_SUPERVISED !== '1') stop('SIGINT'); });
  // Started by `gba-sim up`: stdin is a pipe from the parent, so its end means the parent is gone
  // (even after a SIGKILL); never outlive it.
  if (process.env.GBA_SIM_SUPERVISED === '1') {
    process.stdin.on('end', () => stop('parent exited'));
    process.stdin.on('error', () => stop('parent exited'));
    process.stdin.resume();
  }
}
