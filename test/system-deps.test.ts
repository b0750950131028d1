/**
 * scripts/system-deps.mjs, the pretest step: one table of Debian packages, what is missing, and what to do about it
 * (nothing; install as root; or stop at once with one message naming every missing package and the install command).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './helpers/paths.js';

interface Entry {
  package: string;
  command?: string;
  path?: string;
  for: string;
}
type Plan = { action: 'none' | 'install' } | { action: 'stop'; message: string };
interface SystemDeps {
  SYSTEM_PACKAGES: Entry[];
  missingPackages(table?: Entry[], path?: string): string[];
  plan(missing: string[], situation: { root: boolean; aptGet: boolean; platform?: string }): Plan;
}

const deps = (await import(pathToFileURL(join(repoRoot, 'scripts', 'system-deps.mjs')).href)) as SystemDeps;

describe('system packages for the tests', () => {
  it('is one table: each line a distinct Debian package, checked by a command or a path, with its reason', () => {
    const names = deps.SYSTEM_PACKAGES.map((entry) => entry.package);
    assert.equal(new Set(names).size, names.length);
    for (const entry of deps.SYSTEM_PACKAGES) {
      assert.ok((entry.command === undefined) !== (entry.path === undefined), `${entry.package}: a command or a path`);
      assert.ok(entry.for.length > 0);
    }
    for (const needed of ['etcd-server', 'redis-server', 'chromium', 'openssl', 'golang-go', 'golang-github-xtaci-kcp-dev']) {
      assert.ok(names.includes(needed), needed);
    }
  });

  it('finds missing commands on the PATH given and missing paths', () => {
    const table: Entry[] = [
      { package: 'absent-command', command: 'rpcx-no-such-command', for: 'test' },
      { package: 'absent-path', path: join(repoRoot, 'no-such-file'), for: 'test' },
      { package: 'present-command', command: 'sh', for: 'test' },
      { package: 'present-path', path: join(repoRoot, 'package.json'), for: 'test' },
    ];
    assert.deepEqual(deps.missingPackages(table, '/usr/bin:/bin'), ['absent-command', 'absent-path']);
    assert.deepEqual(deps.missingPackages(table, ''), ['absent-command', 'absent-path', 'present-command']);
  });

  it('does nothing when nothing is missing, installs as root, and otherwise stops with one message', () => {
    assert.deepEqual(deps.plan([], { root: false, aptGet: false }), { action: 'none' });
    assert.deepEqual(deps.plan(['etcd-server', 'chromium'], { root: true, aptGet: true, platform: 'linux' }), { action: 'install' });
    const stop = deps.plan(['etcd-server', 'chromium'], { root: false, aptGet: true, platform: 'linux' });
    assert.equal(stop.action, 'stop');
    assert.match((stop as { message: string }).message, /etcd-server chromium\. Install them as root with: apt-get update && apt-get install -y etcd-server chromium$/);
    const noApt = deps.plan(['redis-server'], { root: true, aptGet: false, platform: 'linux' });
    assert.equal(noApt.action, 'stop');
    assert.match((noApt as { message: string }).message, /redis-server/);
  });

  it('finds nothing missing here (the pretest step ran before this suite)', () => {
    assert.deepEqual(deps.missingPackages(), []);
  });
});
