/** The rpcx-ts command line, run as a user runs it. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';

describe('rpcx-ts CLI', () => {
  let server: ChildProcess;
  let tcp: string;
  let unix: string;
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-cli-'));

  before(async () => {
    const started = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--listen', `unix@${join(dir, 's.sock')}`], 2);
    server = started.child;
    [tcp, unix] = started.endpoints as [string, string];
  });

  after(async () => {
    assert.equal(await stopProcess(server), 0, 'serve-examples exits cleanly on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls with JSON and prints the reply as JSON', async () => {
    const r = await run(cliPath, ['call', tcp, 'Arith.Mul', '{"A":10,"B":20}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"C":200}\n');
  });

  it('calls with msgpack, metadata and a timeout, over unix', async () => {
    const r = await run(cliPath, ['call', unix, 'Arith.Add', '{"A":1,"B":2}', '--serialize', 'msgpack', '--meta', 'trace=abc', '--meta', 'x=y', '--timeout', '2000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"C":3}\n');
  });

  it('sends raw bytes with --serialize raw', async () => {
    const r = await run(cliPath, ['call', tcp.replace('tcp@', ''), 'Echo.Echo', 'hello raw', '--serialize', 'raw']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '"hello raw"\n');
  });

  it('exits with the code of the failure and its text on stderr', async () => {
    const r = await run(cliPath, ['call', tcp, 'Arith.Div', '{}']);
    assert.equal(r.code, 4, 'the service answered an error');
    assert.match(r.stderr, /rpcx: can't find method Div/);
    const bad = await run(cliPath, ['call', tcp, 'NoDot', '{}']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Service\.Method/);
    const refused = await run(cliPath, ['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}']);
    assert.equal(refused.code, 3, 'no server reachable');
    assert.match(refused.stderr, /ERR_RPCX_DIAL/);
  });

  it('benches and ends with the summary line', async () => {
    const r = await run(cliPath, ['bench', tcp, 'Echo.Echo', '--concurrency', '10', '--duration', '1', '--payload', '64', '--serialize', 'raw']);
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trim().split('\n').at(-1)!;
    const match = /^calls=(\d+) errors=(\d+) calls\/s=(\d+) p50_ms=(\d+\.\d+) p99_ms=(\d+\.\d+)$/.exec(last);
    assert.ok(match, `last line: ${last}`);
    assert.ok(Number(match[1]) > 100);
    assert.equal(Number(match[2]), 0);
  });

  it('benches a method with JSON args', async () => {
    const r = await run(cliPath, ['bench', unix, 'Arith.Mul', '--concurrency', '5', '--duration', '0.5', '--serialize', 'json', '--args', '{"A":2,"B":3}']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim().split('\n').at(-1)!, /^calls=\d+ errors=0 /);
  });

  it('prints the overview on stdout', async () => {
    const r = await run(cliPath, ['--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    for (const command of ['call', 'list', 'bench', 'serve', 'serve-examples']) assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'));
  });
});

describe('rpcx-ts CLI with TLS', () => {
  it('serves tcp+TLS, wss and http and calls them with --tls-ca or --insecure', async () => {
    const { createTestCerts } = await import('./helpers/tls-certs.js');
    const certs = createTestCerts();
    const certFlags = ['--tls-cert', join(certs.dir, 'server.pem'), '--tls-key', join(certs.dir, 'server-key.pem')];
    const started = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--listen', 'wss@127.0.0.1:0', '--listen', 'ws@127.0.0.1:0', ...certFlags], 3);
    try {
      for (const endpoint of started.endpoints) {
        // ws@ is plaintext: a CA there is a mistake the CLI reports (exit 2), so it is called without one.
        const tlsFlags = endpoint.startsWith('ws@') ? [] : ['--tls-ca', join(certs.dir, 'ca.pem')];
        const trusted = await run(cliPath, ['call', endpoint, 'Arith.Mul', '{"A":6,"B":7}', ...tlsFlags]);
        assert.equal(trusted.code, 0, `${endpoint}: ${trusted.stderr}`);
        assert.equal(trusted.stdout, '{"C":42}\n');
      }
      const insecure = await run(cliPath, ['call', started.endpoints[1]!, 'Arith.Add', '{"A":6,"B":7}', '--insecure']);
      assert.equal(insecure.stdout, '{"C":13}\n', insecure.stderr);
      const untrusted = await run(cliPath, ['call', started.endpoints[0]!, 'Arith.Add', '{"A":6,"B":7}']);
      assert.equal(untrusted.code, 3, 'plain tcp client against a TLS server fails');
      assert.match(untrusted.stderr, /if the port serves TLS, dial it with TLS options/);
      const bench = await run(cliPath, ['bench', started.endpoints[1]!, 'Echo.Echo', '--duration', '0.5', '--concurrency', '4', '--tls-ca', join(certs.dir, 'ca.pem')]);
      assert.match(bench.stdout.trim().split('\n').at(-1)!, /^calls=\d+ errors=0 /, bench.stderr);
    } finally {
      await stopProcess(started.child);
      certs.cleanup();
    }
  });
});

describe('rpcx-ts CLI over quic and kcp', () => {
  it('serves and calls quic (TLS) and kcp (AES from --kcp-key)', async () => {
    const { createTestCerts } = await import('./helpers/tls-certs.js');
    const certs = createTestCerts();
    const started = await startListening(
      cliPath,
      ['serve-examples', '--listen', 'quic@127.0.0.1:0', '--listen', 'kcp@127.0.0.1:0', '--tls-cert', join(certs.dir, 'server.pem'), '--tls-key', join(certs.dir, 'server-key.pem'), '--kcp-key', 'secret'],
      2,
    );
    try {
      const [quic, kcp] = started.endpoints as [string, string];
      const overQuic = await run(cliPath, ['call', quic, 'Arith.Mul', '{"A":6,"B":7}', '--tls-ca', join(certs.dir, 'ca.pem')]);
      assert.equal(overQuic.stdout, '{"C":42}\n', overQuic.stderr);
      const overKcp = await run(cliPath, ['call', kcp, 'Arith.Mul', '{"A":6,"B":7}', '--kcp-key', 'secret']);
      assert.equal(overKcp.stdout, '{"C":42}\n', overKcp.stderr);
      // A wrong key gets no answer at all (packets fail their checksum): the call times out.
      const wrongKey = await run(cliPath, ['call', kcp, 'Arith.Mul', '{"A":6,"B":7}', '--kcp-key', 'other', '--timeout', '500', '--fail', 'failfast']);
      assert.equal(wrongKey.code, 5, wrongKey.stderr);
      const bench = await run(cliPath, ['bench', kcp, 'Echo.Echo', '--duration', '0.5', '--concurrency', '4', '--kcp-key', 'secret']);
      assert.match(bench.stdout.trim().split('\n').at(-1)!, /^calls=\d+ errors=0 /, bench.stderr);
    } finally {
      await stopProcess(started.child);
      certs.cleanup();
    }
  });
});
