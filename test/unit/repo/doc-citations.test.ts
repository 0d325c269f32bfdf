/**
 * Comments cite standards' clauses or files inside the repository (issue 10 item 5): never the reference notes
 * outside it (../shared/reference, "digest §…", "ARCHITECTURE C3"), and every `*.md` a source file names exists.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { REPO_ROOT } from '../../support/cli.js';

// bsf/, naf/, hss-mock/ and device/ join this list once their comments are rewritten (another change).
const FOLDERS = [
  'bin',
  'bench',
  'shared',
  'lwm2m',
  'console',
  'scripts',
  'test',
  'bsf',
  'naf',
  'hss-mock',
  'device',
  'conform',
  'examples',
] as const;
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : SOURCE.test(f) ? [p] : [];
  });
}

/** Every markdown file of the repository, by path and by base name. */
function markdownIndex(): { paths: Set<string>; names: Set<string> } {
  const paths = new Set<string>();
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      if (f === 'node_modules' || f === 'dist' || f.startsWith('.')) continue;
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.md')) paths.add(relative(REPO_ROOT, p));
    }
  };
  walk(REPO_ROOT);
  return { paths, names: new Set([...paths].map((p) => basename(p))) };
}

const OUTSIDE = [
  /\.\.\/shared\/reference|shared\/reference\//,
  /(?<![\w/.-])(?:gba-spec-digest|lwm2m-coap-dtls-digest)(?!\.md)/,
  /(?<![\w/.-])digest §/,
  /\bARCHITECTURE(?:\.md)?\s+(?:C\d|§|contract)/,
];
const MD = /(?<![\w/.-])((?:[\w-]+\/)*[\w.-]+\.md)\b/g;

/** The citations in `text` that point outside the repository or at a markdown file it does not have. */
export function badCitations(text: string, md: { paths: Set<string>; names: Set<string> }): string[] {
  const bad: string[] = [];
  for (const re of OUTSIDE) {
    const m = re.exec(text);
    if (m) bad.push(m[0]);
  }
  for (const [, name] of text.matchAll(MD)) {
    const ok = name!.includes('/') ? md.paths.has(name!.replace(/^\.\//, '')) : md.names.has(name!);
    if (!ok) bad.push(name!);
  }
  return bad;
}

describe('repo: comments cite files inside the repository', () => {
  const md = markdownIndex();

  it('the docs the comments cite are in the repository', () => {
    for (const p of [
      'docs/contracts.md',
      'docs/standards-notes/gba.md',
      'docs/standards-notes/lwm2m-coap-dtls.md',
      'docs/toolchain-notes.md',
    ]) {
      expect(md.paths.has(p), p).to.equal(true);
    }
  });

  it(`no source file under ${FOLDERS.join(', ')} cites a document outside the repository`, () => {
    const offenders: string[] = [];
    for (const folder of FOLDERS) {
      for (const file of files(join(REPO_ROOT, folder))) {
        if (file.endsWith('doc-citations.test.ts')) continue;
        for (const b of badCitations(readFileSync(file, 'utf8'), md))
          offenders.push(`${relative(REPO_ROOT, file)}: ${b}`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the check would catch each kind of citation', () => {
    const t = (s: string) => badCitations(s, md);
    expect(t('// see ../shared/reference/ARCHITECTURE.md')).to.not.deep.equal([]);
    expect(t('/** (digest §4.4) */')).to.deep.equal(['digest §']);
    expect(t('// gba-spec-digest §4.9')).to.deep.equal(['gba-spec-digest']);
    expect(t('// ARCHITECTURE C3')).to.deep.equal(['ARCHITECTURE C3']);
    expect(t('// see docs/no-such-file.md')).to.deep.equal(['docs/no-such-file.md']);
    expect(t('// docs/contracts.md C3; docs/standards-notes/lwm2m-coap-dtls.md §4.4; README.md')).to.deep.equal([]);
  });
});
