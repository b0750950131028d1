/**
 * `import 'rpcx-ts'` loads only what a plain server or client needs: the registry clients (etcd3 and its gRPC,
 * ioredis), prom-client, protobufjs, @opentelemetry/api and ws load when their feature is first used, and so do
 * Node's tls and zlib.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LAZY_PACKAGES, probeImport } from './helpers/module-graph.js';
import { distDir, repoRoot } from './helpers/paths.js';

const entry = (file: string): string => pathToFileURL(join(distDir, file)).href;

describe('root import', () => {
  it('loads none of the lazily loaded packages', async () => {
    const probe = await probeImport(entry('index.js'), repoRoot);
    for (const name of LAZY_PACKAGES) assert.ok(!probe.packages.has(name), `import 'rpcx-ts' loaded ${name}`);
    // node:tls (with node:crypto) and node:zlib load on the first TLS connection or gzip payload (lazy-builtins.ts).
    for (const name of ['tls', 'zlib']) assert.ok(!probe.builtins.has(name), `import 'rpcx-ts' loaded node:${name}`);
    for (const name of ['Server', 'Client', 'XClient', 'service', 'method', 'RpcError', 'registerCodec', 'SelectMode']) {
      assert.ok(probe.exports.includes(name), `rpcx-ts exports ${name}`);
    }
    console.log(`  import('rpcx-ts'): ${probe.ms.toFixed(0)} ms; packages: ${[...probe.packages].sort().join(', ')}`);
  });

  it('keeps internals out of the root surface', async () => {
    const probe = await probeImport(entry('index.js'), repoRoot);
    for (const name of ['FrameParser', 'ConnectionPool', 'fnv1a64', 'PAGE_PATHS', 'PluginContainer', 'getTransport', 'EtcdRegistrar']) {
      assert.ok(!probe.exports.includes(name), `rpcx-ts should not export ${name}`);
    }
  });

  it('each registry subpath loads only its own store client', async () => {
    const etcd = await probeImport(entry('registry/etcd.js'), repoRoot);
    assert.ok(etcd.packages.has('etcd3'));
    assert.ok(!etcd.packages.has('ioredis'), 'rpcx-ts/registry/etcd loaded ioredis');
    const redis = await probeImport(entry('registry/redis.js'), repoRoot);
    assert.ok(redis.packages.has('ioredis'));
    assert.ok(!redis.packages.has('etcd3'), 'rpcx-ts/registry/redis loaded etcd3');
  });
});
