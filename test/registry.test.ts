/**
 * Registries on real stores (a real etcd, Redis and ZooKeeper on free loopback ports), one suite run over each:
 * rpcx's key layout, discovery and watch, TTL expiry of a killed server, recovery across a store restart, and
 * XClients riding through servers joining and shutting down gracefully under load without a failed call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import zookeeper from 'node-zookeeper-client';
import { Server, silentLogger, type Logger } from '../index.js';
import type { Discovery } from '../client/discovery/discovery.js';
import { createDiscovery, createRegistrar, type Registrar } from '../registry/index.js';
import { ZooKeeperDiscovery } from '../registry/zookeeper.js';
import { cliPath, startListening, stopProcess } from './helpers/processes.js';
import { Counter, joinAndLeaveUnderLoad, keys, until } from './helpers/registry-fixtures.js';
import { startEtcd, startRedis, startZooKeeper, type StoreProcess } from './helpers/stores.js';

/** One znode read with a client of its own: its data, and whether it is ephemeral. */
async function zkRead(hostPort: string, path: string): Promise<{ data: string; ephemeral: boolean }> {
  const client = zookeeper.createClient(hostPort);
  try {
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    return await new Promise((resolve, reject) =>
      client.getData(path, (error, data, stat) =>
        error ? reject(error) : resolve({ data: data?.toString() ?? '', ephemeral: stat.ephemeralOwner.some((b) => b !== 0) }),
      ),
    );
  } finally {
    client.close();
  }
}

/** The data of a znode, or undefined when it does not exist or ZooKeeper does not answer. */
const zkNode = (hostPort: string, path: string): Promise<string | undefined> =>
  zkRead(hostPort, path).then((node) => node.data, () => undefined);

/** One store under test: how to start it, and what rpcx's Go plugin would find in it after a registration. */
interface StoreCase {
  kind: string;
  start(): Promise<StoreProcess>;
  /** Asserts the raw store holds the node `<basePath>/Counter/<endpoint>` = metadata, as rpcx writes it. */
  checkLayout(store: StoreProcess, basePath: string, endpoint: string, metadata: string): Promise<void>;
}

const stores: StoreCase[] = [
  {
    kind: 'etcd',
    start: startEtcd,
    async checkLayout(store, basePath, endpoint, metadata) {
      const etcd = new Etcd3({ hosts: `http://${store.hostPort}` });
      const all = await etcd.getAll().prefix(basePath).strings();
      etcd.close();
      assert.equal(all[`${basePath}/Counter/${endpoint}`], metadata);
      assert.equal(all[basePath], 'rpcx_path');
      assert.equal(all[`${basePath}/Counter`], 'Counter');
    },
  },
  {
    kind: 'redis',
    start: startRedis,
    async checkLayout(store, basePath, endpoint, metadata) {
      const node = `${basePath}/Counter/${endpoint}`;
      const redis = new Redis(`redis://${store.hostPort}`);
      const raw = JSON.parse((await redis.get('/' + node))!) as { Key: string; Value: string };
      const ttl = await redis.ttl('/' + node);
      redis.disconnect();
      assert.equal(raw.Key, node);
      assert.equal(Buffer.from(raw.Value, 'base64').toString(), metadata);
      assert.ok(ttl > 0 && ttl <= 10, `node key has a TTL (${ttl})`);
    },
  },
  {
    kind: 'zk',
    start: startZooKeeper,
    async checkLayout(store, basePath, endpoint, metadata) {
      assert.deepEqual(await zkRead(store.hostPort, `${basePath}/Counter/${endpoint}`), { data: metadata, ephemeral: true });
      assert.deepEqual(await zkRead(store.hostPort, basePath), { data: 'rpcx_path', ephemeral: false });
      assert.deepEqual(await zkRead(store.hostPort, `${basePath}/Counter`), { data: 'Counter', ephemeral: false });
    },
  },
];

for (const { kind, start, checkLayout } of stores) {
  describe(`${kind} registry`, () => {
    let store: StoreProcess;
    let basePath: string;
    let url: string;
    const cleanup: Array<() => Promise<unknown> | unknown> = [];

    before(async () => {
      store = await start();
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
      await checkLayout(store, basePath, endpoint, 'weight=7&group=a');
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
      let c: Awaited<ReturnType<typeof startServer>> | undefined;
      await joinAndLeaveUnderLoad(
        discovery,
        async () => (c = await startServer()),
        () => a.server.close(),
      );
      assert.ok(a.counter.calls > 0 && b.counter.calls > 0);
      assert.deepEqual(keys(discovery.list()), [b.endpoint, c!.endpoint].sort());
    });
  });
}

