/** Plugins (server and client hook order), auth, rate limiting, /metrics, /rpcz and the JSON pages, on real sockets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Client,
  ConnectionClosedError,
  RATE_LIMIT_TEXT,
  Server,
  ServiceError,
  type ClientPlugin,
  type ServerOptions,
  type ServerPlugin,
} from '../index.js';
import { silentLogger } from '../logger.js';
import { sumOfInput } from './helpers/stream-handlers.js';
import { Arith, Echo } from '../examples/services/index.js';
import { httpRequest, jsonRpc } from './helpers/http.js';

async function start(options: ServerOptions = {}): Promise<{ server: Server; address: string; base: string }> {
  const server = new Server({ logger: silentLogger, ...options });
  server.register(Arith);
  server.register(Echo);
  server.registerFunction('Probe', 'Fail', () => {
    throw new Error('probe failed');
  });
  const listener = await server.serve('tcp@127.0.0.1:0');
  return { server, address: listener.address, base: `http://${listener.address}` };
}

const gatewayMul = (base: string, headers: Record<string, string> = {}) =>
  httpRequest(base, { method: 'POST', headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul', ...headers }, body: '{"A":3,"B":4}' });

/** Resolves when the client's connection has closed. */
const closedOf = (client: Client): Promise<void> => new Promise((resolve) => client.onClose(() => resolve()));

/** Drops consecutive repeats (preReadRequest runs once per received chunk). */
const squeeze = (list: string[]): string[] => list.filter((x, i) => x !== list[i - 1]);

