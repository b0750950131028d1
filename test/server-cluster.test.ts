/**
 * A server served from several processes (ServerCluster, `--workers n`): every worker loads the service module and
 * listens on the same port with SO_REUSEPORT. On real sockets: calls over many connections are answered by more than
 * one process, /status sums every worker, calls in flight at close all finish, the endpoint is registered once (in a
 * real Redis), a worker that dies is replaced, and the CLI's --workers does the same.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { Client, ConfigError, silentLogger } from '../index.js';
import { ServerCluster } from '../server/cluster.js';
import type { ClusterStatusJSON } from '../server/observability/status-merge.js';
import { createDiscovery, createRegistrar, type Registrar } from '../registry/index.js';
import type { ServiceRecord } from '../registry/layout.js';
import { distDir } from './helpers/paths.js';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';
import { startRedis, type StoreProcess } from './helpers/stores.js';
import { until } from './helpers/until.js';

const whoModuleJs = join(distDir, 'test', 'fixtures', 'who-service.js');

/** Enough connections that all of them landing on one of two workers (chance 2^-(n-1)) never happens in practice. */
const CONNECTIONS = 32;

async function connectMany(endpoint: string, n: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: n }, () => Client.connect(endpoint, { logger: silentLogger })));
}

async function getStatus(endpoint: string): Promise<ClusterStatusJSON> {
  const response = await fetch(`http://${endpoint.replace(/^tcp@/, '')}/status`, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200);
  return (await response.json()) as ClusterStatusJSON;
}

