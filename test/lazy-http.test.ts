/** The HTTP front (server/http/) is loaded only when a listener sniffs for HTTP. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { distDir } from './helpers/paths.js';
import { run } from './helpers/processes.js';

/** Serves tcp in a fresh process with `options` and prints which server/http/ modules got loaded. */
async function httpModulesLoaded(options: object): Promise<string[]> {
  const serverUrl = pathToFileURL(join(distDir, 'server', 'server.js')).href;
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const { Server } = await import(${JSON.stringify(serverUrl)});
    const server = new Server({ ...${JSON.stringify(options)}, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    await server.serve('tcp', '127.0.0.1:0');
    await server.close();
    console.log(JSON.stringify(loaded.filter((u) => u.includes('/server/http/')).map((u) => u.slice(u.lastIndexOf('/') + 1)).sort()));
  `;
  const finished = await run('--input-type=module', ['-e', script]);
  assert.equal(finished.code, 0, finished.stderr);
  return JSON.parse(finished.stdout) as string[];
}

describe('lazy HTTP front', () => {
  it('is not loaded by a server whose listeners serve binary rpcx only', async () => {
    assert.deepEqual(await httpModulesLoaded({ httpGateway: false, jsonRPC: false, pages: false }), []);
    assert.deepEqual(await httpModulesLoaded({ sniffNetworks: [] }), []);
  });

  it('is loaded when a tcp listener sniffs for HTTP', async () => {
    const loaded = await httpModulesLoaded({});
    assert.ok(loaded.includes('router.js') && loaded.includes('pages.js') && loaded.includes('gateway.js'), loaded.join(', '));
  });
});
