/** Per-server circuit breakers in the XClient: open after consecutive failures, half-open after the window, close on success. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BreakerOpenError, DialError, ServiceError, TimeoutError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { CircuitBreaker } from '../client/breaker.js';
import { MultipleServersDiscovery } from '../client/discovery/multiple.js';
import { Peer2PeerDiscovery } from '../client/discovery/peer2peer.js';
import { XClient } from '../client/xclient.js';
import { deadEndpoint, sleep, startCounterServer, startCounterServers, stopAll } from './helpers/xclient-servers.js';

const quiet = { logger: silentLogger };

describe('xclient circuit breaker', () => {
  it('the breaker alone: threshold, window, one trial at a time', async () => {
    const breaker = new CircuitBreaker({ threshold: 2, windowMs: 60 });
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.success();
    breaker.failure();
    assert.equal(breaker.state, 'closed', 'a success in between resets the count');
    breaker.failure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.ready(), false);
    await sleep(80);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.ready(), true);
    assert.equal(breaker.ready(), false, 'only one trial');
    breaker.failure();
    assert.equal(breaker.state, 'open');
    await sleep(80);
    assert.equal(breaker.ready(), true);
    breaker.success();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.ready(), true);
  });

  it('opens after N failed calls, half-opens after the window, closes on a successful trial', async () => {
    const server = await startCounterServer('a');
    const xc = new XClient('Counter', 'failfast', 'random', new Peer2PeerDiscovery(server.endpoint), {
      ...quiet,
      breaker: { threshold: 3, windowMs: 300 },
    });
    try {
      for (let i = 0; i < 3; i++) await assert.rejects(xc.call('Hold', null, { timeoutMs: 40 }), TimeoutError);
      assert.equal(xc.breakerState(server.endpoint), 'open');
      // Open: the call does not reach the server.
      await assert.rejects(xc.call('Hit', null), BreakerOpenError);
      assert.equal(server.counter.count('Hit'), 0);
      await sleep(350);
      assert.equal(xc.breakerState(server.endpoint), 'half-open');
      // Half-open: one trial at a time; a concurrent call is refused.
      const trial = xc.call('Hold', null, { timeoutMs: 60 });
      await assert.rejects(xc.call('Hit', null), BreakerOpenError);
      await assert.rejects(trial, TimeoutError);
      assert.equal(xc.breakerState(server.endpoint), 'open', 'a failed trial opens it again');
      await sleep(350);
      assert.equal(await xc.call('Hit', null), 'a');
      assert.equal(xc.breakerState(server.endpoint), 'closed');
      assert.equal(await xc.call('Hit', null), 'a');
    } finally {
      server.counter.release();
      await xc.close();
      await server.kill();
    }
  });

  it('service errors do not count; failed dials do', async () => {
    const server = await startCounterServer('a');
    const dead = await deadEndpoint();
    const xc = new XClient('Counter', 'failfast', 'random', new Peer2PeerDiscovery(server.endpoint), { ...quiet, breaker: { threshold: 2, windowMs: 5000 } });
    const xd = new XClient('Counter', 'failfast', 'random', new Peer2PeerDiscovery(dead), { ...quiet, breaker: { threshold: 2, windowMs: 5000 } });
    try {
      for (let i = 0; i < 10; i++) await assert.rejects(xc.call('Fail', null), ServiceError);
      assert.equal(xc.breakerState(server.endpoint), 'closed');
      await assert.rejects(xd.call('Hit', null), DialError);
      await assert.rejects(xd.call('Hit', null), DialError);
      assert.equal(xd.breakerState(dead), 'open');
      await assert.rejects(xd.call('Hit', null), BreakerOpenError);
    } finally {
      await Promise.all([xc.close(), xd.close()]);
      await server.kill();
    }
  });

  it('failover steers around a server whose breaker is open', async () => {
    const servers = await startCounterServers(['a', 'b']);
    const xc = new XClient('Counter', 'failover', 'roundrobin', new MultipleServersDiscovery(servers.map((s) => s.endpoint)), {
      ...quiet,
      breaker: { threshold: 2, windowMs: 10_000 },
    });
    try {
      await xc.broadcast('Hit', null);
      await servers[0]!.kill();
      // The dead server is re-dialled only after its reconnect backoff; the second failed dial opens its breaker.
      for (let i = 0; i < 200 && xc.breakerState(servers[0]!.endpoint) !== 'open'; i++) {
        assert.equal(await xc.call('Hit', null), 'b');
        await sleep(10);
      }
      assert.equal(xc.breakerState(servers[0]!.endpoint), 'open');
      for (let i = 0; i < 20; i++) assert.equal(await xc.call('Hit', null), 'b');
    } finally {
      await xc.close();
      await stopAll(servers);
    }
  });
});