describe('ServerCluster: one server from several processes', () => {
  let cluster: ServerCluster;
  let endpoint: string;

  before(async () => {
    cluster = await ServerCluster.start({ workers: 2, modules: [whoModuleJs], listen: ['tcp@127.0.0.1:0'], logger: silentLogger, workerLogLevel: 'silent' });
    endpoint = cluster.addresses[0]!;
  });
  after(() => cluster.close({ timeoutMs: 2000 }));

  it('serves calls from several connections in more than one process, all of them its workers', async () => {
    assert.equal(cluster.pids.length, 2);
    assert.ok(!cluster.pids.includes(process.pid));
    const clients = await connectMany(endpoint, CONNECTIONS);
    try {
      const pids = await Promise.all(clients.map((c) => c.call('Who', 'Pid', {})));
      const distinct = new Set(pids as number[]);
      assert.equal(distinct.size, 2, `pids seen: ${[...distinct].join(', ')}`);
      for (const pid of distinct) assert.ok(cluster.pids.includes(pid));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("/status on the shared port sums every worker's calls and lists each worker", async () => {
    const before = await cluster.status();
    const clients = await connectMany(endpoint, CONNECTIONS);
    try {
      await Promise.all(clients.map((c) => c.call('Who', 'Pid', {})));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    const status = await getStatus(endpoint);
    assert.equal(status.server.pid, process.pid, 'the primary answers for the cluster');
    assert.deepEqual(status.server.addresses, cluster.endpoints);
    assert.deepEqual(status.workers.map((w) => w.pid).sort(), [...cluster.pids].sort());
    const pidCalls = (s: ClusterStatusJSON): number => s.services.find((x) => x.name === 'Who')!.methods.find((m) => m.name === 'Pid')!.calls;
    assert.equal(pidCalls(status) - pidCalls(before), CONNECTIONS);
    assert.equal(status.server.calls, status.workers.reduce((sum, w) => sum + w.calls, 0));
    assert.ok(status.workers.every((w) => w.calls > 0), 'each worker served some calls');
    const method = status.services.find((x) => x.name === 'Who')!.methods.find((m) => m.name === 'Pid')!;
    assert.equal(method.histogram.reduce((a, b) => a + b, 0), pidCalls(status));
  });
});

describe('ServerCluster close', () => {
  it('lets every worker finish the calls in flight: none is lost, then the port is closed', async () => {
    const cluster = await ServerCluster.start({ workers: 2, modules: [whoModuleJs], listen: ['tcp@127.0.0.1:0'], logger: silentLogger, workerLogLevel: 'silent' });
    const endpoint = cluster.addresses[0]!;
    const clients = await connectMany(endpoint, CONNECTIONS);
    try {
      const calls = clients.flatMap((c) => [c.call('Who', 'Slow', { Ms: 400 }), c.call('Who', 'Slow', { Ms: 200 })]);
      // Every call has reached its worker before close begins.
      await until(async () => (await cluster.status()).server.inFlight === calls.length, 'all calls in flight', 5000);
      const closed = cluster.close();
      const pids = (await Promise.all(calls)) as number[];
      assert.equal(pids.length, CONNECTIONS * 2);
      assert.equal(new Set(pids).size, 2);
      await closed;
      await assert.rejects(Client.connect(endpoint, { logger: silentLogger, connectTimeoutMs: 2000 }));
    } finally {
      await cluster.close();
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('ServerCluster with a registry (real Redis)', () => {
  let redis: StoreProcess;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.dispose());

  it('registers each endpoint once for all workers, and deregisters before the workers drain', async () => {
    const url = `${redis.url}/rpcx`;
    const real = createRegistrar(url, { ttlSeconds: 10 });
    const registered: Array<{ endpoint: string; services: ServiceRecord[] }> = [];
    const counting: Registrar = {
      register: (endpoint, services) => {
        registered.push({ endpoint, services });
        return real.register(endpoint, services);
      },
      deregister: () => real.deregister(),
      close: () => real.close(),
    };
    const cluster = await ServerCluster.start({ workers: 3, modules: [whoModuleJs], listen: ['tcp@127.0.0.1:0'], logger: silentLogger, workerLogLevel: 'silent', metadata: 'group=a' });
    const discovery = await createDiscovery(url, 'Who');
    try {
      await cluster.addRegistrar(counting);
      assert.deepEqual(registered.map((r) => r.endpoint), cluster.addresses);
      assert.deepEqual(registered[0]!.services.map((s) => s.name).filter((n) => n === 'Who'), ['Who']);
      await until(() => discovery.list().length === 1, 'the endpoint in Redis');
      assert.equal(discovery.list()[0]!.key, cluster.addresses[0]);
      await cluster.close({ timeoutMs: 2000 });
      await until(() => discovery.list().length === 0, 'the endpoint gone from Redis');
    } finally {
      await cluster.close();
      await discovery.close();
    }
  });
});

describe('ServerCluster with what cannot cross processes', () => {
  it("applies each module's serverOptions (auth) and configureServer in every worker", async () => {
    const module = join(distDir, 'test', 'fixtures', 'guarded-service.js');
    const cluster = await ServerCluster.start({ workers: 2, modules: [module], listen: ['tcp@127.0.0.1:0'], logger: silentLogger, workerLogLevel: 'silent' });
    const endpoint = cluster.addresses[0]!;
    const allowed = await Promise.all(Array.from({ length: CONNECTIONS }, () => Client.connect(endpoint, { logger: silentLogger, auth: 'let-me-in' })));
    const refused = await Client.connect(endpoint, { logger: silentLogger });
    try {
      const pids = new Set((await Promise.all(allowed.map((c) => c.call('Extra', 'Pid', {})))) as number[]);
      assert.equal(pids.size, 2, 'configureServer ran in both workers');
      assert.ok((await allowed[0]!.call('Guarded', 'Pid', {})) as number > 0);
      await assert.rejects(refused.call('Guarded', 'Pid', {}));
    } finally {
      await Promise.all([...allowed, refused].map((c) => c.close()));
      await cluster.close();
    }
  });
});

describe('ServerCluster failures', () => {
  it('replaces a worker that dies; the others keep serving meanwhile', async () => {
    const cluster = await ServerCluster.start({ workers: 2, modules: [whoModuleJs], listen: ['tcp@127.0.0.1:0'], logger: silentLogger, workerLogLevel: 'silent', restartDelayMs: 50 });
    try {
      const [victim, survivor] = cluster.pids;
      process.kill(victim!, 'SIGKILL');
      await until(() => cluster.pids.length === 2 && !cluster.pids.includes(victim!), 'a replacement worker', 15_000);
      assert.ok(cluster.pids.includes(survivor!));
      const clients = await connectMany(cluster.addresses[0]!, CONNECTIONS);
      try {
        const pids = new Set((await Promise.all(clients.map((c) => c.call('Who', 'Pid', {})))) as number[]);
        assert.equal(pids.size, 2);
        assert.ok(!pids.has(victim!));
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    } finally {
      await cluster.close();
    }
  });

  it('refuses networks processes cannot share, and a module without services, with a ConfigError and no worker left', async () => {
    await assert.rejects(
      ServerCluster.start({ workers: 2, modules: [whoModuleJs], listen: ['unix@/tmp/rpcx-cluster-test.sock'], logger: silentLogger }),
      (error: Error) => error instanceof ConfigError && /tcp and reuseport listeners only/.test(error.message),
    );
    await assert.rejects(
      ServerCluster.start({ workers: 2, modules: [join(distDir, 'test', 'fixtures', 'no-service.js')], listen: ['tcp@127.0.0.1:0'], logger: silentLogger, workerLogLevel: 'silent' }),
      (error: Error) => error instanceof ConfigError && /exports no @service\(\) class/.test(error.message),
    );
  });
});

describe('rpcx-ts serve --workers', () => {
  it('serve-examples --workers 2: one listening line, the worker pids, calls answered, SIGTERM drains and exits 0', async () => {
    const started = await startListening(cliPath, ['serve-examples', '--workers', '2', '--listen', 'tcp@127.0.0.1:0']);
    try {
      const endpoint = started.endpoints[0]!;
      const mul = await run(cliPath, ['call', endpoint, 'Arith.Mul', '{"A":6,"B":7}']);
      assert.equal(mul.stdout, '{"C":42}\n', mul.stderr);
      const status = await getStatus(endpoint);
      assert.equal(status.workers.length, 2);
    } finally {
      assert.equal(await stopProcess(started.child), 0);
    }
  });

  it('serve <module> --workers 2 serves the module from two processes', async () => {
    const started = await startListening(cliPath, ['serve', whoModuleJs, '--workers', '2', '--listen', 'tcp@127.0.0.1:0']);
    const clients = await connectMany(started.endpoints[0]!, CONNECTIONS);
    try {
      const pids = new Set((await Promise.all(clients.map((c) => c.call('Who', 'Pid', {})))) as number[]);
      assert.equal(pids.size, 2);
      assert.ok(!pids.has(started.child.pid!));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      assert.equal(await stopProcess(started.child), 0);
    }
  });

  it('--workers takes an integer ≥ 1 and tcp listeners only (exit 2)', async () => {
    const zero = await run(cliPath, ['serve-examples', '--workers', '0', '--listen', 'tcp@127.0.0.1:0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--workers takes an integer ≥ 1/);
    const unix = await run(cliPath, ['serve-examples', '--workers', '2', '--listen', 'unix@/tmp/rpcx-workers.sock']);
    assert.equal(unix.code, 2);
    assert.match(unix.stderr, /tcp and reuseport listeners only/);
  });
});
