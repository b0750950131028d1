/** Where things are, from a compiled test in dist/test/. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/** The steering repo's shared folder, beside the repository (override with RPCX_SHARED_DIR). */
export const sharedDir = process.env.RPCX_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');

export const distDir = join(repoRoot, 'dist');
