/** Import boundaries: network functions never import each other; shared/ imports only itself. */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../../support/cli.js';

const NFS = ['hss-mock', 'bsf', 'naf', 'lwm2m', 'device', 'console'] as const;
const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const topFolderOf = (p: string) => relative(REPO_ROOT, p).split(/[\\/]/)[0];

/** `file → spec` for every relative import under `dir` whose target path `allowed` rejects. */
function offendingImports(dir: string, allowed: (targetRelPath: string) => boolean): string[] {
  const offenders: string[] = [];
  for (const file of tsFiles(join(REPO_ROOT, dir))) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = relative(REPO_ROOT, resolve(dirname(file), spec!));
      if (!allowed(target)) offenders.push(`${relative(REPO_ROOT, file)} → ${spec}`);
    }
  }
  return offenders;
}
const under = (folder: string) => (p: string) =>
  p === folder || p.startsWith(`${folder}/`) || p.startsWith(`${folder}\\`);

describe('architecture: import boundaries', () => {
  for (const folder of [...NFS, 'shared'] as const) {
    it(`${folder}/ imports only itself and shared/`, () => {
      const offenders = offendingImports(folder, (t) => [folder, 'shared'].includes(topFolderOf(join(REPO_ROOT, t))!));
      expect(offenders).to.deep.equal([]);
    });
  }
  // The PSK (D)TLS stack is a library of its own: no network function, nothing else of shared/ outside it
  // but shared/ itself (it may use shared/bytes.ts and the like).
  it('shared/psk-tls/ imports only shared/', () => {
    expect(offendingImports('shared/psk-tls', under('shared'))).to.deep.equal([]);
  });
  // bin/ (the CLI) drives bench/; bench/ is handed what it needs of bin/ (the network launcher), so the two
  // never import each other in both directions. bench/ may use shared/ and the device/ clients it measures.
  it('bench/ imports only itself, shared/ and device/ (never bin/)', () => {
    expect(
      offendingImports('bench', (t) => ['bench', 'shared', 'device'].includes(topFolderOf(join(REPO_ROOT, t))!)),
    ).to.deep.equal([]);
  });
  // No import cycle between the two: following relative imports from any file under bench/ (through shared/,
  // device/ or anything else) never reaches bin/, while bin/ does import bench/ (it runs it).
  it('no bin ↔ bench import cycle: nothing reachable from bench/ is under bin/', () => {
    const importsOf = (file: string) =>
      [...readFileSync(file, 'utf8').matchAll(IMPORT)].map(([, spec]) =>
        resolve(dirname(file), spec!.replace(/\.js$/, '.ts')),
      );
    const seen = new Set<string>();
    const queue = tsFiles(join(REPO_ROOT, 'bench'));
    const reachedBin: string[] = [];
    while (queue.length) {
      const f = queue.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      if (topFolderOf(f) === 'bin') {
        reachedBin.push(relative(REPO_ROOT, f));
        continue;
      }
      for (const t of importsOf(f))
        if (t.endsWith('.ts') && !seen.has(t)) {
          try {
            statSync(t);
            queue.push(t);
          } catch {
            /* not a file */
          }
        }
    }
    expect(seen.size).to.be.greaterThan(10); // the walk did follow imports
    expect(reachedBin).to.deep.equal([]);
    expect(offendingImports('bin', (t) => topFolderOf(join(REPO_ROOT, t)) !== 'bench')).to.not.deep.equal([]); // bin → bench exists
  });
  it('the check sees imports at all (it would catch one)', () => {
    const text = "import { x } from '../bsf/ub.js';";
    expect([...text.matchAll(IMPORT)].map((m) => m[1])).to.deep.equal(['../bsf/ub.js']);
  });
});