describe('zk registry across an expired session', () => {
  // Whatever a test started is stopped here, even when it failed half-way.
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('writes the ephemeral nodes again in a new session, and discovery lists again', async () => {
    const store = await startZooKeeper();
    cleanup.push(() => store.dispose());
    const url = `${store.url}/rpcx_test_zk_expiry`;
    const expired: string[] = [];
    const recording = (who: string): Logger => ({
      ...silentLogger,
      warn: (message) => {
        if (message.includes('session expired')) expired.push(who);
      },
    });
    const server = new Server({ logger: silentLogger, deregisterDelayMs: 100 });
    cleanup.push(() => server.close({ timeoutMs: 500 }));
    server.register(new Counter(), { metadata: 'weight=3' });
    await server.addRegistrar(createRegistrar(url, { ttlSeconds: 2, logger: recording('registrar') }));
    const endpoint = `tcp@${(await server.serve('tcp@127.0.0.1:0')).address}`;
    const discovery = await ZooKeeperDiscovery.create({
      hosts: store.hostPort,
      basePath: '/rpcx_test_zk_expiry',
      service: 'Counter',
      sessionTimeoutMs: 2000,
      logger: recording('discovery'),
    });
    cleanup.push(() => discovery.close());
    assert.deepEqual(discovery.list(), [{ key: endpoint, value: 'weight=3' }]);
    // ZooKeeper comes back without its data: both clients' sessions are unknown to it, so they expire.
    await store.stop();
    store.wipe();
    await store.start();
    await until(() => expired.length === 2, 'both sessions to expire', 15_000);
    assert.deepEqual(expired.sort(), ['discovery', 'registrar']);
    // The registrar's new session wrote the node again; the discovery's new session lists and watches it.
    await until(async () => (await zkNode(store.hostPort, `/rpcx_test_zk_expiry/Counter/${endpoint}`)) === 'weight=3', 'the node to be written again', 15_000);
    await until(() => discovery.list().length === 1, 'the discovery to list it again');
    assert.deepEqual(discovery.list(), [{ key: endpoint, value: 'weight=3' }]);
    const b = new Server({ logger: silentLogger });
    cleanup.push(() => b.close({ timeoutMs: 500 }));
    b.register(new Counter(), { metadata: 'weight=4' });
    await b.addRegistrar(createRegistrar(url, { ttlSeconds: 2, logger: silentLogger }));
    const second = `tcp@${(await b.serve('tcp@127.0.0.1:0')).address}`;
    await until(() => discovery.list().length === 2, 'the watch of the new session to see a new server');
    assert.deepEqual(keys(discovery.list()), [endpoint, second].sort());
  });

  it('follows a metadata change through its data watch, and lists a service whose node appears later', async () => {
    const store = await startZooKeeper();
    cleanup.push(() => store.dispose());
    const url = `${store.url}/rpcx_test_zk_data`;
    const discovery = await createDiscovery(url, 'Counter', { logger: silentLogger });
    cleanup.push(() => discovery.close());
    const server = new Server({ logger: silentLogger, deregisterDelayMs: 100 });
    cleanup.push(() => server.close({ timeoutMs: 500 }));
    const client = zookeeper.createClient(store.hostPort);
    cleanup.push(() => client.close());
    assert.deepEqual(discovery.list(), [], 'no service node yet');
    server.register(new Counter(), { metadata: 'weight=1' });
    await server.addRegistrar(createRegistrar(url, { ttlSeconds: 5, logger: silentLogger }));
    const endpoint = `tcp@${(await server.serve('tcp@127.0.0.1:0')).address}`;
    await until(() => discovery.list().length === 1, 'the first server of a service that did not exist');
    // Someone (rpcx's Go plugin adds tps=...) rewrites the node's data.
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    await new Promise<void>((resolve, reject) =>
      client.setData(`/rpcx_test_zk_data/Counter/${endpoint}`, Buffer.from('weight=1&tps=5'), -1, (error) => (error ? reject(error) : resolve())),
    );
    await until(() => discovery.list()[0]?.value === 'weight=1&tps=5', 'the changed metadata', 5000);
  });
});
