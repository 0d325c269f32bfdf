/**
 * package.json says which Node the project runs on (engines.node); every package the lock file installs must
 * accept that Node too, or `npm ci` warns EBADENGINE (and skips an optional package outright). The oldest Node
 * the project accepts is the one that must satisfy every dependency's range.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/cli.js';

const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}
const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as T;

describe('repo: the Node engines of the dependencies', () => {
  const ours = readJson<{ engines: { node: string } }>('package.json').engines.node;
  const oldest = semver.minVersion(ours)?.version;

  it('package.json names a lowest Node version', () => {
    expect(oldest, ours).to.match(/^\d+\.\d+\.\d+$/);
  });

  it('every package in package-lock.json accepts the oldest Node the project accepts (no EBADENGINE)', () => {
    const packages = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json').packages;
    const refusing = Object.entries(packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, p]) => {
        const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
        return range && !semver.satisfies(oldest!, range) ? [`${path}@${p.version}: node ${range}`] : [];
      });
    expect(Object.keys(packages).length).to.be.greaterThan(10);
    expect(refusing).to.deep.equal([]);
  });

  it('the check would catch a package that asks for a newer Node', () => {
    expect(semver.satisfies(oldest!, '>=22')).to.equal(false);
  });
});
