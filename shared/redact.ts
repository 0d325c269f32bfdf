/**
 * One place that keeps secrets out of what people and log files see (issue 18 finding 5): URLs with
 * credentials (RFC 3986 §3.2.1 userinfo, e.g. `redis://:pw@host:6379` or `redis://user:pw@host`) are shown
 * with the password replaced, in any text; files that may hold secrets are written mode 0600.
 *
 * Used by the store's start log line (every NF), `up`'s output and the log files it writes, effective-config.json
 * (through redactConfig) and the bench's report.
 */
import { chmodSync, writeFileSync } from 'node:fs';

export const REDACTED = '[redacted]';

// scheme "://" userinfo "@": the userinfo has no "/", "?", "#", "@" or white space (RFC 3986 §3.2.1).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]*)@/gi;

/**
 * `text` with the password of every URL's userinfo replaced by [redacted]; a userinfo without ":" (the
 * password alone, as some clients write it) is replaced whole. Text without credentials comes back unchanged.
 */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (userinfo === '') return `${scheme}@`;
    return colon < 0 ? `${scheme}${REDACTED}@` : `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@`;
  });
}

/** Writes a file only its owner may read (0600), also when it existed before with a wider mode. */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  writeFileSync(file, data, { mode: 0o600 });
  chmodSync(file, 0o600);
}