describe('plugins', () => {
  it('runs server hooks in rpcx order for a binary call', async () => {
    const seen: string[] = [];
    let closed!: () => void;
    const connClosed = new Promise<void>((resolve) => (closed = resolve));
    const recorder: ServerPlugin = {
      name: 'recorder',
      postConnAccept: () => void seen.push('postConnAccept'),
      preReadRequest: () => void seen.push('preReadRequest'),
      postReadRequest: (request) => void seen.push(`postReadRequest ${request.servicePath}.${request.serviceMethod}`),
      preCall: (ctx) => void seen.push(`preCall ${ctx.service}.${ctx.method}`),
      postCall: (_ctx, _args, reply, error) => void seen.push(`postCall ${JSON.stringify(reply)} ${error ?? ''}`.trim()),
      preWriteResponse: (_request, reply) => void seen.push(`preWriteResponse ${reply.isError ? 'error' : 'ok'}`),
      postWriteResponse: () => void seen.push('postWriteResponse'),
      postConnClose: () => {
        seen.push('postConnClose');
        closed();
      },
    };
    const { server, address } = await start({ plugins: [recorder] });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    await client.close();
    await connClosed;
    assert.deepEqual(squeeze(seen), [
      'postConnAccept',
      'preReadRequest',
      'postReadRequest Arith.Mul',
      'preCall Arith.Mul',
      'postCall {"C":42}',
      'preWriteResponse ok',
      'postWriteResponse',
      'postConnClose',
    ]);
    await server.close();
  });

  it('postConnClose still sees the connection\'s addresses after the peer closed it', async () => {
    let seen!: (addresses: { local: string; remote: string }) => void;
    const addresses = new Promise<{ local: string; remote: string }>((resolve) => (seen = resolve));
    // Nothing reads the addresses before the close: they must have been taken while the socket could still tell.
    const plugin: ServerPlugin = { postConnClose: (conn) => seen({ local: conn.localAddress, remote: conn.remoteAddress }) };
    const { server, address } = await start({ plugins: [plugin] });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
    await client.close();
    const { local, remote } = await addresses;
    assert.equal(local, address);
    assert.match(remote, /^127\.0\.0\.1:\d+$/);
    await server.close();
  });

  it('runs the same hooks for gateway and JSON-RPC calls', async () => {
    const seen: string[] = [];
    const recorder: ServerPlugin = {
      postReadRequest: (_r, connection) => void seen.push(`postReadRequest ${connection.protocol}`),
      preCall: (ctx) => void seen.push(`preCall ${ctx.protocol}`),
      postWriteResponse: () => void seen.push('postWriteResponse'),
    };
    const { server, base } = await start();
    server.use(recorder);
    assert.equal((await gatewayMul(base)).status, 200);
    await jsonRpc(base, { jsonrpc: '2.0', method: 'Arith.Add', params: { A: 1, B: 2 }, id: 1 });
    assert.deepEqual(seen, ['postReadRequest http', 'preCall http', 'postWriteResponse', 'postReadRequest http', 'preCall jsonrpc', 'postWriteResponse']);
    await server.close();
  });

  it('lets plugins replace arguments and replies, refuse calls and reject connections', async () => {
    let reject = false;
    const { server, address } = await start({
      plugins: [
        { preCall: (ctx, args) => (ctx.method === 'Add' ? { ...(args as object), B: 100 } : undefined) },
        { postCall: (ctx, _args, reply) => (ctx.method === 'Mul' ? { C: (reply as { C: number }).C + 1 } : undefined) },
        {
          postReadRequest: (request) => {
            if (request.serviceMethod === 'Forbidden') throw new Error('forbidden by plugin');
          },
        },
        { postConnAccept: () => !reject },
      ],
    });
    server.registerFunction('Arith', 'Forbidden', () => 'ran');
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    assert.deepEqual(await client.call('Arith', 'Add', { A: 1, B: 2 }), { C: 101 });
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 5 });
    await assert.rejects(client.call('Arith', 'Forbidden', {}), (e: unknown) => e instanceof ServiceError && e.message === 'forbidden by plugin');
    reject = true;
    const refused = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    await assert.rejects(refused.call('Arith', 'Mul', { A: 1, B: 1 }), ConnectionClosedError);
    await Promise.all([client.close(), refused.close()]);
    await server.close();
  });

  it('runs client hooks: connCreated, preCall (may add metadata), postCall, connClosed', async () => {
    const seen: string[] = [];
    const plugin: ClientPlugin = {
      connCreated: (conn) => void seen.push(`connCreated ${conn.network}`),
      preCall: (call) => {
        seen.push(`preCall ${call.service}.${call.method}`);
        call.metadata['added-by'] = 'plugin';
      },
      postCall: (call, reply, error) => void seen.push(`postCall ${call.method} ${error ? 'error' : JSON.stringify(reply)}`),
      connClosed: () => void seen.push('connClosed'),
    };
    const { server, address } = await start();
    server.registerFunction('Probe', 'Meta', (_a, ctx) => ctx.metadata['added-by'] ?? null);
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger, plugins: [plugin] });
    assert.equal(await client.call('Probe', 'Meta', null), 'plugin');
    await assert.rejects(client.call('Probe', 'Fail', null));
    const { value } = await client.invoke('Arith', 'Mul', { A: 2, B: 3 });
    assert.deepEqual(value, { C: 6 });
    await client.close();
    assert.deepEqual(seen, [
      'connCreated tcp',
      'preCall Probe.Meta',
      'postCall Meta "plugin"',
      'preCall Probe.Fail',
      'postCall Fail error',
      'preCall Arith.Mul',
      'postCall Mul {"C":6}',
      'connClosed',
    ]);
    await server.close();
  });
});

