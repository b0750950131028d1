/** XClient fail modes, deadlines and retries against real loopback servers (servers are killed for real). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbortedError, ConnectionClosedError, DialError, NoServerError, ServiceError, TimeoutError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { MultipleServersDiscovery } from '../client/discovery/multiple.js';
import { Peer2PeerDiscovery } from '../client/discovery/peer2peer.js';
import { XClient } from '../client/xclient.js';
import { deadEndpoint, runCalls, sleep, startCounterServer, startCounterServers, startFlakyServer, stopAll } from './helpers/xclient-servers.js';

const quiet = { logger: silentLogger };

describe('xclient fail modes', () => {
  it('failover: no call fails while a server is killed mid-load and another is up', async () => {
    const servers = await startCounterServers(['a', 'b', 'c']);
    const xc = new XClient('Counter', 'failover', 'roundrobin', new MultipleServersDiscovery(servers.map((s) => s.endpoint)), quiet);
    try {
      let failures = 0;
      let done = 0;
      const load = runCalls(3000, 24, async () => {
        try {
          await xc.call('Sleep', { Ms: 1 });
        } catch {
          failures++;
        }
        done++;
      });
      while (done < 600) await sleep(5);
      await servers[0]!.kill();
      while (done < 1500) await sleep(5);
      await servers[1]!.kill();
      await load;
      assert.equal(failures, 0);
      assert.ok(servers[2]!.counter.count('Sleep') > 1000);
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it('failover: a call tries another server, preferring ones not tried yet', async () => {
    const [live] = await startCounterServers(['live']);
    const dead = [await deadEndpoint(), await deadEndpoint(), await deadEndpoint()];
    const xc = new XClient('Counter', 'failover', 'random', new MultipleServersDiscovery([...dead, live!.endpoint]), { ...quiet, retries: 3 });
    try {
      // Three dead servers and three retries: preferring untried servers reaches the live one on every call.
      for (let i = 0; i < 20; i++) assert.equal(await xc.call('Hit', null), 'live');
    } finally {
      await xc.close();
      await stopAll([live!]);
    }
  });

  it('failfast: one attempt, its error', async () => {
    const dead = await deadEndpoint();
    const xc = new XClient('Counter', 'failfast', 'random', new Peer2PeerDiscovery(dead), quiet);
    await assert.rejects(xc.call('Hit', null), DialError);
    await xc.close();
  });

  it('failtry: retries the same server, never another', async () => {
    const flaky = await startFlakyServer();
    const [good] = await startCounterServers(['good']);
    let selections = 0;
    const xc = new XClient(
      'Counter',
      'failtry',
      (_info, servers) => {
        selections++;
        return servers.has(flaky.endpoint) ? flaky.endpoint : undefined;
      },
      new MultipleServersDiscovery([flaky.endpoint, good!.endpoint]),
      { ...quiet, retries: 3 },
    );
    try {
      await assert.rejects(xc.call('Hit', null), ConnectionClosedError);
      assert.equal(selections, 1);
      assert.equal(flaky.connections(), 4, 'retries + 1 attempts, each on a fresh connection to the same server');
      assert.equal(good!.counter.hits, 0);
      // failover with the same servers and a round robin moves on to the good one.
      const xf = new XClient('Counter', 'failover', 'roundrobin', new MultipleServersDiscovery([flaky.endpoint, good!.endpoint]), quiet);
      for (let i = 0; i < 10; i++) assert.equal(await xf.call('Hit', null), 'good');
      await xf.close();
    } finally {
      await xc.close();
      await flaky.close();
      await stopAll([good!]);
    }
  });

  it('failbackup: one slow server does not slow the call down; the loser is aborted', async () => {
    const servers = await startCounterServers(['slow', 'fast']);
    servers[0]!.counter.extraDelayMs = 800;
    const xc = new XClient('Counter', 'failbackup', 'roundrobin', new MultipleServersDiscovery(servers.map((s) => s.endpoint)), {
      ...quiet,
      backupLatencyMs: 10,
    });
    try {
      await xc.broadcast('Hit', null); // both connections up
      const times: number[] = [];
      for (let i = 0; i < 6; i++) {
        const started = performance.now();
        assert.equal(await xc.call<string>('Sleep', { Ms: 0 }), 'fast');
        times.push(performance.now() - started);
        // The losing request (if the slow server was picked first) was aborted: nothing pending on its connection.
        assert.equal(xc.pool.peek(servers[0]!.endpoint)?.pendingCount ?? 0, 0);
      }
      assert.ok(servers[0]!.counter.count('Sleep') >= 2, 'the slow server was the first pick for some calls');
      assert.ok(Math.max(...times) < 400, `call times ${times.map((t) => t.toFixed(1)).join(', ')}`);
      // A dead first pick: the backup goes out at once.
      const dead = await deadEndpoint();
      const xd = new XClient('Counter', 'failbackup', 'roundrobin', new MultipleServersDiscovery([dead, servers[1]!.endpoint]), {
        ...quiet,
        backupLatencyMs: 5000,
      });
      for (let i = 0; i < 4; i++) {
        const started = performance.now();
        assert.equal(await xd.call('Hit', null), 'fast');
        assert.ok(performance.now() - started < 2500);
      }
      await xd.close();
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });

  it('service errors are never retried', async () => {
    const servers = await startCounterServers(['a', 'b', 'c']);
    for (const mode of ['failover', 'failtry', 'failbackup'] as const) {
      const xc = new XClient('Counter', mode, 'roundrobin', new MultipleServersDiscovery(servers.map((s) => s.endpoint)), quiet);
      const before = servers.reduce((n, s) => n + s.counter.count('Fail'), 0);
      await assert.rejects(xc.call('Fail', null), (e: Error) => e instanceof ServiceError && /failure from/.test(e.message));
      await sleep(mode === 'failbackup' ? 50 : 0);
      assert.equal(servers.reduce((n, s) => n + s.counter.count('Fail'), 0) - before, 1, mode);
      await xc.close();
    }
    await stopAll(servers);
  });

  it('a deadline bounds all attempts together, and each attempt carries the time left', async () => {
    const [server] = await startCounterServers(['good']);
    const flaky = await startFlakyServer();
    const dead = await deadEndpoint();
    const xc = new XClient('Counter', 'failover', 'roundrobin', new MultipleServersDiscovery([server!.endpoint]), { ...quiet, retries: 10 });
    const xd = new XClient('Counter', 'failover', 'roundrobin', new MultipleServersDiscovery([dead, flaky.endpoint]), {
      ...quiet,
      retries: 100,
      retryIntervalMs: 40,
    });
    // The flaky server first, then (once it was tried) the good one, with a pause between attempts.
    const xs = new XClient(
      'Counter',
      'failover',
      (info, servers) => (info.exclude?.has(flaky.endpoint) ? server!.endpoint : servers.has(flaky.endpoint) ? flaky.endpoint : undefined),
      new MultipleServersDiscovery([flaky.endpoint, server!.endpoint]),
      { ...quiet, retryIntervalMs: 200 },
    );
    try {
      // One attempt that never gets an answer uses the whole deadline.
      let started = performance.now();
      await assert.rejects(xc.call('Hold', null, { timeoutMs: 300 }), TimeoutError);
      let elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 1500, `elapsed ${elapsed}`);
      // Many failing attempts with pauses stop at the deadline too.
      started = performance.now();
      await assert.rejects(xd.call('Hit', null, { timeoutMs: 300 }), TimeoutError);
      elapsed = performance.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 1500, `elapsed ${elapsed}`);
      // The server sees the time left: the whole deadline on a first attempt, less on a later one.
      const first = await xc.call<number>('Timeout', null, { timeoutMs: 5000 });
      assert.ok(first > 4000 && first <= 5000, `__ServerTimeout ${first}`);
      // A fractional deadline goes out rounded up to whole milliseconds.
      const fractional = await xc.call<number>('Timeout', null, { timeoutMs: 4999.2 });
      assert.ok(fractional > 4000 && fractional <= 5000, `__ServerTimeout ${fractional}`);
      const later = await xs.call<number>('Timeout', null, { timeoutMs: 5000 });
      assert.ok(later > 2000 && later <= 4800, `__ServerTimeout on the second attempt ${later}`);
      // Without a deadline nothing is sent.
      assert.equal(await xc.call<number>('Timeout', null), 0);
    } finally {
      server!.counter.release();
      await Promise.all([xc.close(), xd.close(), xs.close()]);
      await flaky.close();
      await stopAll([server!]);
    }
  });

  it('no server at all: a typed error', async () => {
    const xc = new XClient('Counter', 'failover', 'random', new MultipleServersDiscovery([]), quiet);
    await assert.rejects(xc.call('Hit', null), NoServerError);
    await assert.rejects(xc.broadcast('Hit', null), NoServerError);
    await assert.rejects(xc.fork('Hit', null), NoServerError);
    await assert.rejects(xc.inform('Hit', null), NoServerError);
    await xc.close();
    // Everything filtered out (inactive, or another group) counts as none.
    const [server] = await startCounterServers(['a']);
    const filtered = new XClient(
      'Counter',
      'failover',
      'random',
      new MultipleServersDiscovery([{ key: server!.endpoint, value: 'state=inactive&group=g1' }]),
      quiet,
    );
    await assert.rejects(filtered.call('Hit', null), NoServerError);
    await filtered.close();
    await stopAll([server!]);
  });

  it("the caller's AbortSignal ends the call and is not retried", async () => {
    const server = await startCounterServer('a');
    const xc = new XClient('Counter', 'failover', 'random', new Peer2PeerDiscovery(server.endpoint), quiet);
    const controller = new AbortController();
    const call = xc.call('Hold', null, { signal: controller.signal });
    await sleep(30);
    controller.abort();
    await assert.rejects(call, AbortedError);
    assert.equal(server.counter.count('Hold'), 1);
    await xc.close();
    await server.kill();
  });
});
