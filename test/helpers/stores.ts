/**
 * Real etcd, Redis and ZooKeeper servers for registry tests, on free loopback ports, in throwaway data directories.
 * Each can be stopped, restarted on the same port (etcd and ZooKeeper keep their data directory; Redis restarts empty,
 * as an unpersisted cache would) or killed. `npm test` installs Debian's etcd-server, redis-server and ZooKeeper (with
 * its Java) first; a missing binary fails the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface StoreProcess {
  /** `etcd://127.0.0.1:port` or `redis://127.0.0.1:port` (add a base path for a registry URL). */
  url: string;
  hostPort: string;
  /** Stops the server (SIGTERM) and waits for it. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  dispose(): Promise<void>;
}

function requireBinary(name: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) {
    throw new Error(`${name} is not installed: apt-get install -y ${pkg} (npm test installs it first)`);
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return response.ok;
}

/** Sends `request` on a fresh connection and tells whether the first reply starts with `expected`. */
function answers(port: number, request: string, expected: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => socket.write(request));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString().startsWith(expected));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

export async function startEtcd(): Promise<StoreProcess> {
  requireBinary('etcd', 'etcd-server');
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    child = spawn(
      'etcd',
      [
        '--name', 'rpcx-test', '--data-dir', join(dir, 'data'),
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `rpcx-test=${peer}`, '--log-level', 'error',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(() => httpOk(`${client}/health`), 'etcd');
  };
  await start();
  return {
    url: `etcd://127.0.0.1:${clientPort}`,
    hostPort: `127.0.0.1:${clientPort}`,
    stop: () => stopChild(child),
    start,
    async dispose() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRedis(): Promise<StoreProcess> {
  requireBinary('redis-server', 'redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitFor(() => answers(port, 'PING\r\n', '+PONG'), 'redis');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    stop: () => stopChild(child),
    start,
    async dispose() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's ZooKeeper (libzookeeper-java, which zookeeperd pulls in): the server jar, whose manifest names the jars it needs. */
const zooKeeperJar = '/usr/share/java/zookeeper.jar';

/**
 * A standalone ZooKeeper with its own config in a temp dir: client port on 127.0.0.1 only, admin server off, a short
 * tick so that session timeouts as low as 1 s are allowed (min session timeout = 2 ticks).
 */
export async function startZooKeeper(): Promise<StoreProcess & { wipe(): void }> {
  requireBinary('java', 'default-jre-headless');
  if (!existsSync(zooKeeperJar)) throw new Error(`${zooKeeperJar} is missing: apt-get install -y libzookeeper-java (npm test installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-zk-'));
  const port = await freePort();
  const config = join(dir, 'zoo.cfg');
  writeFileSync(
    config,
    [
      'tickTime=500',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      'maxSessionTimeout=60000',
      '4lw.commands.whitelist=srvr',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('java', ['-Xmx256m', '-cp', zooKeeperJar, 'org.apache.zookeeper.server.ZooKeeperServerMain', config], { stdio: 'ignore' });
    // `srvr` answers with the version only once the server serves requests (`ruok` says imok earlier).
    await waitFor(() => answers(port, 'srvr', 'Zookeeper version'), 'zookeeper', 30_000);
  };
  await start();
  return {
    url: `zk://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    stop: () => stopChild(child),
    start,
    /** Forgets every node and session (while stopped): the next start is a ZooKeeper that lost its data. */
    wipe: () => rmSync(join(dir, 'data'), { recursive: true, force: true }),
    async dispose() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
