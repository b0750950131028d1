/**
 * Builds and runs the kcp-go echo peer (test/peers/kcp-echo/main.go, on Debian's golang-github-xtaci-kcp-dev) for the
 * interoperability tests and the KCP benchmark. When Go or kcp-go is missing this throws (tests fail, never skip).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildGoPeer, type GoPeer } from './go-peer.js';
import { freeUdpPort } from './ports.js';
import { until } from './until.js';

let built: GoPeer | undefined;

/** Builds the peer once per process into a temp dir; returns the binary path. */
export function buildPeer(): string {
  built ??= buildGoPeer({
    name: 'kcp-echo',
    source: { file: 'test/peers/kcp-echo/main.go' },
    needs: { 'github.com/xtaci/kcp-go': 'golang-github-xtaci-kcp-dev', 'golang.org/x/crypto/pbkdf2': 'golang-golang-x-crypto-dev' },
  });
  return built.binary;
}

/** Removes the temp dir of the peer built by this process, if any. */
export function removePeerBuild(): void {
  built?.remove();
  built = undefined;
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
  const started = () => {
    if (peer.child.exitCode !== null) throw new Error(`kcp-go peer exited early: ${peer.output()}`);
    return peer.output().includes('listening');
  };
  await until(started, 'the kcp-go peer to listen', 10_000, { detail: peer.output }).catch((error: unknown) => {
    peer.kill();
    throw error;
  });
  return { ...peer, address };
}
