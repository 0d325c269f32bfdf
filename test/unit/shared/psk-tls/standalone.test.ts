/**
 * The PSK (D)TLS stack stands alone (issue 10 item 3): shared/psk-tls/ imports nothing but itself and two generic
 * helpers (and the generic per-source rate limiter, which imports nothing), and the LwM2M server uses it only through its two public entry points, so nothing under lwm2m/
 * implements DTLS or TLS records.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../../../support/cli.js';

const IMPORT = /(?:from|import)\s*\(?\s*'([^']+)'/g;
const ALLOWED_OUTSIDE = ['shared/errors.ts', 'shared/bytes.ts', 'shared/net/rate-limit.ts'];
const PUBLIC_ENTRIES = ['shared/psk-tls/dtls/index.ts', 'shared/psk-tls/tls/psk-tls-server.ts'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Repository-relative .ts path of every relative import, and every bare specifier as is. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map(([, spec]) =>
    spec!.startsWith('.') ? relative(REPO_ROOT, resolve(dirname(file), spec!)).replace(/\.js$/, '.ts') : spec!,
  );
}

describe('the PSK (D)TLS stack stands alone', () => {
  it('shared/psk-tls/ imports only itself, node: modules and the generic error, byte and rate-limit helpers', () => {
    const offenders: string[] = [];
    for (const file of tsFiles(join(REPO_ROOT, 'shared/psk-tls'))) {
      for (const target of importsOf(file)) {
        const ok =
          target.startsWith('node:') || target.startsWith('shared/psk-tls/') || ALLOWED_OUTSIDE.includes(target);
        if (!ok) offenders.push(`${relative(REPO_ROOT, file)} → ${target}`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('lwm2m/ reaches the stack only through its public entry points and opens no UDP socket of its own', () => {
    const offenders: string[] = [];
    for (const file of tsFiles(join(REPO_ROOT, 'lwm2m'))) {
      for (const target of importsOf(file)) {
        const internal = target.startsWith('shared/psk-tls/') && !PUBLIC_ENTRIES.includes(target);
        if (internal || target === 'node:dgram') offenders.push(`${relative(REPO_ROOT, file)} → ${target}`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the check resolves imports (it would catch one)', () => {
    const file = join(REPO_ROOT, 'lwm2m/coap-dtls-listener.ts');
    expect(importsOf(file)).to.include('shared/psk-tls/dtls/index.ts');
  });
});
