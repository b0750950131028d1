/**
 * DNS discovery against a real dnsmasq on a loopback port: A records on a given port (as rpcx's DNSDiscovery), SRV
 * records with a port and weight per target feeding the weighted selector, TXT metadata, re-resolution on the TTL,
 * the last good list kept while DNS is down, and XClient load across a join and a graceful stop with no failed call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Server, silentLogger } from '../index.js';
import type { Discovery } from '../client/discovery/discovery.js';
import { XClient } from '../client/xclient.js';
import { ConfigError } from '../errors.js';
import { createDiscovery, createRegistrar, DnsDiscovery } from '../registry/index.js';
import { startDnsmasq, type Dnsmasq } from './helpers/dnsmasq.js';
import { freePort } from './helpers/ports.js';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';
import { callLoad, Counter, keys, until } from './helpers/registry-fixtures.js';


describe('DNS discovery', () => {
  let dns: Dnsmasq;
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    dns = await startDnsmasq({ domain: 'rpcx.test', hosts: '', config: '' });
  });
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
    await dns.dispose();
  });

  const startServer = async (endpoint: string): Promise<{ server: Server; counter: Counter }> => {
    const server = new Server({ logger: silentLogger });
    const counter = new Counter();
    server.register(counter);
    await server.serve(endpoint);
    cleanup.push(() => server.close({ timeoutMs: 500 }));
    return { server, counter };
  };

  const discover = async (url: string): Promise<Discovery> => {
    const discovery = await createDiscovery(url, 'Counter', { logger: silentLogger });
    cleanup.push(() => discovery.close());
    return discovery;
  };

  it('lists the A records of a name on the given port and network, and follows them on the TTL', async () => {
    await dns.setHosts('127.0.0.1 a.rpcx.test\n');
    const discovery = await discover(`dns://${dns.server}/a.rpcx.test?port=8972&network=tcp`);
    assert.deepEqual(discovery.list(), [{ key: 'tcp@127.0.0.1:8972', value: '' }]);
    const seen: string[][] = [];
    discovery.watch((pairs) => seen.push(keys(pairs)));
    await dns.setHosts('127.0.0.1 a.rpcx.test\n127.0.0.2 a.rpcx.test\n::1 a.rpcx.test\n');
    await until(() => discovery.list().length === 3, 'the new records (TTL 1 s)', 8000);
    assert.deepEqual(keys(discovery.list()), ['tcp@127.0.0.1:8972', 'tcp@127.0.0.2:8972', 'tcp@[::1]:8972']);
    await dns.setHosts('127.0.0.2 a.rpcx.test\n');
    await until(() => discovery.list().length === 1, 'the removed records to go', 8000);
    assert.deepEqual(keys(discovery.list()), ['tcp@127.0.0.2:8972']);
    assert.ok(seen.length >= 2, 'watchers were told');
    // A name with no records is an answer: the list empties.
    await dns.setHosts('');
    await until(() => discovery.list().length === 0, 'the name to resolve to nothing', 8000);
  });

  it('lists SRV targets with their own port, weight and TXT metadata, and the weighted selector follows the weights', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const a = await startServer(`tcp@127.0.0.1:${p1}`);
    const b = await startServer(`tcp@127.0.0.1:${p2}`);
    await dns.stop();
    dns.setConfig(
      [
        `srv-host=_rpcx._tcp.svc.rpcx.test,a.rpcx.test,${p1},0,1`,
        `srv-host=_rpcx._tcp.svc.rpcx.test,b.rpcx.test,${p2},0,3`,
        // A higher priority is a backup: not listed while priority 0 has targets.
        `srv-host=_rpcx._tcp.svc.rpcx.test,c.rpcx.test,9999,10,1`,
        'txt-record=a.rpcx.test,"group=blue","state=active"',
        '',
      ].join('\n'),
    );
    await dns.start();
    await dns.setHosts('127.0.0.1 a.rpcx.test\n127.0.0.1 b.rpcx.test\n127.0.0.1 c.rpcx.test\n');
    const discovery = await discover(`dns+srv://${dns.server}/svc.rpcx.test`);
    assert.deepEqual(discovery.list(), [
      { key: `tcp@127.0.0.1:${p1}`, value: 'group=blue&state=active&weight=1' },
      { key: `tcp@127.0.0.1:${p2}`, value: 'weight=3' },
    ].sort((x, y) => (x.key < y.key ? -1 : 1)));
    const xclient = new XClient('Counter', 'failtry', 'weighted', discovery, { logger: silentLogger, timeoutMs: 5000 });
    cleanup.push(() => xclient.close());
    for (let i = 0; i < 400; i++) await xclient.call('Hit', {});
    assert.equal(a.counter.calls, 100, 'weight 1 of 4');
    assert.equal(b.counter.calls, 300, 'weight 3 of 4');
  });

  it('keeps the last good list while DNS is down and picks up changed SRV records after it restarts', async () => {
    dns.setConfig('srv-host=_rpcx._tcp.down.rpcx.test,a.rpcx.test,7001,0,2\n');
    await dns.stop();
    await dns.start();
    await dns.setHosts('127.0.0.1 a.rpcx.test\n127.0.0.2 b.rpcx.test\n');
    const discovery = await discover(`dns+srv://${dns.server}/_rpcx._tcp.down.rpcx.test?network=kcp`);
    assert.deepEqual(discovery.list(), [{ key: 'kcp@127.0.0.1:7001', value: 'weight=2' }]);
    await dns.stop();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.deepEqual(keys(discovery.list()), ['kcp@127.0.0.1:7001'], 'the last good list is kept while DNS fails');
    dns.setConfig('srv-host=_rpcx._tcp.down.rpcx.test,a.rpcx.test,7001,0,2\nsrv-host=_rpcx._tcp.down.rpcx.test,b.rpcx.test,7002,0,0\n');
    await dns.start();
    await until(() => discovery.list().length === 2, 'the restarted DNS server to be asked again', 10_000);
    assert.deepEqual(discovery.list(), [
      { key: 'kcp@127.0.0.1:7001', value: 'weight=2' },
      { key: 'kcp@127.0.0.2:7002', value: 'weight=1' },
    ]);
  });

  it('re-resolves on the TTL bounded below and above', async () => {
    // Lower bound: a 1 s TTL is not followed faster than minRefreshMs.
    await dns.setHosts('127.0.0.1 bound.rpcx.test\n');
    const slow = await DnsDiscovery.create({ name: 'bound.rpcx.test', mode: 'a', port: 1, servers: [dns.server], minRefreshMs: 3000, logger: silentLogger });
    cleanup.push(() => slow.close());
    await dns.setHosts('127.0.0.3 bound.rpcx.test\n');
    const changedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(keys(slow.list()), ['tcp@127.0.0.1:1'], 'not asked again before minRefreshMs');
    await until(() => slow.list()[0]?.key === 'tcp@127.0.0.3:1', 'the re-resolve after minRefreshMs', 6000);
    assert.ok(Date.now() - changedAt >= 2000, 'it waited for the lower bound');
    // Upper bound: an hour-long TTL is not trusted longer than maxRefreshMs.
    const longTtl = await startDnsmasq({ domain: 'rpcx.test', hosts: '127.0.0.1 long.rpcx.test\n', config: '', ttlSeconds: 3600 });
    cleanup.push(() => longTtl.dispose());
    const capped = await DnsDiscovery.create({ name: 'long.rpcx.test', mode: 'a', port: 1, servers: [longTtl.server], minRefreshMs: 100, maxRefreshMs: 400, logger: silentLogger });
    cleanup.push(() => capped.close());
    await longTtl.setHosts('127.0.0.4 long.rpcx.test\n');
    await until(() => capped.list()[0]?.key === 'tcp@127.0.0.4:1', 'the re-resolve after maxRefreshMs despite a 3600 s TTL', 3000);
  });

  it('moves XClient load across a join and a graceful stop without a failed call', async () => {
    const port = await freePort();
    const a = await startServer(`tcp@127.0.0.1:${port}`);
    const b = await startServer(`tcp@127.0.0.2:${port}`);
    await dns.setHosts('127.0.0.1 load.rpcx.test\n');
    const discovery = await discover(`dns://${dns.server}/load.rpcx.test?port=${port}`);
    const xclient = new XClient('Counter', 'failover', 'roundrobin', discovery, { logger: silentLogger, timeoutMs: 5000 });
    cleanup.push(() => xclient.close());
    const load = callLoad(xclient);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // B joins in DNS.
    await dns.setHosts(`127.0.0.1 load.rpcx.test\n127.0.0.2 load.rpcx.test\n`);
    await until(() => discovery.list().length === 2, 'B to be listed', 8000);
    await until(() => b.counter.calls > 0, 'B to take calls');
    // A leaves DNS first, then stops gracefully once clients have moved away.
    await dns.setHosts(`127.0.0.2 load.rpcx.test\n`);
    await until(() => discovery.list().length === 1, 'A to be dropped from DNS', 8000);
    await a.server.close({ timeoutMs: 2000 });
    const afterStop = b.counter.calls;
    await until(() => b.counter.calls > afterStop + 50, 'B to carry the load alone');
    const { ok, failures } = await load.stop();
    assert.deepEqual(failures, [], 'no call failed');
    assert.ok(ok > 100, `calls made: ${ok}`);
    assert.ok(a.counter.calls > 0);
    assert.deepEqual(keys(discovery.list()), [`tcp@127.0.0.2:${port}`]);
  });

  it("is the CLI's discovery argument: call through dns://", async () => {
    const port = await freePort();
    const { child } = await startListening(cliPath, ['serve-examples', '--listen', `tcp@127.0.0.2:${port}`]);
    cleanup.push(() => stopProcess(child));
    await dns.setHosts('127.0.0.2 cli.rpcx.test\n');
    const result = await run(cliPath, ['call', `dns://${dns.server}/cli.rpcx.test?port=${port}`, 'Arith.Mul', '{"A":6,"B":7}']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { C: 42 });
  });

  it('rejects URLs it cannot use, with a typed error', async () => {
    await assert.rejects(createDiscovery(`dns://${dns.server}/a.rpcx.test`, 'Counter'), ConfigError);
    await assert.rejects(createDiscovery(`dns://${dns.server}/a.rpcx.test?port=70000`, 'Counter'), ConfigError);
    assert.throws(() => createRegistrar(`dns://${dns.server}/a.rpcx.test?port=1`), ConfigError);
  });
});
