/** XClient broadcast, fork and inform; discovery updates under load; filters, sticky, oneway and proxies. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DialError, NoServerError, ServiceError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { MultipleServersDiscovery } from '../client/discovery/multiple.js';
import { filterServers } from '../client/discovery/filter.js';
import { XClient } from '../client/xclient.js';
import type { Counter } from './helpers/xclient-servers.js';
import { deadEndpoint, runCalls, sleep, startCounterServers, stopAll } from './helpers/xclient-servers.js';

const quiet = { logger: silentLogger };

describe('xclient broadcast, fork, inform', () => {
  it('broadcast: every server, all must succeed', async () => {
    const servers = await startCounterServers(['a', 'b', 'c']);
    const d = new MultipleServersDiscovery(servers.map((s) => s.endpoint));
    const xc = new XClient('Counter', 'failfast', 'random', d, quiet);
    try {
      const replies = await xc.broadcast<string>('Hit', null);
      assert.deepEqual([...replies].sort(), ['a', 'b', 'c']);
      assert.deepEqual(servers.map((s) => s.counter.count('Hit')), [1, 1, 1]);
      await assert.rejects(xc.broadcast('Fail', null), ServiceError);
      d.update([...servers.map((s) => s.endpoint), await deadEndpoint()]);
      await assert.rejects(xc.broadcast('Hit', null), DialError);
      assert.deepEqual(servers.map((s) => s.counter.count('Hit')), [2, 2, 2], 'the live servers were still called');
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it('fork: the first success wins, the others are aborted', async () => {
    const servers = await startCounterServers(['slow1', 'slow2', 'fast']);
    servers[0]!.counter.extraDelayMs = 1000;
    servers[1]!.counter.extraDelayMs = 1000;
    const d = new MultipleServersDiscovery(servers.map((s) => s.endpoint));
    const xc = new XClient('Counter', 'failfast', 'random', d, quiet);
    try {
      await xc.broadcast('Hit', null);
      const started = performance.now();
      assert.equal(await xc.fork('Sleep', { Ms: 0 }), 'fast');
      assert.ok(performance.now() - started < 700);
      for (const s of servers) assert.equal(xc.pool.peek(s.endpoint)?.pendingCount ?? 0, 0);
      await assert.rejects(xc.fork('Fail', null), ServiceError);
      d.update([await deadEndpoint(), servers[2]!.endpoint]);
      assert.equal(await xc.fork('Hit', null), 'fast', 'a dead server does not matter');
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it("inform: every server's reply or error", async () => {
    const servers = await startCounterServers(['a', 'b']);
    const dead = await deadEndpoint();
    const xc = new XClient('Counter', 'failfast', 'random', new MultipleServersDiscovery([...servers.map((s) => s.endpoint), dead]), quiet);
    try {
      const results = await xc.inform<string>('Hit', null);
      assert.equal(results.length, 3);
      const byServer = new Map(results.map((r) => [r.server, r]));
      assert.equal(byServer.get(servers[0]!.endpoint)!.value, 'a');
      assert.equal(byServer.get(servers[1]!.endpoint)!.value, 'b');
      assert.ok(byServer.get(dead)!.error instanceof DialError);
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });
});

describe('xclient discovery', () => {
  it('update() adds and removes servers under load without failing calls; a removed server is disconnected once idle', async () => {
    const servers = await startCounterServers(['a', 'b', 'c']);
    const [a, b, c] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
    const d = new MultipleServersDiscovery([a.endpoint]);
    const xc = new XClient('Counter', 'failover', 'roundrobin', d, quiet);
    try {
      let failures = 0;
      let done = 0;
      let stop = false;
      const load = runCalls(1_000_000, 16, async () => {
        if (stop) return;
        try {
          await xc.call('Sleep', { Ms: 2 });
        } catch {
          failures++;
        }
        done++;
      });
      const waitCalls = async (n: number): Promise<void> => {
        const target = done + n;
        while (done < target) await sleep(5);
      };
      await waitCalls(300);
      d.update([a.endpoint, b.endpoint, c.endpoint]);
      await waitCalls(600);
      assert.ok(b.counter.count('Sleep') > 100 && c.counter.count('Sleep') > 100, 'new servers take load');
      d.update([b.endpoint, c.endpoint]);
      await waitCalls(50); // calls already on a finish
      const aAfterRemoval = a.counter.count('Sleep');
      await waitCalls(600);
      assert.equal(a.counter.count('Sleep'), aAfterRemoval, 'a removed server gets no new calls');
      stop = true;
      await load;
      assert.equal(failures, 0);
      for (let i = 0; i < 100 && a.server.connections.size > 0; i++) await sleep(20);
      assert.equal(a.server.connections.size, 0, "the removed server's connection was closed once idle");
      assert.equal(b.server.connections.size, 1);
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it('state=inactive servers are dropped; a group keeps only its own servers', async () => {
    const servers = await startCounterServers(['g1', 'g2', 'off']);
    const pairs = [
      { key: servers[0]!.endpoint, value: 'group=g1' },
      { key: servers[1]!.endpoint, value: 'group=g2' },
      { key: servers[2]!.endpoint, value: 'group=g1&state=inactive' },
    ];
    assert.deepEqual([...filterServers(pairs).keys()], [servers[0]!.endpoint, servers[1]!.endpoint]);
    const d = new MultipleServersDiscovery(pairs);
    const xc = new XClient('Counter', 'failover', 'random', d, { ...quiet, group: 'g1' });
    try {
      for (let i = 0; i < 30; i++) assert.equal(await xc.call('Hit', null), 'g1');
      d.update([{ key: servers[0]!.endpoint, value: 'group=g1&state=inactive' }, pairs[1]!]);
      await assert.rejects(xc.call('Hit', null), NoServerError);
      d.update(pairs.map((p) => ({ ...p, value: p.value.replace('&state=inactive', '') })));
      const seen = new Set<string>();
      for (let i = 0; i < 40; i++) seen.add(await xc.call<string>('Hit', null));
      assert.deepEqual([...seen].sort(), ['g1', 'off']);
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it('sticky: keeps the server that works, moves when it stops working', async () => {
    const servers = await startCounterServers(['a', 'b', 'c']);
    const xc = new XClient('Counter', 'failover', 'random', new MultipleServersDiscovery(servers.map((s) => s.endpoint)), { ...quiet, sticky: true });
    try {
      const first = await xc.call<string>('Hit', null);
      for (let i = 0; i < 30; i++) assert.equal(await xc.call('Hit', null), first);
      await servers.find((s) => s.id === first)!.kill();
      const second = await xc.call<string>('Hit', null);
      assert.notEqual(second, first);
      for (let i = 0; i < 30; i++) assert.equal(await xc.call('Hit', null), second);
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it('send (oneway), invoke and a typed proxy', async () => {
    const servers = await startCounterServers(['a', 'b']);
    const xc = new XClient('Counter', 'failover', 'roundrobin', new MultipleServersDiscovery(servers.map((s) => s.endpoint)), quiet);
    try {
      for (let i = 0; i < 10; i++) await xc.send('Hit', null);
      for (let i = 0; i < 100 && servers.reduce((n, s) => n + s.counter.count('Hit'), 0) < 10; i++) await sleep(10);
      assert.deepEqual(servers.map((s) => s.counter.count('Hit')), [5, 5]);
      const result = await xc.invoke<string>('Hit', null);
      assert.ok(result.value === 'a' || result.value === 'b');
      assert.equal(typeof result.metadata, 'object');
      const counter = xc.proxy<Counter>();
      const ids = new Set([await counter.hit(null), await counter.hit(null)]);
      assert.deepEqual([...ids].sort(), ['a', 'b']);
      await xc.close();
      await assert.rejects(xc.call('Hit', null), (e: Error) => e.name === 'ClosedError');
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });
});
