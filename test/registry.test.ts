/**
 * Registries on real stores (a real etcd and a real Redis on free loopback ports): rpcx's key layout, discovery and
 * watch, TTL expiry of a killed server, recovery across a store restart, and XClients riding through servers joining
 * and shutting down gracefully under load without a failed call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { method, Server, service, silentLogger } from '../index.js';
import type { Discovery, ServicePair } from '../client/discovery/discovery.js';
import { XClient } from '../client/xclient.js';
import { createDiscovery, createRegistrar, type Registrar } from '../registry/index.js';
import { cliPath, startListening, stopProcess } from './helpers/processes.js';
import { startEtcd, startRedis, type StoreProcess } from './helpers/stores.js';

@service('Counter')
class Counter {
  calls = 0;
  @method()
  async hit(args: { Ms?: number }): Promise<number> {
    this.calls++;
    if (args.Ms) await new Promise((resolve) => setTimeout(resolve, args.Ms));
    return this.calls;
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const keys = (pairs: ServicePair[]): string[] => pairs.map((p) => p.key).sort();

for (const kind of ['etcd', 'redis'] as const) {
  describe(`${kind} registry`, () => {
    let store: StoreProcess;
    let basePath: string;
    let url: string;
    const cleanup: Array<() => Promise<unknown> | unknown> = [];

    before(async () => {
      store = kind === 'etcd' ? await startEtcd() : await startRedis();
    });
    after(async () => {
      for (const fn of cleanup.reverse()) await fn();
      await store.dispose();
    });

    let n = 0;
    const fresh = (): void => {
      basePath = `/rpcx_test_${kind}_${++n}`;
      url = `${store.url}${basePath}`;
    };

    const startServer = async (metadata = '', ttlSeconds = 10): Promise<{ server: Server; counter: Counter; endpoint: string; registrar: Registrar }> => {
      const server = new Server({ logger: silentLogger, deregisterDelayMs: 300 });
      const counter = new Counter();
      server.register(counter, { metadata });
      const registrar = createRegistrar(url, { ttlSeconds, logger: silentLogger });
      await server.addRegistrar(registrar);
      const listener = await server.serve('tcp@127.0.0.1:0');
      const result = { server, counter, endpoint: `tcp@${listener.address}`, registrar };
      cleanup.push(() => server.close({ timeoutMs: 500 }));
      return result;
    };

    const discover = async (service = 'Counter'): Promise<Discovery> => {
      const discovery = await createDiscovery(url, service, { logger: silentLogger });
      cleanup.push(() => discovery.close());
      return discovery;
    };

    it("registers every service in rpcx's key layout and discovers it", async () => {
      fresh();
      const { endpoint } = await startServer('weight=7&group=a');
      const discovery = await discover();
      assert.deepEqual(discovery.list(), [{ key: endpoint, value: 'weight=7&group=a' }]);
      // The raw store holds exactly what rpcx's Go plugins write and read.
      const node = `${basePath}/Counter/${endpoint}`;
      if (kind === 'etcd') {
        const etcd = new Etcd3({ hosts: `http://${store.hostPort}` });
        const all = await etcd.getAll().prefix(basePath).strings();
        etcd.close();
        assert.equal(all[node], 'weight=7&group=a');
        assert.equal(all[basePath], 'rpcx_path');
        assert.equal(all[`${basePath}/Counter`], 'Counter');
      } else {
        const redis = new Redis(`redis://${store.hostPort}`);
        const raw = JSON.parse((await redis.get('/' + node))!) as { Key: string; Value: string };
        const ttl = await redis.ttl('/' + node);
        redis.disconnect();
        assert.equal(raw.Key, node);
        assert.equal(Buffer.from(raw.Value, 'base64').toString(), 'weight=7&group=a');
        assert.ok(ttl > 0 && ttl <= 10, `node key has a TTL (${ttl})`);
      }
    });

    it('watches servers join and leave', async () => {
      fresh();
      const a = await startServer();
      const discovery = await discover();
      const seen: string[][] = [];
      discovery.watch((pairs) => seen.push(keys(pairs)));
      const b = await startServer();
      await until(() => discovery.list().length === 2, 'the second server to appear');
      assert.deepEqual(keys(discovery.list()), [a.endpoint, b.endpoint].sort());
      await b.server.close();
      await until(() => discovery.list().length === 1, 'the closed server to disappear');
      assert.deepEqual(keys(discovery.list()), [a.endpoint]);
      assert.ok(seen.length >= 2, 'watchers were told');
    });

    it('drops a server killed with SIGKILL after its TTL', async () => {
      fresh();
      const discovery = await discover('Arith');
      const { child, endpoints } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--registry', url, '--registry-ttl', '2']);
      await until(() => discovery.list().length === 1, 'the CLI server to register');
      assert.deepEqual(keys(discovery.list()), endpoints);
      const killedAt = Date.now();
      await stopProcess(child, 'SIGKILL');
      await until(() => discovery.list().length === 0, 'the killed server to expire', 8000);
      const gone = Date.now() - killedAt;
      assert.ok(gone >= 500, `it stayed until its TTL ran out (${gone} ms)`);
    });

    it('recovers from a store restart: servers register again, clients keep their list and catch up', async () => {
      fresh();
      const a = await startServer('', 3);
      const discovery = await discover();
      assert.deepEqual(keys(discovery.list()), [a.endpoint]);
      await store.stop();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual(keys(discovery.list()), [a.endpoint], 'the last known list is kept while the store is down');
      await store.start();
      // A server that starts while the client was away.
      const b = await startServer('', 3);
      await until(() => discovery.list().length === 2, 'the discovery to catch up after the restart', 15_000);
      assert.deepEqual(keys(discovery.list()), [a.endpoint, b.endpoint].sort());
      // A is registered in the store itself again (Redis restarted empty; etcd kept or re-granted its lease).
      const fresh2 = await discover();
      await until(() => fresh2.list().length === 2, 'a new client to see both servers', 15_000);
    });

    it('moves XClient load through joins and a graceful shutdown without a failed call', async () => {
      fresh();
      const a = await startServer();
      const b = await startServer();
      const discovery = await discover();
      await until(() => discovery.list().length === 2, 'both servers listed');
      const xclient = new XClient('Counter', 'failover', 'roundrobin', discovery, { logger: silentLogger, timeoutMs: 5000 });
      cleanup.push(() => xclient.close());
      let ok = 0;
      const failures: unknown[] = [];
      const endAt = Date.now() + 2500;
      const worker = async (): Promise<void> => {
        while (Date.now() < endAt) {
          try {
            await xclient.call('Hit', { Ms: 5 });
            ok++;
          } catch (error) {
            failures.push(error);
          }
        }
      };
      const load = Promise.all(Array.from({ length: 20 }, worker));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const c = await startServer();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await a.server.close();
      await load;
      assert.deepEqual(failures, [], 'no call failed');
      assert.ok(ok > 300, `calls made: ${ok}`);
      assert.ok(c.counter.calls > 0, 'the new server took calls');
      assert.ok(a.counter.calls > 0 && b.counter.calls > 0);
      assert.deepEqual(keys(discovery.list()), [b.endpoint, c.endpoint].sort());
    });
  });
}
