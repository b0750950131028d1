import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as errors from '../errors.js';
import * as root from '../index.js';
import { distDir, repoRoot } from './helpers/paths.js';

type ErrorClass = (new (...args: unknown[]) => Error) & { code?: string };

/** The exported classes of a module that extend Error. */
function errorClasses(module: Record<string, unknown>): Map<string, ErrorClass> {
  const classes = new Map<string, ErrorClass>();
  for (const [name, value] of Object.entries(module)) {
    if (typeof value === 'function' && value.prototype instanceof Error) classes.set(name, value as ErrorClass);
  }
  return classes;
}

/** Every compiled library module (not tests, benches, examples or the CLI) whose source still exists. */
function libraryModules(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.js') && existsSync(join(repoRoot, relative(distDir, path)).replace(/\.js$/, '.ts'))) files.push(path);
    }
  };
  for (const folder of ['protocol', 'codec', 'transport', 'server', 'client', 'registry']) walk(join(distDir, folder));
  for (const file of ['errors.js', 'logger.js', 'tracing.js', 'index.js']) files.push(join(distDir, file));
  return files;
}

describe('error catalogue', () => {
  const catalogue = errorClasses(errors);

  it('gives every error class its own stable code, which its instances carry', () => {
    const owners = new Map<string, string>();
    for (const [name, cls] of catalogue) {
      if (cls === errors.RpcError) continue;
      assert.ok(Object.hasOwn(cls, 'code'), `${name} declares no static code`);
      const code = cls.code!;
      assert.match(code, /^ERR_RPCX_[A-Z0-9_]+$/, `${name}: ${code}`);
      assert.equal(owners.get(code), undefined, `${name} and ${owners.get(code)} share ${code}`);
      owners.set(code, name);
      const instance = new cls('x') as errors.RpcError;
      assert.ok(instance instanceof errors.RpcError, `${name} is not an RpcError`);
      assert.equal(instance.code, code, `new ${name}().code`);
      assert.equal(instance.name, name);
    }
    assert.ok(owners.size >= 25, `only ${owners.size} codes`);
  });

  it('is exported whole from the package root', () => {
    for (const [name, cls] of catalogue) assert.equal((root as Record<string, unknown>)[name], cls, `${name} is not exported from the root`);
  });

  it('is the only place that defines error classes', async () => {
    const strays: string[] = [];
    for (const file of libraryModules()) {
      const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const [name, cls] of errorClasses(module)) {
        if (catalogue.get(name) !== cls) strays.push(`${relative(distDir, file)}: ${name}`);
      }
    }
    assert.deepEqual(strays, []);
  });

  it('wraps thrown non-Errors in ThrownValueError and passes Errors through', () => {
    const error = new errors.TimeoutError();
    assert.equal(errors.asError(error), error);
    const wrapped = errors.asError('boom');
    assert.ok(wrapped instanceof errors.ThrownValueError);
    assert.equal(wrapped.message, 'boom');
    assert.equal(wrapped.value, 'boom');
  });
});
