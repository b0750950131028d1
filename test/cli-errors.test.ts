/**
 * The CLI's help, usage and configuration errors, and exit codes, run as a user runs it. Every configuration mistake
 * must be an ERR_RPCX_CONFIG with exit code 2 that names the flag or entry, and must come before any dial: the
 * endpoints used here are never listened on, so a dial would show up as exit code 3 instead.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliPath, run } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';

describe('rpcx-ts help', () => {
  it('prints the overview with `help`, no arguments, --help and -h, on stdout with exit 0', async () => {
    for (const args of [['help'], [], ['--help'], ['-h']]) {
      const r = await run(cliPath, args);
      assert.equal(r.code, 0, args.join(' '));
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^commands:$/m);
      assert.match(r.stdout, /exit codes: 0 ok/);
    }
  });

  it('prints each command\'s help with --help, -h and `help <command>`', async () => {
    for (const command of ['call', 'list', 'bench', 'serve', 'serve-examples']) {
      for (const args of [[command, '--help'], [command, '-h'], ['help', command], [command, 'tcp@x:1', '--help']]) {
        const r = await run(cliPath, args);
        assert.equal(r.code, 0, args.join(' '));
        assert.equal(r.stderr, '');
        assert.match(r.stdout, new RegExp(`^usage: rpcx-ts ${command} `, 'm'));
        assert.match(r.stdout, /^ {2}-h, --help/m);
      }
    }
    const bench = await run(cliPath, ['bench', '--help']);
    for (const flag of ['--rate', '--warmup', '--concurrency', '--duration', '--args', '--auth', '--compress']) assert.match(bench.stdout, new RegExp(`${flag} `));
  });

  it('prints the version with --version, exit 0', async () => {
    const r = await run(cliPath, ['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^rpcx-ts \d+\.\d+\.\d+ \(node v\d+/);
  });

  it('answers an unknown command or flag on stderr with exit 2', async () => {
    const unknown = await run(cliPath, ['cal']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /unknown command "cal"/);
    const flag = await run(cliPath, ['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '--bogus']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--bogus'/);
    assert.match(flag.stderr, /^usage: rpcx-ts call /m);
  });
});

describe('rpcx-ts configuration errors (exit 2, before any dial)', () => {
  const cases: Array<{ name: string; args: (port: number) => string[]; expect: RegExp }> = [
    { name: 'unknown network', args: () => ['call', 'foo@1.2.3.4:1', 'Arith.Mul', '{}'], expect: /bad server "foo@1\.2\.3\.4:1": unknown network "foo"/ },
    { name: 'missing port', args: () => ['call', 'tcp@127.0.0.1', 'Arith.Mul', '{}'], expect: /bad server "tcp@127\.0\.0\.1": .*no port/ },
    { name: 'port out of range', args: () => ['call', 'tcp@127.0.0.1:70000', 'Arith.Mul', '{}'], expect: /bad server "tcp@127\.0\.0\.1:70000"/ },
    { name: 'malformed entry in a list', args: (p) => ['call', `tcp@127.0.0.1:${p},tcp@127.0.0.1:${p}?weight`, 'Arith.Mul', '{}'], expect: /bad metadata in server "tcp@127\.0\.0\.1:\d+\?weight"/ },
    { name: 'empty entry in a list', args: (p) => ['call', `tcp@127.0.0.1:${p},,`, 'Arith.Mul', '{}'], expect: /empty entry in the server list/ },
    { name: 'bad registry URL', args: () => ['call', 'etcd://', 'Arith.Mul', '{}'], expect: /etcd registry URL names its servers/ },
    { name: 'registry without port', args: () => ['call', 'redis://127.0.0.1/base', 'Arith.Mul', '{}'], expect: /registry host "127\.0\.0\.1" needs a port/ },
    { name: 'unknown registry scheme', args: () => ['call', 'consul://127.0.0.1:8500/base', 'Arith.Mul', '{}'], expect: /unknown registry "consul:/ },
    { name: '--retries abc', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--retries', 'abc'], expect: /--retries takes an integer ≥ 0, got "abc"/ },
    { name: '--retries -3', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--retries', '-3'], expect: /--retries takes an integer ≥ 0, got "-3"/ },
    { name: '--timeout x', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--timeout', '2s'], expect: /--timeout takes a number ≥ 0, got "2s"/ },
    { name: '--fail', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--fail', 'failsoft'], expect: /--fail takes failfast/ },
    { name: '--compress', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--compress', 'zstd'], expect: /--compress takes none or gzip, got "zstd"/ },
    { name: '--meta without =', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--meta', 'novalue'], expect: /--meta takes key=value/ },
    { name: 'bad JSON argument', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{bad'], expect: /the argument must be JSON/ },
    { name: 'extra positional', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', 'extra'], expect: /unexpected argument: "extra"/ },
    { name: 'missing positional', args: () => ['call', 'tcp@127.0.0.1:1'], expect: /call needs <endpoint> <Service\.Method>/ },
    { name: 'TLS cert without key (client)', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--tls-cert', 'c.pem'], expect: /--tls-cert needs --tls-key/ },
    { name: 'TLS CA on a plaintext network', args: (p) => ['call', `ws@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--insecure'], expect: /--insecure: ws@ does not use TLS/ },
    { name: 'unreadable CA file', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--tls-ca', '/nonexistent/ca.pem'], expect: /--tls-ca: cannot read "\/nonexistent\/ca\.pem": ENOENT/ },
    { name: 'kcp key on tcp', args: (p) => ['call', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '{}', '--kcp-key', 'k'], expect: /--kcp-key: tcp@ is not kcp/ },
    { name: 'bench --concurrency 0', args: (p) => ['bench', `tcp@127.0.0.1:${p}`, 'Echo.Echo', '--concurrency', '0'], expect: /--concurrency takes an integer ≥ 1, got "0"/ },
    { name: 'bench --duration 0', args: (p) => ['bench', `tcp@127.0.0.1:${p}`, 'Echo.Echo', '--duration', '0'], expect: /--duration takes a number of seconds > 0/ },
    { name: 'bench --payload -1', args: (p) => ['bench', `tcp@127.0.0.1:${p}`, 'Echo.Echo', '--payload', '-1'], expect: /--payload takes an integer ≥ 0, got "-1"/ },
    { name: 'bench --rate 0', args: (p) => ['bench', `tcp@127.0.0.1:${p}`, 'Echo.Echo', '--rate', '0'], expect: /--rate takes a number ≥ 1/ },
    { name: 'bench --args not JSON', args: (p) => ['bench', `tcp@127.0.0.1:${p}`, 'Arith.Mul', '--args', '{bad'], expect: /--args must be JSON/ },
    { name: 'bench extra positional', args: (p) => ['bench', `tcp@127.0.0.1:${p}`, 'Echo.Echo', 'x'], expect: /unexpected argument: "x"/ },
    { name: 'serve without --listen', args: () => ['serve-examples'], expect: /--listen is required/ },
    { name: 'serve on an unknown network', args: () => ['serve-examples', '--listen', 'foo@127.0.0.1:0'], expect: /--listen foo@127\.0\.0\.1:0: unknown network "foo"/ },
    { name: 'serve without a port', args: () => ['serve-examples', '--listen', 'tcp@127.0.0.1'], expect: /--listen tcp@127\.0\.0\.1: .*no port/ },
    { name: 'serve TLS cert without key', args: () => ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--tls-cert', 'examples/certs/server.pem'], expect: /--tls-cert needs --tls-key/ },
    { name: 'serve TLS key without cert', args: () => ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--tls-key', 'examples/certs/server-key.pem'], expect: /--tls-key needs --tls-cert/ },
    { name: 'serve wss without cert', args: () => ['serve-examples', '--listen', 'wss@127.0.0.1:0'], expect: /wss needs --tls-cert/ },
    { name: 'serve bad registry', args: () => ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--registry', 'etcd:/x'], expect: /unknown registry|bad registry URL/ },
    { name: 'serve --registry-ttl abc', args: () => ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--registry', 'etcd://127.0.0.1:2379/x', '--registry-ttl', 'abc'], expect: /--registry-ttl takes a number ≥ 1/ },
    { name: 'serve-examples positional', args: () => ['serve-examples', 'extra', '--listen', 'tcp@127.0.0.1:0'], expect: /unexpected argument: "extra"/ },
    { name: 'serve a missing module', args: () => ['serve', 'nope.js', '--listen', 'tcp@127.0.0.1:0'], expect: /module "nope\.js" does not exist/ },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const port = await freePort();
      const r = await run(cliPath, c.args(port));
      assert.equal(r.code, 2, `${c.args(port).join(' ')}\n${r.stderr}`);
      assert.match(r.stderr, c.expect);
      assert.equal(r.stderr.trim().split('\n')[0]!.startsWith('error: '), true, r.stderr);
      assert.doesNotMatch(r.stderr, /ERR_RPCX_DIAL|listening/);
      assert.equal(r.stdout, '');
    });
  }

  it('takes metadata after ? in a server list entry instead of dropping the entry', async () => {
    // The port is closed: the entry is kept and dialled (exit 3), not dropped (which would read "no server").
    const port = await freePort();
    const r = await run(cliPath, ['call', `tcp@127.0.0.1:${port}?weight=1`, 'Arith.Mul', '{}', '--fail', 'failfast']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`ERR_RPCX_DIAL: .*tcp@127\\.0\\.0\\.1:${port}`));
  });
});
