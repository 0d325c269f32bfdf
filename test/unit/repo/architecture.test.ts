/** ARCHITECTURE §2: network functions never import each other; shared/ imports only itself. */
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

describe('architecture: import boundaries', () => {
  for (const folder of [...NFS, 'shared'] as const) {
    it(`${folder}/ imports only itself and shared/`, () => {
      const offenders: string[] = [];
      for (const file of tsFiles(join(REPO_ROOT, folder))) {
        for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
          const target = topFolderOf(resolve(dirname(file), spec!));
          if (target !== folder && target !== 'shared') offenders.push(`${relative(REPO_ROOT, file)} → ${spec}`);
        }
      }
      expect(offenders).to.deep.equal([]);
    });
  }
  it('the check sees imports at all (it would catch one)', () => {
    const text = "import { x } from '../bsf/ub.js';";
    expect([...text.matchAll(IMPORT)].map((m) => m[1])).to.deep.equal(['../bsf/ub.js']);
  });
});
