/**
 * Builds the Go peers of the interoperability tests (kcp-go, quic-go, vmihailenco/msgpack) with Debian's Go in GOPATH
 * mode from the packaged library sources under /usr/share/gocode, so no Go module proxy is needed. The packages come
 * from the table in scripts/system-deps.mjs, which `npm test` runs first; a missing one fails the test with the
 * command that installs it (tests never skip).
 */
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export const GOPATH = '/usr/share/gocode';

export interface GoPeerSpec {
  /** The binary's name (also names the temp dir). */
  name: string;
  /** The program: a main.go path relative to the repository root, or the Go source text itself. */
  source: { file: string } | { text: string };
  /** Go import paths the program needs, each with the Debian package that provides it. */
  needs: Record<string, string>;
}

export interface GoPeer {
  binary: string;
  /** Removes the temp dir holding the binary. */
  remove(): void;
}

/** Builds the peer into a fresh temp dir (synchronously, up to 5 minutes); throws with install instructions. */
export function buildGoPeer(spec: GoPeerSpec): GoPeer {
  const build = prepareBuild(spec);
  const result = spawnSync('go', build.args, { ...build.options, encoding: 'utf8' });
  return build.finish(result.status ?? result.signal, `${result.stdout}${result.stderr}${result.error ?? ''}`);
}

/** The same as buildGoPeer without blocking the event loop, for a test that starts a store meanwhile. */
export async function buildGoPeerAsync(spec: GoPeerSpec): Promise<GoPeer> {
  const build = prepareBuild(spec);
  return new Promise((resolve, reject) => {
    execFile('go', build.args, build.options, (error, stdout, stderr) => {
      try {
        resolve(build.finish(error ? (error.code ?? error.signal ?? 'error') : 0, `${stdout}${stderr}${error?.message ?? ''}`));
      } catch (failure) {
        reject(failure as Error);
      }
    });
  });
}

/** Checks the Go packages, writes main.go into a fresh temp dir; `finish` turns go build's outcome into a GoPeer. */
function prepareBuild(spec: GoPeerSpec) {
  const missing = Object.entries(spec.needs)
    .filter(([importPath]) => !existsSync(join(GOPATH, 'src', importPath)))
    .map(([, debianPackage]) => debianPackage);
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) missing.unshift('golang-go');
  if (missing.length > 0) {
    throw new Error(`the ${spec.name} Go peer needs Debian packages that are missing; install them with: apt-get install -y ${missing.join(' ')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), `rpcx-${spec.name}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if ('file' in spec.source) copyFileSync(join(repoRoot, spec.source.file), join(dir, 'main.go'));
  else writeFileSync(join(dir, 'main.go'), spec.source.text);
  const binary = join(dir, spec.name);
  return {
    args: ['build', '-o', binary, 'main.go'],
    options: {
      cwd: dir,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(tmpdir(), 'rpcx-go-build-cache') },
    },
    finish(status: number | string | null, output: string): GoPeer {
      if (status !== 0 || !existsSync(binary)) {
        remove();
        throw new Error(`building the ${spec.name} Go peer failed (exit ${status}):\n${output}`);
      }
      return { binary, remove };
    },
  };
}
