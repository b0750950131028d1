/**
 * The CLI against running servers: list (introspection), serve <module>, call's --auth/--compress/--timeout and exit
 * codes 3/4/5, bench's probe, progress, histogram and open loop, and the hints for a wrong kind of port.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, silentLogger } from '../index.js';
import { Arith, Echo } from '../examples/services/index.js';
import { distDir } from './helpers/paths.js';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';

const fixtures = join(distDir, 'test', 'fixtures');

describe('rpcx-ts against example servers', () => {
  let server: ChildProcess;
  let tcp: string;
  let ws: string;

  before(async () => {
    const started = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--listen', 'ws@127.0.0.1:0', '--meta', 'weight=7&group=a'], 2);
    server = started.child;
    [tcp, ws] = started.endpoints as [string, string];
  });
  after(async () => {
    await stopProcess(server);
  });

  it('lists the services and methods with their metadata', async () => {
    const r = await run(cliPath, ['list', tcp]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Arith  [weight=7&group=a]\n  Arith.Add\n  Arith.Mul\nEcho  [weight=7&group=a]\n  Echo.Echo\n');
    const json = await run(cliPath, ['list', ws, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const reply = JSON.parse(json.stdout) as { services: Array<{ name: string; metadata: string; methods: Array<{ name: string }> }> };
    assert.deepEqual(reply.services.map((s) => [s.name, s.metadata, s.methods.map((m) => m.name)]), [
      ['Arith', 'weight=7&group=a', ['Add', 'Mul']],
      ['Echo', 'weight=7&group=a', ['Echo']],
    ]);
  });

  it('lists every server of a list', async () => {
    const r = await run(cliPath, ['list', `${tcp},${ws}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^server ${tcp}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^server ${ws.replace(/[/]/g, '\\/')}$`, 'm'));
  });

  it('calls with --compress gzip and --auth (sent as __AUTH, ignored by a server without auth)', async () => {
    const big = JSON.stringify('y'.repeat(4096));
    const r = await run(cliPath, ['call', tcp, 'Echo.Echo', big, '--compress', 'gzip', '--auth', 'token']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, big + '\n');
  });

  it('answers a clear error for missing arguments, with exit 4', async () => {
    const r = await run(cliPath, ['call', tcp, 'Arith.Mul']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /ERR_RPCX_SERVICE: Arith\.Mul takes \{"A": number, "B": number\}, got null/);
  });

  it('says a port speaks HTTP when a tcp call gets HTTP bytes, in one line', async () => {
    const r = await run(cliPath, ['call', `tcp@${ws.slice('ws@'.length)}`, 'Arith.Mul', '{"A":1,"B":2}']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /this port speaks HTTP: try http@ or ws@/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /WARN/);
  });

  it('says a plaintext server does not speak TLS, in one line', async () => {
    const r = await run(cliPath, ['call', tcp, 'Arith.Mul', '{"A":1,"B":2}', '--insecure']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /does not speak TLS on this port/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('benches with warm-up, a piped progress line a second, the histogram and the summary last', async () => {
    const r = await run(cliPath, ['bench', tcp, 'Echo.Echo', '--duration', '2.2', '--warmup', '0.3', '--concurrency', '8', '--payload', '32']);
    assert.equal(r.code, 0, r.stderr);
    const progress = r.stderr.split('\n').filter((line) => line.startsWith('progress '));
    assert.ok(progress.length >= 2 && progress.length <= 3, r.stderr);
    assert.match(progress[0]!, /^progress 1s calls=\d+ errors=0 calls\/s=\d+$/);
    const lines = r.stdout.trim().split('\n');
    const histogram = lines.indexOf('latency:');
    assert.ok(histogram > 0, r.stdout);
    assert.deepEqual(lines.slice(histogram + 1, histogram + 6).map((l) => l.trim().split(/\s+/)[0]), ['p50', 'p90', 'p99', 'p99.9', 'max']);
    const values = lines.slice(histogram + 1, histogram + 6).map((l) => Number(l.trim().split(/\s+/)[1]));
    assert.deepEqual([...values].sort((a, b) => a - b), values, 'percentiles ascend');
    assert.match(lines.at(-1)!, /^calls=\d+ errors=0 calls\/s=\d+ p50_ms=\S+ p99_ms=\S+$/);
  });

  it('benches open loop at a fixed rate', async () => {
    const r = await run(cliPath, ['bench', tcp, 'Arith.Add', '--args', '{"A":1,"B":2}', '--rate', '200', '--duration', '1.5', '--warmup', '0']);
    assert.equal(r.code, 0, r.stderr);
    const match = /^calls=(\d+) errors=0 /.exec(r.stdout.trim().split('\n').at(-1)!);
    assert.ok(match, r.stdout);
    // 200/s for 1.5 s is 300 calls started; the calls in flight at the end finish and count.
    assert.ok(Math.abs(Number(match[1]) - 300) <= 2, `calls=${match[1]}`);
  });

  it('refuses to bench a JSON method with a raw payload: exit 4 at once, naming --args', async () => {
    const r = await run(cliPath, ['bench', tcp, 'Arith.Mul', '--duration', '5']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /refused a raw payload .* give its argument with --args/);
    assert.doesNotMatch(r.stdout, /calls=/);
  });

  it('stops a bench at once with exit 3 when no server answers', async () => {
    const started = Date.now();
    const r = await run(cliPath, ['bench', `tcp@127.0.0.1:${await freePort()}`, 'Echo.Echo', '--duration', '10']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ERR_RPCX_DIAL/);
    assert.ok(Date.now() - started < 8000, 'did not run for the duration');
  });
});

describe('rpcx-ts bench when the server goes away mid-run', () => {
  it('stops early with exit 3 instead of counting errors to the end', async () => {
    const { child, endpoints } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0']);
    const started = Date.now();
    const bench = run(cliPath, ['bench', endpoints[0]!, 'Echo.Echo', '--duration', '30', '--warmup', '0', '--concurrency', '4']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await stopProcess(child, 'SIGKILL');
    const r = await bench;
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /stopped early: no call succeeded for 3 s \(\d+ succeeded before\)/);
    assert.match(r.stderr, /ERR_RPCX_NO_SERVER: rpcx: no call succeeded for 3 s/);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });
});

describe('rpcx-ts call --auth and --compress against a server that checks them', () => {
  it('sends the token as __AUTH and the payload gzip-compressed', async () => {
    const compressTypes: number[] = [];
    const server = new Server({
      logger: silentLogger,
      auth: (token) => token === 'secret',
      plugins: [{ name: 'record', postReadRequest: (request) => void compressTypes.push(request.compressType) }],
    });
    server.register(Echo);
    const listener = await server.serve('tcp@127.0.0.1:0');
    try {
      const endpoint = `tcp@${listener.address}`;
      const big = JSON.stringify('z'.repeat(2048));
      const ok = await run(cliPath, ['call', endpoint, 'Echo.Echo', big, '--auth', 'secret', '--compress', 'gzip']);
      assert.equal(ok.stdout, big + '\n', ok.stderr);
      assert.deepEqual(compressTypes, [1], 'gzip on the wire');
      const refused = await run(cliPath, ['call', endpoint, 'Echo.Echo', '"x"', '--auth', 'wrong', '--fail', 'failfast']);
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, /authentication failed/);
    } finally {
      await server.close();
    }
  });
});

describe('rpcx-ts list against a server without introspection', () => {
  it('says the server does not offer it (as a Go rpcx server answers), exit 4', async () => {
    const server = new Server({ introspection: false, logger: silentLogger });
    server.register(Arith);
    const listener = await server.serve('tcp@127.0.0.1:0');
    try {
      const r = await run(cliPath, ['list', `tcp@${listener.address}`]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /does not offer introspection .*rpcx: can't find service __rpcx_introspection/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('rpcx-ts call timeouts', () => {
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  before(async () => {
    // Accepts and never answers.
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as net.AddressInfo).port;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });

  it('a silent server: exit 5 at the deadline, naming the method, the server and the deadline', async () => {
    const started = Date.now();
    const r = await run(cliPath, ['call', `tcp@127.0.0.1:${port}`, 'Arith.Mul', '{"A":1,"B":2}', '--timeout', '600']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`ERR_RPCX_TIMEOUT: rpcx: call Arith\\.Mul to tcp@127\\.0\\.0\\.1:${port} timed out after \\d+ ms`));
    assert.ok(Date.now() - started < 6000);
  });

  it('a registry that does not answer: the timeout bounds discovery too', async () => {
    const started = Date.now();
    const r = await run(cliPath, ['call', `redis://127.0.0.1:${port}/rpcx`, 'Arith.Mul', '{"A":1,"B":2}', '--timeout', '800']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /discovery of Arith from redis:\/\/127\.0\.0\.1:\d+\/rpcx timed out after \d+ ms/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });
});

describe('rpcx-ts serve <module>', () => {
  it('serves every exported @service class of the modules, with their dependencies injected', async () => {
    const started = await startListening(cliPath, ['serve', join(fixtures, 'greeter-service.js'), join(distDir, 'examples', 'services', 'echo.js'), '--listen', 'tcp@127.0.0.1:0']);
    try {
      const endpoint = started.endpoints[0]!;
      const hello = await run(cliPath, ['call', endpoint, 'Greeter.Hello', '{"name":"rpcx"}']);
      assert.equal(hello.stdout, '{"greeting":"hello rpcx!"}\n', hello.stderr);
      const echo = await run(cliPath, ['call', endpoint, 'Echo.Echo', '"x"']);
      assert.equal(echo.stdout, '"x"\n', echo.stderr);
      const listed = await run(cliPath, ['list', endpoint]);
      assert.equal(listed.stdout, 'Echo\n  Echo.Echo\nGreeter  [group=docs]\n  Greeter.Hello\n');
    } finally {
      assert.equal(await stopProcess(started.child), 0);
    }
  });

  it('refuses a module without a @service class, with exit 2', async () => {
    const r = await run(cliPath, ['serve', join(fixtures, 'no-service.js'), '--listen', 'tcp@127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exports no @service\(\) class/);
  });
});

describe('rpcx-ts servers that cannot start', () => {
  it('a listener that cannot open closes the ones already open and exits non-zero with the reason', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const first = await freePort();
    try {
      const r = await run(cliPath, ['serve-examples', '--listen', `tcp@127.0.0.1:${first}`, '--listen', `tcp@127.0.0.1:${busyPort}`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot listen on tcp@127\\.0\\.0\\.1:${busyPort}: .*EADDRINUSE`));
      assert.doesNotMatch(r.stdout, /listening/);
      // The first listener is closed again: its port can be bound.
      const probe = net.createServer();
      await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(first, '127.0.0.1', resolve));
      probe.close();
    } finally {
      busy.close();
    }
  });

  it('a registry that cannot be reached at start: exit 3 with the reason, nothing left open', async () => {
    const port = await freePort();
    const r = await run(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--registry', `etcd://127.0.0.1:${port}/rpcx`]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ERR_RPCX_REGISTRY: rpcx: etcd registration of tcp@127\.0\.0\.1:\d+ failed/);
    assert.doesNotMatch(r.stderr, /WARN/);
  });
});
