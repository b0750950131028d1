#!/usr/bin/env node
/**
 * `npm test`'s first step (pretest): the tests run against real components (etcd, Redis, ZooKeeper on Java, dnsmasq,
 * headless Chromium, openssl for throwaway certificates, Go peers on kcp-go, quic-go, msgpack, x/net/websocket and
 * go-zookeeper), so the Debian packages providing them must be present. This installs the missing
 * ones with apt-get when run as root; otherwise it stops at once with one message naming them and the install command,
 * instead of letting dozens of tests fail one by one.
 *
 * The whole list is the table below: to need another system package, add one line.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const GOCODE = '/usr/share/gocode/src';

/** Debian package, how to see it is installed (a command on PATH or a path), and which tests need it. */
export const SYSTEM_PACKAGES = [
  { package: 'etcd-server', command: 'etcd', for: 'etcd registry tests (a real etcd on a free port)' },
  { package: 'redis-server', command: 'redis-server', for: 'Redis registry tests (a real Redis on a free port)' },
  { package: 'openssl', command: 'openssl', for: 'throwaway certificates of the TLS and QUIC tests' },
  { package: 'chromium', path: '/usr/bin/chromium', for: 'browser tests (headless Chromium through playwright-core)' },
  { package: 'golang-go', command: 'go', for: 'building the Go interop peers' },
  { package: 'golang-github-xtaci-kcp-dev', path: `${GOCODE}/github.com/xtaci/kcp-go`, for: 'the kcp-go peer' },
  { package: 'golang-golang-x-crypto-dev', path: `${GOCODE}/golang.org/x/crypto/pbkdf2`, for: "the kcp-go peer's key derivation (pbkdf2, as rpcx's examples)" },
  { package: 'golang-github-lucas-clemente-quic-go-dev', path: `${GOCODE}/github.com/lucas-clemente/quic-go`, for: 'the quic-go peer' },
  { package: 'golang-github-vmihailenco-msgpack.v5-dev', path: `${GOCODE}/github.com/vmihailenco/msgpack/v5`, for: 'the Go msgpack peer' },
  { package: 'default-jre-headless', command: 'java', for: 'running ZooKeeper for the ZooKeeper registry tests' },
  { package: 'libzookeeper-java', path: '/usr/share/java/zookeeper.jar', for: 'the ZooKeeper server jar the registry tests start' },
  { package: 'dnsmasq-base', path: '/usr/sbin/dnsmasq', for: 'DNS discovery tests (a real dnsmasq on a free port)' },
  { package: 'golang-golang-x-net-dev', path: `${GOCODE}/golang.org/x/net/websocket`, for: 'the Go x/net/websocket peer (ws interop)' },
  { package: 'golang-github-samuel-go-zookeeper-dev', path: `${GOCODE}/github.com/samuel/go-zookeeper`, for: 'the Go ZooKeeper peer' },
  { package: 'python3-grpcio', path: '/usr/lib/python3/dist-packages/grpc', for: "the Python gRPC client peer (Debian's /usr/bin/python3)" },
];

/** Whether `command` is an executable file in one of the PATH's directories. */
export function onPath(command, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** The packages of `table` that are not installed, seen through `path` (the PATH). */
export function missingPackages(table = SYSTEM_PACKAGES, path = process.env.PATH ?? '') {
  return table.filter((entry) => !(entry.command ? onPath(entry.command, path) : existsSync(entry.path))).map((entry) => entry.package);
}

/**
 * What to do about the missing packages: nothing, install them (root with apt-get), or stop with one message that
 * names them all and the command that installs them.
 */
export function plan(missing, { root, aptGet, platform = process.platform }) {
  if (missing.length === 0) return { action: 'none' };
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (platform !== 'linux' || !aptGet) {
    return { action: 'stop', message: `npm test needs these Debian packages (or their equivalents), missing here: ${missing.join(' ')}. On Debian: ${command}` };
  }
  if (!root) return { action: 'stop', message: `npm test needs these Debian packages, missing here: ${missing.join(' ')}. Install them as root with: ${command}` };
  return { action: 'install' };
}

function stop(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function main() {
  const missing = missingPackages();
  const next = plan(missing, { root: process.getuid?.() === 0, aptGet: onPath('apt-get') });
  if (next.action === 'none') return;
  if (next.action === 'stop') stop(next.message);
  process.stderr.write(`installing the system packages the tests need: ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    // One `apt-get update`, only now that something is missing.
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (error) {
    stop(`installing ${missing.join(' ')} with apt-get failed: ${error.message}`);
  }
  const still = missingPackages();
  if (still.length > 0) stop(`apt-get finished but these are still missing: ${still.join(' ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
