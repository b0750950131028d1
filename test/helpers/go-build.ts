/**
 * Builds the Go peers of the interop tests from Debian's packaged Go sources: GOPATH mode (GO111MODULE=off) over
 * /usr/share/gocode, so nothing is downloaded. A missing toolchain or package makes the build fail with the apt-get
 * line that installs it (tests fail, never skip).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const GOPATH = '/usr/share/gocode';

const run = promisify(execFile);

export interface GoProgram {
  /** The built binary. */
  readonly path: string;
  /** Removes the build directory. */
  cleanup(): void;
}

/**
 * Writes `source` as main.go into a temp dir and builds it. `needs` maps each Go import path the program uses to the
 * Debian package that provides it (checked first, for a clear error).
 */
export async function buildGoProgram(name: string, source: string, needs: Record<string, string>): Promise<GoProgram> {
  const missing = Object.entries(needs).filter(([importPath]) => !existsSync(join(GOPATH, 'src', importPath)));
  if (missing.length > 0) {
    const packages = missing.map(([, pkg]) => pkg).join(' ');
    throw new Error(`${name}: Go sources missing (${missing.map(([p]) => p).join(', ')}): apt-get install -y golang-go ${packages} (.ci/run does this)`);
  }
  const dir = mkdtempSync(join(tmpdir(), `rpcx-${name}-`));
  writeFileSync(join(dir, 'main.go'), source);
  const path = join(dir, name);
  try {
    await run('go', ['build', '-o', path, 'main.go'], {
      cwd: dir,
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(tmpdir(), 'rpcx-go-cache') },
      timeout: 300_000,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const { code, stderr } = error as { code?: string; stderr?: string };
    if (code === 'ENOENT') throw new Error(`${name}: \`go\` not found: apt-get install -y golang-go (.ci/run does this)`, { cause: error });
    throw new Error(`${name}: go build failed: ${stderr ?? (error as Error).message}`, { cause: error });
  }
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
