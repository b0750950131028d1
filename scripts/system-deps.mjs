#!/usr/bin/env node
/**
 * `npm test`'s first step (pretest): the tests run against real components (etcd, Redis, headless Chromium, Go peers
 * on kcp-go, quic-go and msgpack), so the Debian packages providing them must be present. This installs the missing
 * ones with apt-get when run as root; otherwise it stops at once with one message naming them and the install command,
 * instead of letting dozens of tests fail one by one.
 *
 * The whole list is the table below: to need another system package, add one line.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const GOCODE = '/usr/share/gocode/src';

/** Debian package, how to see it is installed (a command on PATH or a path), and which tests need it. */
export const SYSTEM_PACKAGES = [
  { package: 'etcd-server', command: 'etcd', for: 'etcd registry tests (a real etcd on a free port)' },
  { package: 'redis-server', command: 'redis-server', for: 'Redis registry tests (a real Redis on a free port)' },
  { package: 'openssl', command: 'openssl', for: 'throwaway certificates of the TLS and QUIC tests' },
  { package: 'chromium', path: '/usr/bin/chromium', for: 'browser tests (headless Chromium through playwright-core)' },
  { package: 'golang-go', command: 'go', for: 'building the Go interop peers' },
  { package: 'golang-github-xtaci-kcp-dev', path: `${GOCODE}/github.com/xtaci/kcp-go`, for: 'the kcp-go peer' },
  { package: 'golang-github-lucas-clemente-quic-go-dev', path: `${GOCODE}/github.com/lucas-clemente/quic-go`, for: 'the quic-go peer' },
  { package: 'golang-github-vmihailenco-msgpack.v5-dev', path: `${GOCODE}/github.com/vmihailenco/msgpack/v5`, for: 'the Go msgpack peer' },
];

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
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

const installed = (entry) => (entry.command ? onPath(entry.command) : existsSync(entry.path));
const missingPackages = () => SYSTEM_PACKAGES.filter((entry) => !installed(entry)).map((entry) => entry.package);

function stop(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const missing = missingPackages();
if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.platform !== 'linux' || !onPath('apt-get')) {
    stop(`npm test needs these Debian packages (or their equivalents), missing here: ${missing.join(' ')}. On Debian: ${command}`);
  }
  if (process.getuid?.() !== 0) {
    stop(`npm test needs these Debian packages, missing here: ${missing.join(' ')}. Install them as root with: ${command}`);
  }
  process.stderr.write(`installing the system packages the tests need: ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (error) {
    stop(`installing ${missing.join(' ')} with apt-get failed: ${error.message}`);
  }
  const still = missingPackages();
  if (still.length > 0) stop(`apt-get finished but these are still missing: ${still.join(' ')}`);
}
