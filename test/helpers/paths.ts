/** Where things are, from a compiled test in dist/test/. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

export const distDir = join(repoRoot, 'dist');

/** Recorded data the tests read (captured Go rpcx wire bytes), kept in the repository. */
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
