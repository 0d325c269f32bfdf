/**
 * The tenant secret behind `urn:uuid:` endpoint names: 32 random octets, generated once and kept in a file
 * (mode 0600) so names stay the same across restarts. An existing file is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const TENANT_SECRET_OCTETS = 32;

export function loadOrCreateTenantSecret(file: string): Buffer {
  try {
    return parseSecret(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(TENANT_SECRET_OCTETS);
  try {
    writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    // Another process created it first: use theirs, so every NF derives the same names.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseSecret(readFileSync(file, 'utf8'), file);
    throw err;
  }
}

function parseSecret(text: string, file: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{32,}$/.test(hex) || hex.length % 2)
    throw new Error(`${file}: tenant secret must be hex, at least 16 octets`);
  return Buffer.from(hex, 'hex');
}
