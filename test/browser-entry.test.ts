/**
 * The browser entry: nothing it loads may use a Node API, and its Client works against a real ws server through the
 * standard WebSocket API (Node's global WebSocket is the same API browsers have).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { distDir } from './helpers/paths.js';
import { startExampleServer } from './helpers/example-server.js';

/**
 * Every module reachable from `entry` by static imports, split into local files and bare package names, plus the
 * packages loaded by dynamic `import()` (only when a feature is used).
 */
function importGraph(entry: string): { files: Set<string>; packages: Set<string>; dynamic: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const dynamic = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1] ?? match[2]!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else packages.add(specifier);
    }
    for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) dynamic.add(match[1]!);
  };
  visit(entry);
  return { files, packages, dynamic };
}

describe('browser entry', () => {
  it('loads no Node built-in module, directly or indirectly', () => {
    const { files, packages, dynamic } = importGraph(join(distDir, 'browser.js'));
    const nodeBuiltins = [...packages].filter((p) => p.startsWith('node:') || builtinModules.includes(p));
    assert.deepEqual(nodeBuiltins, [], 'no node: imports');
    assert.deepEqual([...packages].sort(), ['msgpackr'], 'the only package is msgpackr (browser build)');
    // WebTransport's ponyfill loads on the first `wt` dial; its browser build (export condition `browser`) uses no Node API.
    assert.deepEqual([...dynamic].sort(), ['@fails-components/webtransport']);
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      assert.doesNotMatch(source, /\brequire\(/, `${file} uses require`);
    }
    assert.ok(files.size > 5);
  });

  it('calls a ws server through the browser Client', async () => {
    const { server } = await startExampleServer();
    const listener = await server.serve('ws@127.0.0.1:0');
    const browser = (await import(join(distDir, 'browser.js'))) as typeof import('../browser.js');
    const client = await browser.Client.connect(`ws@${listener.address}`, { logger: browser.silentLogger });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    assert.deepEqual(await client.call('Arith', 'Add', { A: 6, B: 7 }, { serializeType: browser.SerializeType.JSON }), { C: 13 });
    await client.close();
    await server.close();
  });
});
