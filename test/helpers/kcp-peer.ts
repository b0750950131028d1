/**
 * Builds and runs the kcp-go echo peer (<repo>/../shared/peers/kcp-go-echo) for interoperability tests. Needs Go and
 * Debian's golang-github-xtaci-kcp-dev; when `go` is missing this throws (tests must fail, not skip).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest ancestor of this (compiled) file holding package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('kcp peer: cannot find the repository root (package.json) above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export function peerSourceDir(): string {
  return path.join(repoRoot(), '..', 'shared', 'peers', 'kcp-go-echo');
}

let built: string | undefined;

/** Builds the peer once per process into a temp dir; returns the binary path. */
export function buildPeer(): string {
  if (built) return built;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      'kcp interop tests need Go to build the kcp-go peer: `go` was not found or failed. ' +
        'Install it with: apt-get install -y golang-go golang-github-xtaci-kcp-dev',
    );
  }
  const source = peerSourceDir();
  if (!fs.existsSync(path.join(source, 'build.sh'))) throw new Error(`kcp interop tests: peer sources missing at ${source}`);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcp-peer-')), 'kcpecho');
  const result = spawnSync('bash', [path.join(source, 'build.sh'), out], { encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0 || !fs.existsSync(out)) {
    throw new Error(`kcp interop tests: building the kcp-go peer failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  built = out;
  return out;
}

/** Removes the temp dir of the peer built by this process, if any. */
export function removePeerBuild(): void {
  if (!built) return;
  fs.rmSync(path.dirname(built), { recursive: true, force: true });
  built = undefined;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export interface PeerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill: () => void;
}

export function startPeer(args: string[]): PeerProcess {
  const bin = buildPeer();
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Starts the peer in server mode on a free port; resolves once it printed its banner. */
export async function startPeerServer(extra: string[]): Promise<PeerProcess & { address: string }> {
  const port = await freeUdpPort();
  const address = `127.0.0.1:${port}`;
  const peer = startPeer(['-mode', 'server', '-addr', address, ...extra]);
  const start = performance.now();
  while (!peer.output().includes('listening')) {
    if (peer.child.exitCode !== null) throw new Error(`kcp-go peer exited early: ${peer.output()}`);
    if (performance.now() - start > 10_000) {
      peer.kill();
      throw new Error(`kcp-go peer did not start: ${peer.output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...peer, address };
}