describe('plugins and typed streams', () => {
  it('see a stream as one call: server and client preCall/postCall with message counts; preCall may refuse; /rpcz lists it', async () => {
    const seen: string[] = [];
    const { server, address, base } = await start({
      rpcz: true,
      plugins: [
        {
          preCall: (ctx, args) => {
            seen.push(`server preCall ${ctx.method} ${ctx.stream?.kind}`);
            if ((args as { N?: number } | null)?.N === 13) throw new Error('unlucky stream');
            return ctx.method === 'Count' ? { N: (args as { N: number }).N + 1 } : undefined;
          },
          postCall: (ctx, _args, reply, error) =>
            void seen.push(`server postCall ${ctx.method} sent=${ctx.stream?.messagesSent} received=${ctx.stream?.messagesReceived} ${error ? error.message : JSON.stringify(reply ?? null)}`),
        },
      ],
    });
    server.registerFunction('Feed', 'Count', async function* (args: unknown) {
      for (let i = 0; i < (args as { N: number }).N; i++) yield i;
    }, { stream: 'server' });
    server.registerFunction('Feed', 'Sum', sumOfInput, { stream: 'client' });
    const client = await Client.connect(`tcp@${address}`, {
      logger: silentLogger,
      plugins: [
        {
          preCall: (call) => {
            seen.push(`client preCall ${call.method} ${call.stream?.kind}`);
            call.metadata['added-by'] = 'plugin';
          },
          postCall: (call, reply, error) =>
            void seen.push(`client postCall ${call.method} sent=${call.stream?.messagesSent} received=${call.stream?.messagesReceived} ${error ? error.message : JSON.stringify(reply ?? null)}`),
        },
      ],
    });
    const counted: number[] = [];
    for await (const n of client.serverStream<number>('Feed', 'Count', { N: 3 })) counted.push(n);
    assert.deepEqual(counted, [0, 1, 2, 3], "the server's preCall replaced the argument");
    assert.equal(await client.clientStream('Feed', 'Sum', [1, 2, 3, 4, 5]), 15);
    await assert.rejects(collectAll(client.serverStream('Feed', 'Count', { N: 13 })), (e: unknown) => e instanceof ServiceError && e.message === 'unlucky stream');
    await client.close();
    // A stream that cannot open (the client is closed) still ends for the hooks that saw it start.
    await assert.rejects(client.clientStream('Feed', 'Sum', [1]), ConnectionClosedError);
    assert.deepEqual(seen, [
      'client preCall Count server',
      'server preCall Count server',
      'server postCall Count sent=4 received=0 null',
      'client postCall Count sent=0 received=4 null',
      'client preCall Sum client',
      'server preCall Sum client',
      'server postCall Sum sent=0 received=5 15',
      'client postCall Sum sent=5 received=0 15',
      'client preCall Count server',
      'server preCall Count server',
      'server postCall Count sent=0 received=0 unlucky stream',
      'client postCall Count sent=0 received=0 unlucky stream',
      'client preCall Sum client',
      'client postCall Sum sent=0 received=0 rpcx: client closed',
    ]);
    const { calls } = JSON.parse((await httpRequest(`${base}/rpcz`)).text) as { calls: Array<Record<string, unknown>> };
    assert.deepEqual(
      calls.map((c) => [c.method, c.stream, c.messagesSent, c.messagesReceived, c.status]),
      [
        ['Count', 'server', 0, 0, 'error'],
        ['Sum', 'client', 0, 5, 'ok'],
        ['Count', 'server', 4, 0, 'ok'],
      ],
    );
    const metrics = (await httpRequest(`${base}/metrics`)).text;
    assert.match(metrics, /method="Count"[^\n]*\} 2\b/, 'each stream counts once');
    await server.close();
  });
});

