/**
 * Registry URLs: every scheme parses to its location, bad ones fail at once with a ConfigError, and no registry's
 * client library is loaded before its scheme is used.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { createDiscovery, createRegistrar, isRegistryUrl, parseRegistryUrl } from '../registry/index.js';
import { distDir } from './helpers/paths.js';
import { run } from './helpers/processes.js';

describe('registry URLs', () => {
  it('parses every scheme', () => {
    assert.deepEqual(
      { ...parseRegistryUrl('zk://10.0.0.1:2181,10.0.0.2:2181/rpcx_test'), params: undefined },
      { kind: 'zk', hosts: ['10.0.0.1:2181', '10.0.0.2:2181'], basePath: '/rpcx_test', params: undefined },
    );
    assert.equal(parseRegistryUrl('etcd://127.0.0.1:2379').basePath, '/rpcx');
    const mdns = parseRegistryUrl('mdns://?interface=127.0.0.1&port=5354');
    assert.deepEqual([mdns.kind, mdns.hosts, mdns.params.get('interface'), mdns.params.get('port')], ['mdns', [], '127.0.0.1', '5354']);
    const dns = parseRegistryUrl('dns://127.0.0.1:53/arith.svc.cluster.local?port=8972&network=kcp');
    assert.deepEqual([dns.kind, dns.hosts, dns.basePath, dns.params.get('port'), dns.params.get('network')], ['dns', ['127.0.0.1:53'], '/arith.svc.cluster.local', '8972', 'kcp']);
    assert.deepEqual([parseRegistryUrl('dns+srv:///arith.example.com').kind, parseRegistryUrl('dns+srv:///arith.example.com').hosts], ['dns+srv', []]);
    for (const url of ['etcd://h:1/x', 'redis://h:1', 'zk://h:1', 'mdns://', 'dns:///x?port=1', 'dns+srv:///x']) assert.ok(isRegistryUrl(url), url);
    for (const text of ['tcp@127.0.0.1:8972', 'consul://h:8500/x', 'constructor://x', 'http://h/x']) assert.ok(!isRegistryUrl(text), text);
  });

  it('rejects bad URLs with a ConfigError before connecting anywhere', async () => {
    assert.throws(() => parseRegistryUrl('consul://127.0.0.1:8500/rpcx'), ConfigError);
    assert.throws(() => parseRegistryUrl('zk:///rpcx'), ConfigError, 'zk needs its servers');
    assert.throws(() => parseRegistryUrl('redis://a:1,b:2/rpcx'), ConfigError);
    assert.throws(() => createRegistrar('dns+srv:///arith.example.com'), ConfigError, 'DNS has no registrar');
    await assert.rejects(createDiscovery('dns:///arith.example.com', 'Arith'), ConfigError, 'dns:// needs ?port=');
    await assert.rejects(createDiscovery('dns+srv://127.0.0.1:53/', 'Arith'), ConfigError, 'a name to resolve');
    await assert.rejects(createDiscovery('mdns://?port=99999', 'Arith'), ConfigError);
  });

  it('loads no registry client library until its scheme is used', async () => {
    // A fresh process records every module it resolves while it imports the registry entry and makes registrars.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(specifier, context, next) { seen.add(specifier); return next(specifier, context); } });
      const registry = await import(${JSON.stringify(join(distDir, 'registry', 'index.js'))});
      for (const url of ['etcd://127.0.0.1:1/x', 'redis://127.0.0.1:1/x', 'zk://127.0.0.1:1/x', 'mdns://']) registry.createRegistrar(url);
      // (etcd3 and ioredis come in with the entry's static re-exports of EtcdRegistrar and RedisRegistrar.)
      const heavy = ['node-zookeeper-client', 'multicast-dns'];
      const before = heavy.filter((name) => seen.has(name));
      await registry.createDiscovery('zk://127.0.0.1:1/x', 'Arith').catch(() => undefined);
      console.log(JSON.stringify({ before, zkAfterUse: seen.has('node-zookeeper-client') }));
    `;
    const result = await run('--input-type=module', ['-e', script]).catch(() => undefined);
    assert.ok(result, 'the probe ran');
    assert.equal(result.code, 0, result.stderr);
    const { before, zkAfterUse } = JSON.parse(result.stdout.trim().split('\n').pop()!) as { before: string[]; zkAfterUse: boolean };
    assert.deepEqual(before, []);
    assert.equal(zkAfterUse, true);
  });
});
