/** XClient select modes over real loopback servers: each server instance counts the calls it served. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../logger.js';
import { MultipleServersDiscovery } from '../client/discovery/multiple.js';
import { XClient } from '../client/xclient.js';
import type { SelectInfo } from '../client/selectors/selector.js';
import { fnv1a64, goFormat, jumpHash, rpcxHashKey } from '../client/selectors/jump-hash.js';
import { runCalls, sleep, startCounterServers, startDelayProxy, stopAll, type CounterServer } from './helpers/xclient-servers.js';

const quiet = { logger: silentLogger };

function hits(servers: CounterServer[], name = 'Hit'): number[] {
  return servers.map((s) => s.counter.count(name));
}

function reset(servers: CounterServer[]): void {
  for (const s of servers) s.counter.byMethod.clear();
}

describe('xclient select modes', () => {
  let servers: CounterServer[];
  before(async () => {
    servers = await startCounterServers(['a', 'b', 'c'], (_id, i) => `weight=${[1, 2, 7][i]}`);
  });
  after(async () => {
    await stopAll(servers);
  });

  const discovery = (): MultipleServersDiscovery =>
    new MultipleServersDiscovery(servers.map((s) => ({ key: s.endpoint, value: s.counter.id === 'a' ? 'weight=1' : s.counter.id === 'b' ? 'weight=2' : 'weight=7' })));

  it('roundrobin: exactly even, in a fixed order', async () => {
    reset(servers);
    const xc = new XClient('Counter', 'failfast', 'roundrobin', discovery(), quiet);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(await xc.call<string>('Hit', null));
    assert.deepEqual(order.slice(3), order.slice(0, 3));
    assert.equal(new Set(order.slice(0, 3)).size, 3);
    await runCalls(2994, 16, () => xc.call('Hit', null));
    assert.deepEqual(hits(servers), [1000, 1000, 1000]);
    await xc.close();
  });

  it('weighted: 1:2:7 over 10,000 calls (smooth, nginx style)', async () => {
    reset(servers);
    const xc = new XClient('Counter', 'failfast', 'weighted', discovery(), quiet);
    // Smooth: any window of 10 consecutive picks holds exactly 1, 2 and 7.
    const window: string[] = [];
    for (let i = 0; i < 10; i++) window.push(await xc.call<string>('Hit', null));
    assert.deepEqual(['a', 'b', 'c'].map((id) => window.filter((w) => w === id).length), [1, 2, 7]);
    await runCalls(9990, 32, () => xc.call('Hit', null));
    const counts = hits(servers);
    assert.equal(counts.reduce((a, b) => a + b), 10_000);
    for (const [i, share] of [0.1, 0.2, 0.7].entries()) {
      assert.ok(Math.abs(counts[i]! / 10_000 - share) <= 0.05 * share, `server ${i}: ${counts[i]} of 10,000 (want ${share})`);
    }
    await xc.close();
  });

  it('random: roughly uniform', async () => {
    reset(servers);
    const xc = new XClient('Counter', 'failfast', 'random', discovery(), quiet);
    await runCalls(3000, 32, () => xc.call('Hit', null));
    for (const n of hits(servers)) assert.ok(n > 800 && n < 1200, `random share ${n} of 3000`);
    await xc.close();
  });

  it('p2c: prefers the server with fewer pending calls', async () => {
    reset(servers);
    const two = servers.slice(0, 2);
    const xc = new XClient('Counter', 'failfast', 'p2c', new MultipleServersDiscovery(two.map((s) => s.endpoint)), quiet);
    // Five calls hang on server a's pooled connection.
    const busy = await xc.pool.get(two[0]!.endpoint);
    const held = Array.from({ length: 5 }, () => busy.call('Counter', 'Hold', null));
    await sleep(20);
    await runCalls(400, 4, () => xc.call('Hit', null));
    assert.deepEqual(hits(two), [0, 400]);
    two[0]!.counter.release();
    await Promise.all(held);
    // Once idle again both are used.
    await runCalls(400, 1, () => xc.call('Hit', null));
    assert.ok(two[0]!.counter.count('Hit') > 50, `a got ${two[0]!.counter.count('Hit')} after release`);
    await xc.close();
  });

  it('closest: the server nearest to the client', async () => {
    reset(servers);
    const places = [
      [48.85, 2.35], // Paris
      [40.71, -74.0], // New York
      [35.68, 139.69], // Tokyo
    ];
    const d = new MultipleServersDiscovery(servers.map((s, i) => ({ key: s.endpoint, value: `latitude=${places[i]![0]}&longitude=${places[i]![1]}` })));
    const xc = new XClient('Counter', 'failover', 'closest', d, { ...quiet, latitude: 42.36, longitude: -71.06 }); // Boston
    for (let i = 0; i < 50; i++) assert.equal(await xc.call('Hit', null), 'b');
    // The nearest one gone: the next nearest (Paris).
    d.update(servers.filter((s) => s.counter.id !== 'b').map((s, i) => ({ key: s.endpoint, value: `latitude=${places[i === 0 ? 0 : 2]![0]}&longitude=${places[i === 0 ? 0 : 2]![1]}` })));
    assert.equal(await xc.call('Hit', null), 'a');
    await xc.close();
  });

  it('latency: prefers the server whose heartbeats come back sooner', async () => {
    reset(servers);
    const [fast, slow] = servers;
    const proxy = await startDelayProxy(slow!.endpoint, 40);
    try {
      const d = new MultipleServersDiscovery([fast!.endpoint, proxy.endpoint]);
      const xc = new XClient('Counter', 'failfast', 'latency', d, { ...quiet, heartbeatIntervalMs: 50 });
      // Let a few heartbeats measure both links.
      for (let i = 0; i < 100 && (xc.pool.rttMs(fast!.endpoint) === undefined || xc.pool.rttMs(proxy.endpoint) === undefined); i++) await sleep(20);
      await sleep(150);
      assert.ok(xc.pool.rttMs(proxy.endpoint)! > xc.pool.rttMs(fast!.endpoint)!, 'the proxied link measures slower');
      await runCalls(600, 8, () => xc.call('Hit', null));
      const [f, s] = [fast!.counter.count('Hit'), slow!.counter.count('Hit')];
      assert.equal(f + s, 600);
      assert.ok(f > 0.75 * 600, `fast server got ${f}, slow ${s}`);
      await xc.close();
    } finally {
      await proxy.close();
    }
  });

  it('hash: the same args always reach the same server; removing a server moves only its keys', async () => {
    reset(servers);
    const d = discovery();
    const xc = new XClient('Counter', 'failfast', 'hash', d, quiet);
    const keys = Array.from({ length: 300 }, (_, i) => ({ User: `user-${i}`, N: i }));
    const first = new Map<number, string>();
    for (const [i, key] of keys.entries()) first.set(i, await xc.call<string>('Hit', key));
    assert.equal(new Set(first.values()).size, 3, 'keys spread over all servers');
    for (const [i, key] of keys.entries()) assert.equal(await xc.call<string>('Hit', key), first.get(i));
    // A second client agrees (the mapping is a pure function of the server list).
    const other = new XClient('Counter', 'failfast', 'hash', discovery(), quiet);
    for (const [i, key] of keys.entries()) assert.equal(await other.call<string>('Hit', key), first.get(i));
    await other.close();
    // Remove b: b's keys move, every other key stays.
    d.update(servers.filter((s) => s.counter.id !== 'b').map((s) => s.endpoint));
    let moved = 0;
    for (const [i, key] of keys.entries()) {
      const now = await xc.call<string>('Hit', key);
      if (first.get(i) === 'b') {
        assert.notEqual(now, 'b');
        moved++;
      } else assert.equal(now, first.get(i), `key ${i} moved from ${first.get(i)} to ${now}`);
    }
    assert.ok(moved > 0);
    await xc.close();
  });

  it('hash helpers: FNV-1a 64, jump hash monotonicity, Go %v formatting', () => {
    assert.equal(fnv1a64('').toString(16), 'cbf29ce484222325');
    assert.equal(fnv1a64('a').toString(16), 'af63dc4c8601ec8c');
    assert.equal(fnv1a64('foobar').toString(16), '85944171f73967e8');
    // rpcx's key for Arith.Mul with args &{10 20}, and its buckets (checked against a transcription of rpcx's Go code).
    assert.equal(rpcxHashKey('Arith', 'Mul', { A: 10, B: 20 }), 0x20fe73eb7bd50f79n);
    assert.deepEqual([1, 2, 3, 5, 10, 100, 1000].map((n) => jumpHash(0x20fe73eb7bd50f79n, n)), [0, 1, 1, 1, 1, 76, 114]);
    assert.deepEqual([1, 2, 3, 5, 10, 100, 1000].map((n) => jumpHash(fnv1a64('hello world'), n)), [0, 0, 2, 3, 8, 43, 587]);
    for (let k = 0n; k < 500n; k++) {
      const key = fnv1a64(String(k));
      for (let n = 1; n < 12; n++) {
        const a = jumpHash(key, n);
        const b = jumpHash(key, n + 1);
        assert.ok(a >= 0 && a < n);
        assert.ok(b === a || b === n, 'growing the buckets only moves keys to the new bucket');
      }
    }
    assert.equal(goFormat({ A: 10, B: 20 }, true), '&{10 20}');
    assert.equal(goFormat({ Name: 'x', Tags: ['a', 'b'], In: { N: 1.5 } }, true), '&{x [a b] {1.5}}');
    assert.equal(goFormat(new Map([['b', 2], ['a', 1]])), 'map[a:1 b:2]');
    assert.equal(goFormat(1234567.5), '1.2345675e+06');
    assert.equal(goFormat(0.00001), '1e-05');
    assert.equal(goFormat(null), '<nil>');
  });

  it('a user-supplied selector function', async () => {
    reset(servers);
    const seen: SelectInfo[] = [];
    const pick = servers[2]!.endpoint;
    const xc = new XClient(
      'Counter',
      'failfast',
      (info, list) => {
        seen.push(info);
        return list.has(pick) ? pick : undefined;
      },
      discovery(),
      quiet,
    );
    for (let i = 0; i < 20; i++) assert.equal(await xc.call('Hit', { I: i }), 'c');
    assert.equal(seen.length, 20);
    assert.equal(seen[0]!.service, 'Counter');
    assert.equal(seen[0]!.method, 'Hit');
    assert.deepEqual(seen[3]!.args, { I: 3 });
    await xc.close();
  });
});