async function collectAll<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('auth', () => {
  const auth = (token: string | undefined) => token === 'good' || token === 'Bearer good';

  it('binary: a refused call gets the error, then the connection is closed', async () => {
    const { server, address } = await start({ auth });
    const good = await Client.connect(`tcp@${address}`, { logger: silentLogger, auth: 'good' });
    assert.deepEqual(await good.call('Arith', 'Mul', { A: 2, B: 5 }), { C: 10 });

    const bad = await Client.connect(`tcp@${address}`, { logger: silentLogger, auth: 'bad' });
    const closed = closedOf(bad);
    assert.ok((await bad.ping()) >= 0, 'heartbeats are not authenticated');
    await assert.rejects(bad.call('Arith', 'Mul', { A: 2, B: 5 }), (e: unknown) => e instanceof ServiceError && e.message === 'rpcx: authentication failed');
    await closed;
    assert.equal(bad.closed, true);
    // Other connections are untouched.
    assert.deepEqual(await good.call('Arith', 'Add', { A: 2, B: 5 }), { C: 7 });
    await good.close();
    await server.close();
  });

  it('binary: an async auth function that rejects sends its own text', async () => {
    const { server, address } = await start({
      auth: async (token) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (token !== 'good') throw new Error('invalid token');
      },
    });
    const anonymous = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    const closed = closedOf(anonymous);
    await assert.rejects(anonymous.call('Arith', 'Mul', { A: 1, B: 1 }), (e: unknown) => e instanceof ServiceError && e.message === 'invalid token');
    await closed;
    const good = await Client.connect(`tcp@${address}`, { logger: silentLogger, auth: 'good' });
    assert.deepEqual(await good.call('Arith', 'Mul', { A: 4, B: 4 }), { C: 16 });
    await good.close();
    await server.close();
  });

  it('gateway: 401 without a valid Authorization, 200 with one', async () => {
    const { server, base } = await start({ auth });
    const refused = await gatewayMul(base);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['x-rpcx-messagestatustype'], 'Error');
    assert.equal(refused.headers['x-rpcx-errormessage'], 'rpcx: authentication failed');
    const wrong = await gatewayMul(base, { Authorization: 'Bearer bad' });
    assert.equal(wrong.status, 401);
    const ok = await gatewayMul(base, { Authorization: 'Bearer good' });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.text), { C: 12 });
    await server.close();
  });

  it('JSON-RPC: 401 with an error object', async () => {
    const { server, base } = await start({ auth });
    const refused = await jsonRpc(base, { jsonrpc: '2.0', method: 'Arith.Mul', params: { A: 1, B: 2 }, id: 1 });
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json, { jsonrpc: '2.0', error: { code: -32001, message: 'rpcx: authentication failed' }, id: 1 });
    const ok = await jsonRpc(base, { jsonrpc: '2.0', method: 'Arith.Mul', params: { A: 1, B: 2 }, id: 2 }, { headers: { Authorization: 'good' } });
    assert.deepEqual([ok.status, ok.json], [200, { jsonrpc: '2.0', result: { C: 2 }, id: 2 }]);
    await server.close();
  });
});

describe('rate limit', () => {
  it('refuses calls over the server bucket with rpcx text, keeping the connection open', async () => {
    const { server, address, base } = await start({ rateLimit: { ratePerSecond: 0.001, burst: 3 } });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => client.call('Arith', 'Mul', { A: i, B: 1 })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    const refusals = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(refusals.length, 2);
    for (const r of refusals) assert.ok(r.reason instanceof ServiceError && r.reason.message === RATE_LIMIT_TEXT);
    assert.ok(client.closed === false && (await client.ping()) >= 0, 'the connection stays open; heartbeats pass');
    const limited = await gatewayMul(base);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['x-rpcx-errormessage'], RATE_LIMIT_TEXT);
    const status = JSON.parse((await httpRequest(`${base}/status`)).text) as { server: { refused: number } };
    assert.equal(status.server.refused, 3);
    await client.close();
    await server.close();
  });

  it('keeps one bucket per connection when asked', async () => {
    const { server, address } = await start({ rateLimit: { ratePerSecond: 0.001, burst: 2, perConnection: true } });
    const clients = await Promise.all([0, 1].map(() => Client.connect(`tcp@${address}`, { logger: silentLogger })));
    for (const client of clients) {
      const results = await Promise.allSettled(Array.from({ length: 3 }, () => client.call('Arith', 'Mul', { A: 1, B: 1 })));
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected']);
    }
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  });
});

