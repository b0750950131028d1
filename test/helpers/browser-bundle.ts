/**
 * The `rpcx-ts/browser` entry (dist/browser.js) bundled for a page with esbuild, as an application's bundler would:
 * browser conditions, one ES module. Pages import it as `/rpcx-browser.js`.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { distDir } from './paths.js';

let bundled: Promise<string> | undefined;

export function bundleBrowserEntry(): Promise<string> {
  bundled ??= build({
    entryPoints: [join(distDir, 'browser.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
  return bundled;
}
