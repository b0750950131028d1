/**
 * Builds a Go program that uses vmihailenco/msgpack v5 (the library Go rpcx encodes msgpack with), from Debian's
 * golang-github-vmihailenco-msgpack.v5-dev in GOPATH mode (.ci/run installs it), into a new temp directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const GOPATH = '/usr/share/gocode';

/** Compiles `source` (Go code) and returns the temp directory and the binary's path in it. */
export async function buildGoMsgpackPeer(source: string): Promise<{ dir: string; peer: string }> {
  if (!existsSync(join(GOPATH, 'src/github.com/vmihailenco/msgpack/v5'))) {
    throw new Error('Go msgpack sources missing: apt-get install -y golang-go golang-github-vmihailenco-msgpack.v5-dev (.ci/run does this)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-go-peer-'));
  writeFileSync(join(dir, 'main.go'), source);
  const peer = join(dir, 'peer');
  await promisify(execFile)('go', ['build', '-o', peer, 'main.go'], {
    cwd: dir,
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(tmpdir(), 'rpcx-go-cache') },
    timeout: 300_000,
  });
  return { dir, peer };
}