describe('pages and metrics', () => {
  it('exposes Prometheus counters, latency histogram and connections on /metrics', async () => {
    const { server, address, base } = await start();
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    for (let i = 0; i < 5; i++) await client.call('Arith', 'Mul', { A: i, B: i });
    await assert.rejects(client.call('Probe', 'Fail', null));
    await assert.rejects(client.call('Arith', 'Nope', null));
    const res = await httpRequest(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.text;
    assert.match(text, /^# TYPE rpcx_server_calls_total counter$/m);
    assert.match(text, /^rpcx_server_calls_total\{service="Arith",method="Mul"\} 5$/m);
    assert.match(text, /^rpcx_server_errors_total\{service="Arith",method="Mul"\} 0$/m);
    assert.match(text, /^rpcx_server_calls_total\{service="Probe",method="Fail"\} 1$/m);
    assert.match(text, /^rpcx_server_errors_total\{service="Probe",method="Fail"\} 1$/m);
    assert.match(text, /^rpcx_server_unknown_calls_total 1$/m);
    assert.match(text, /^# TYPE rpcx_server_call_duration_seconds histogram$/m);
    assert.match(text, /^rpcx_server_call_duration_seconds_bucket\{service="Arith",method="Mul",le="\+Inf"\} 5$/m);
    assert.match(text, /^rpcx_server_call_duration_seconds_count\{service="Arith",method="Mul"\} 5$/m);
    assert.match(text, /^rpcx_server_connections\{protocol="rpcx"\} 1$/m);
    assert.match(text, /^rpcx_server_connections\{protocol="http"\} 1$/m);
    await client.close();
    await server.close();
  });

  it('reports per-method stats on /status and connections on /connections', async () => {
    const { server, address, base } = await start();
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.call('Arith', 'Add', { A: i, B: 1 })));
    const status = JSON.parse((await httpRequest(`${base}/status`)).text) as {
      latencyBoundsMs: number[];
      services: Array<{ name: string; methods: Array<{ name: string; calls: number; errors: number; inFlight: number; latencyMs: { p50: number; p99: number }; histogram: number[] }> }>;
    };
    const add = status.services.find((s) => s.name === 'Arith')!.methods.find((m) => m.name === 'Add')!;
    assert.equal(add.calls, 20);
    assert.equal(add.errors, 0);
    assert.equal(add.inFlight, 0);
    assert.equal(add.histogram.length, status.latencyBoundsMs.length + 1);
    assert.equal(add.histogram.reduce((a, b) => a + b, 0), 20);
    assert.ok(add.latencyMs.p50 > 0 && add.latencyMs.p99 >= add.latencyMs.p50);
    const { connections } = JSON.parse((await httpRequest(`${base}/connections`)).text) as { connections: Array<{ protocol: string; requests: number; network: string; remote: string }> };
    const binary = connections.find((c) => c.protocol === 'rpcx')!;
    assert.equal(binary.requests, 20);
    assert.equal(binary.network, 'tcp');
    assert.match(binary.remote, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(JSON.parse((await httpRequest(`${base}/health`)).text), { status: 'ok' });
    // A GET with X-RPCX headers on a page path is a gateway call, not the page.
    const gatewayGet = await httpRequest(`${base}/status`, { headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Mul' } });
    assert.equal(gatewayGet.headers['x-rpcx-errormessage'], "rpcx: can't find service status");
    await client.close();
    await server.close();
  });

  it('records recent calls on /rpcz only when asked to', async () => {
    const off = await start();
    const offRes = await httpRequest(`${off.base}/rpcz`);
    assert.equal(offRes.status, 404);
    await off.server.close();

    const { server, address, base } = await start({ rpcz: { capacity: 4 } });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    for (let i = 0; i < 6; i++) await client.call('Arith', 'Mul', { A: i, B: 2 });
    await assert.rejects(client.call('Probe', 'Fail', null));
    const { capacity, calls } = JSON.parse((await httpRequest(`${base}/rpcz`)).text) as { capacity: number; calls: Array<Record<string, unknown>> };
    assert.equal(capacity, 4);
    assert.equal(calls.length, 4, 'the ring keeps the last 4');
    assert.equal(calls[0]!.service, 'Probe');
    assert.equal(calls[0]!.status, 'error');
    assert.equal(calls[0]!.error, 'probe failed');
    assert.equal(calls[1]!.method, 'Mul');
    assert.equal(calls[1]!.protocol, 'rpcx');
    assert.equal(typeof calls[1]!.durationMs, 'number');
    const errorsOnly = JSON.parse((await httpRequest(`${base}/rpcz?errors=1`)).text) as { calls: unknown[] };
    assert.equal(errorsOnly.calls.length, 1);
    await client.close();
    await server.close();
  });

  it('answers /health with 503 while shutting down', async () => {
    const { server, address, base } = await start();
    server.registerFunction('Probe', 'Slow', () => new Promise((resolve) => setTimeout(() => resolve('done'), 300)));
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await httpRequest(`${base}/health`, { agent })).status, 200);
    const slow = client.call('Probe', 'Slow', null);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closing = server.close();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const draining = await httpRequest(`${base}/health`, { agent });
    assert.equal(draining.status, 503);
    assert.equal(await slow, 'done');
    await closing;
    agent.destroy();
    await client.close();
  });
});
