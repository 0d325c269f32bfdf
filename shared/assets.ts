/** Files shipped beside the code (OpenAPI documents), found from the package root in source and in dist/ alike. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above shared/assets');
    dir = up;
  }
  return (root = dir);
}

export const readAsset = (relative: string): string => readFileSync(join(packageRoot(), relative), 'utf8');
