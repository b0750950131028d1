/**
 * The package as users get it: `npm pack` (whose prepack step builds with tsconfig.build.json) in a copy of the
 * repository, the tarball installed into an empty project with npm, and every public subpath imported there by name
 * (also type-checked by tsc through the `types` conditions). The published files hold no tests or source maps.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { LAZY_PACKAGES, probeImport } from './helpers/module-graph.js';
import { repoRoot } from './helpers/paths.js';

const exec = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  exec('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });

const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
/** `rpcx-ts`, `rpcx-ts/browser`, ...: every subpath in package.json's exports but package.json itself. */
const subpaths = Object.keys(packageJson.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? packageJson.name : `${packageJson.name}/${key.slice(2)}`));

describe('the packed package', { timeout: 600_000 }, () => {
  let work: string;
  let app: string;
  let files: string[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'rpcx-pack-'));
    // Pack a copy, so prepack's clean build does not replace the dist/ this suite is running from.
    const copy = join(work, 'repo');
    cpSync(repoRoot, copy, {
      recursive: true,
      filter: (source) => !/^(node_modules|dist|\.git)(\/|$)/.test(relative(repoRoot, source)),
    });
    symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
    const { stdout } = await npm(['pack', '--json', '--pack-destination', work], copy);
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed!.files.map((f) => f.path);

    app = join(work, 'app');
    cpSync(join(repoRoot, 'test', 'fixtures', 'package-app'), app, { recursive: true });
    await npm(['install', '--prefer-offline', join(work, packed!.filename)], app);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built library and no tests, sources or source maps', () => {
    for (const required of ['dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/registry/index.js', 'dist/bin/rpcx-ts.js']) {
      assert.ok(files.includes(required), `the package lacks ${required}`);
    }
    const unwanted = files.filter((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.endsWith('.map') || /(?<!\.d)\.ts$/.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('imports every subpath by name', async () => {
    assert.ok(subpaths.includes('rpcx-ts/browser'));
    for (const subpath of subpaths) {
      const probe = await probeImport(subpath, app);
      assert.ok(probe.exports.length > 0, `${subpath} exports nothing`);
    }
  });

  it('the installed root import loads none of the lazily loaded packages', async () => {
    const probe = await probeImport('rpcx-ts', app);
    for (const name of LAZY_PACKAGES) assert.ok(!probe.packages.has(name), `import 'rpcx-ts' loaded ${name}`);
  });

  it('compiles and runs a decorated service and a client, importing every subpath, with the README settings', async () => {
    writeFileSync(join(app, 'subpaths.ts'), subpaths.map((s, i) => `import * as entry${i} from '${s}';\nvoid entry${i};\n`).join(''));
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await exec(process.execPath, [tsc, '-p', app, '--typeRoots', join(repoRoot, 'node_modules', '@types')], { cwd: app, timeout: 120_000 }).catch(
      (error: { stdout?: string }) => assert.fail(`tsc failed:\n${error.stdout}`),
    );
    const { stdout } = await exec(process.execPath, [join(app, 'out', 'app.js')], { cwd: app, timeout: 30_000 });
    assert.equal(stdout.trim(), 'Arith.Mul 6*7 = 42');
  });
});
