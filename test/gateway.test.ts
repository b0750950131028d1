/** The rpcx HTTP gateway and JSON-RPC 2.0, on the same tcp port as binary rpcx, over real loopback sockets. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CallContext, getCodec, SerializeType, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { sumOfInput } from './helpers/stream-handlers.js';
import { Arith, Echo } from '../examples/services/index.js';
import { httpRequest, jsonRpc } from './helpers/http.js';
import { arithProto } from './helpers/proto.js';

const ProtoArgs = arithProto.lookupType('ProtoArgs');
const ProtoReply = arithProto.lookupType('ProtoReply');

let onewayRuns = 0;
const feedProbe = { produced: 0, aborted: 0 };

async function startServer(): Promise<{ server: Server; base: string }> {
  const server = new Server({ logger: silentLogger });
  server.register(Arith);
  server.register(Echo);
  server.registerFunction('Proto', 'Mul', (args) => ({ C: (args as { A: number }).A * (args as { B: number }).B }), { requestType: ProtoArgs, replyType: ProtoReply });
  server.registerFunction('Probe', 'Meta', (_args, ctx: CallContext) => {
    ctx.responseMetadata['echo-trace'] = ctx.metadata['trace'] ?? '';
    ctx.responseMetadata['echo-auth'] = ctx.auth ?? '';
    return { protocol: ctx.protocol, trace: ctx.metadata['trace'] ?? null, auth: ctx.auth ?? null };
  });
  server.registerFunction('Probe', 'Fail', (args) => {
    throw new Error(`failed: ${(args as { Why: string }).Why}`);
  });
  server.registerFunction('Probe', 'Oneway', () => {
    onewayRuns++;
  });
  server.registerFunction('Probe', 'BigInt', () => 10n);
  server.registerFunction('Feed', 'Count', async function* (args: unknown) {
    const { N, Fail } = args as { N: number; Fail?: boolean };
    for (let i = 0; i < N; i++) yield { I: i };
    if (Fail) throw new Error('feed broke');
  }, { stream: 'server' });
  server.registerFunction('Feed', 'Endless', async function* (_args: unknown, ctx: CallContext) {
    ctx.signal.addEventListener('abort', () => feedProbe.aborted++);
    for (let i = 0; ; i++) {
      feedProbe.produced++;
      yield { I: i, Pad: 'x'.repeat(1000) };
    }
  }, { stream: 'server' });
  server.registerFunction('Feed', 'Sum', sumOfInput, { stream: 'client' });
  const listener = await server.serve('tcp@127.0.0.1:0');
  return { server, base: `http://${listener.address}` };
}

describe('HTTP gateway', () => {
  let server: Server;
  let base: string;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  before(async () => ({ server, base } = await startServer()));
  after(async () => {
    agent.destroy();
    await server.close();
  });

  const call = (headers: Record<string, string>, body: string | Uint8Array = '', path = '/') =>
    httpRequest(base + path, { method: 'POST', headers, body, agent });

  it('calls with JSON and answers with rpcx response headers', async () => {
    const res = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-MessageID': '12345', 'X-RPCX-Version': '0' }, '{"A":6,"B":7}');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { C: 42 });
    assert.equal(res.headers['x-rpcx-messagestatustype'], 'Normal');
    assert.equal(res.headers['x-rpcx-messageid'], '12345');
    assert.equal(res.headers['x-rpcx-servicepath'], 'Arith');
    assert.equal(res.headers['x-rpcx-servicemethod'], 'Mul');
    assert.equal(res.headers['x-rpcx-serializetype'], '1');
    assert.equal(res.headers['x-rpcx-version'], '0');
    assert.equal(res.headers['x-rpcx-errormessage'], undefined);
    assert.match(String(res.headers['content-type']), /application\/json/);
  });

  it('takes the service path from the URL when the header is absent', async () => {
    const res = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Add' }, '{"A":6,"B":7}', '/Arith');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { C: 13 });
    assert.equal(res.headers['x-rpcx-servicepath'], 'Arith');
  });

  it('calls with raw bytes (serialize type 0)', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 8, 0x0a]);
    const res = await call({ 'X-RPCX-SerializeType': '0', 'X-RPCX-ServicePath': 'Echo', 'X-RPCX-ServiceMethod': 'Echo' }, bytes);
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(res.body), bytes);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
  });

  it('calls with msgpack (serialize type 3)', async () => {
    const msgpack = getCodec(SerializeType.MsgPack);
    const res = await call({ 'X-RPCX-SerializeType': '3', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul' }, msgpack.encode({ A: 9, B: 9 }));
    assert.equal(res.status, 200);
    assert.deepEqual(msgpack.decode(new Uint8Array(res.body)), { C: 81 });
  });

  it('calls with protobuf on a method that declares its message types (serialize type 2)', async () => {
    const body = ProtoArgs.encode(ProtoArgs.fromObject({ A: 12, B: 11 })).finish();
    const res = await call({ 'X-RPCX-SerializeType': '2', 'X-RPCX-ServicePath': 'Proto', 'X-RPCX-ServiceMethod': 'Mul' }, body);
    assert.equal(res.status, 200);
    assert.deepEqual(ProtoReply.toObject(ProtoReply.decode(new Uint8Array(res.body))), { C: 132 });
    assert.equal(res.headers['content-type'], 'application/x-protobuf');
  });

  it('passes X-RPCX-Meta and Authorization as metadata and returns reply metadata in X-RPCX-Meta', async () => {
    const res = await call(
      { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Probe', 'X-RPCX-ServiceMethod': 'Meta', 'X-RPCX-Meta': 'trace=abc%20def&x=1', Authorization: 'Bearer t0k3n' },
      'null',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { protocol: 'http', trace: 'abc def', auth: 'Bearer t0k3n' });
    const meta = new URLSearchParams(String(res.headers['x-rpcx-meta']));
    assert.equal(meta.get('echo-trace'), 'abc def');
    assert.equal(meta.get('echo-auth'), 'Bearer t0k3n');
  });

  it('answers a service error with 500 and rpcx error headers, unknown methods with rpcx texts', async () => {
    const failed = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Probe', 'X-RPCX-ServiceMethod': 'Fail' }, '{"Why":"because"}');
    assert.equal(failed.status, 500);
    assert.equal(failed.headers['x-rpcx-messagestatustype'], 'Error');
    assert.equal(failed.headers['x-rpcx-errormessage'], 'failed: because');

    const noMethod = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Div' }, '{}');
    assert.equal(noMethod.status, 500);
    assert.equal(noMethod.headers['x-rpcx-messagestatustype'], 'Error');
    assert.equal(noMethod.headers['x-rpcx-errormessage'], "rpcx: can't find method Div");

    const noService = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Nope', 'X-RPCX-ServiceMethod': 'Div' }, '{}');
    assert.equal(noService.headers['x-rpcx-errormessage'], "rpcx: can't find service Nope");
  });

  it('answers 400 with the missing header named, echoing the request headers', async () => {
    const noSerialize = await call({ 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-MessageID': '9' }, '{}');
    assert.equal(noSerialize.status, 400);
    assert.equal(noSerialize.headers['x-rpcx-messagestatustype'], 'Error');
    assert.equal(noSerialize.headers['x-rpcx-errormessage'], 'empty serialized type');
    assert.equal(noSerialize.headers['x-rpcx-messageid'], '9');

    const noMethod = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith' }, '{}');
    assert.equal(noMethod.status, 400);
    assert.equal(noMethod.headers['x-rpcx-errormessage'], 'empty servicemethod');

    const noPath = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Mul' }, '{}');
    assert.equal(noPath.status, 400);
    assert.equal(noPath.headers['x-rpcx-errormessage'], 'empty servicepath');

    const badType = await call({ 'X-RPCX-SerializeType': 'json', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul' }, '{}');
    assert.equal(badType.status, 400);
    assert.match(String(badType.headers['x-rpcx-errormessage']), /serialize type/);

    const badId = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-MessageID': 'x' }, '{}');
    assert.equal(badId.status, 400);
  });

  it('reports an undecodable body as a service error', async () => {
    const res = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul' }, '{not json');
    assert.equal(res.status, 500);
    assert.match(String(res.headers['x-rpcx-errormessage']), /json decode failed/);
  });

  it('runs oneway calls without waiting for them, and echoes heartbeats', async () => {
    const before = onewayRuns;
    const res = await call({ 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Probe', 'X-RPCX-ServiceMethod': 'Oneway', 'X-RPCX-Oneway': 'true' }, 'null');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.equal(onewayRuns, before + 1);
    const beat = await call({ 'X-RPCX-SerializeType': '3', 'X-RPCX-Heartbeat': 'true' }, new Uint8Array([0xc0]));
    assert.equal(beat.status, 200);
    assert.deepEqual(new Uint8Array(beat.body), new Uint8Array([0xc0]));
  });

  it('serves many calls on one keep-alive connection', async () => {
    const single = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        httpRequest(base, { method: 'POST', agent: single, headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul' }, body: JSON.stringify({ A: i, B: 3 }) }),
      ),
    );
    results.forEach((r, i) => assert.deepEqual(JSON.parse(r.text), { C: i * 3 }));
    const http1 = [...server.httpConnections].filter((c) => c.requests >= 40);
    assert.equal(http1.length, 1, 'all 40 requests went over one connection');
    single.destroy();
  });
});

describe('HTTP gateway and streaming methods', () => {
  let server: Server;
  let base: string;
  before(async () => ({ server, base } = await startServer()));
  after(async () => server.close({ timeoutMs: 500 }));
  const feed = (method: string, body: string | Uint8Array, serializeType = '1') =>
    httpRequest(`${base}/`, { method: 'POST', headers: { 'X-RPCX-SerializeType': serializeType, 'X-RPCX-ServicePath': 'Feed', 'X-RPCX-ServiceMethod': method }, body });

  it('answers a server-streaming method as newline-delimited JSON, one {"result"} line per message', async () => {
    const res = await feed('Count', '{"N":3}');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    assert.equal(res.headers['x-rpcx-messagestatustype'], 'Normal');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.text, '{"result":{"I":0}}\n{"result":{"I":1}}\n{"result":{"I":2}}\n');
  });

  it('ends with an {"error"} line when the method fails mid-stream; refusals before it are plain gateway errors', async () => {
    const res = await feed('Count', '{"N":2,"Fail":true}');
    assert.equal(res.status, 200);
    const lines = res.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines, [{ result: { I: 0 } }, { result: { I: 1 } }, { error: { code: 'ERR_RPCX_SERVICE', message: 'feed broke' } }]);
    const unknown = await feed('Nope', '{}');
    assert.equal(unknown.status, 500);
    assert.equal(unknown.headers['x-rpcx-errormessage'], "rpcx: can't find method Nope");
  });

  it('answers 501 with a clear message for client streams and for server streams asked in other serialize types; JSON-RPC says it cannot stream', async () => {
    const sum = await feed('Sum', '[1,2]');
    assert.equal(sum.status, 501);
    assert.equal(sum.headers['x-rpcx-errormessage'], 'rpcx: Feed.Sum is a client-streaming method; the HTTP gateway streams server-streaming methods only: call it with an rpcx-ts stream client');
    const msgpack = await feed('Count', getCodec(SerializeType.MsgPack).encode({ N: 1 }), '3');
    assert.equal(msgpack.status, 501);
    assert.match(msgpack.headers['x-rpcx-errormessage'] as string, /Feed\.Count is a server-streaming method; the HTTP gateway streams it as newline-delimited JSON only \(send X-RPCX-SerializeType: 1\)/);
    const rpc = await jsonRpc(`${base}/`, { jsonrpc: '2.0', id: 1, method: 'Feed.Count', params: { N: 1 } });
    const error = (rpc.json as { error: { message: string } }).error;
    assert.match(error.message, /Feed\.Count is a server-streaming method; JSON-RPC cannot stream: call it with an rpcx-ts stream client or through the HTTP gateway \(newline-delimited JSON\)/);
  });

  it('a slow HTTP reader pauses the method; a reader that goes away cancels it', async () => {
    feedProbe.produced = 0;
    feedProbe.aborted = 0;
    const { port } = new URL(base);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Feed', 'X-RPCX-ServiceMethod': 'Endless' } }, resolve);
      request.on('error', reject);
      request.end('null');
    });
    assert.equal(response.headers['content-type'], 'application/x-ndjson');
    response.pause();
    // Unread: the kernel's socket buffers fill (a few MB on loopback), then the window (16) stops the generator.
    let before = -1;
    for (let i = 0; i < 30 && feedProbe.produced !== before; i++) {
      before = feedProbe.produced;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(feedProbe.produced < 50_000, `produced ${feedProbe.produced} messages for a reader that reads nothing`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(feedProbe.produced, before, 'the method waits for the reader');
    response.destroy();
    for (let i = 0; i < 100 && feedProbe.aborted === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(feedProbe.aborted, 1, "the method's ctx.signal fired");
    for (let i = 0; i < 100 && server.inFlight !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(server.inFlight, 0);
  });
});

describe('JSON-RPC 2.0', () => {
  let server: Server;
  let base: string;
  before(async () => ({ server, base } = await startServer()));
  after(() => server.close());

  it('calls Service.Method with params and returns result and id', async () => {
    const { status, json } = await jsonRpc(base, { jsonrpc: '2.0', method: 'Arith.Mul', params: { A: 7, B: 8 }, id: 1 });
    assert.equal(status, 200);
    assert.deepEqual(json, { jsonrpc: '2.0', result: { C: 56 }, id: 1 });
    const byString = await jsonRpc(base, { jsonrpc: '2.0', method: 'Arith.Add', params: { A: 7, B: 8 }, id: 'abc' });
    assert.deepEqual(byString.json, { jsonrpc: '2.0', result: { C: 15 }, id: 'abc' });
  });

  it('splits the method at the last dot', async () => {
    server.registerFunction('a.b', 'C', () => 'dotted');
    const { json } = await jsonRpc(base, { jsonrpc: '2.0', method: 'a.b.C', params: {}, id: 2 });
    assert.deepEqual(json, { jsonrpc: '2.0', result: 'dotted', id: 2 });
  });

  it('passes metadata and Authorization, and tells the handler it is jsonrpc', async () => {
    const { json } = await jsonRpc(base, { jsonrpc: '2.0', method: 'Probe.Meta', params: {}, id: 3 }, { headers: { 'X-RPCX-Meta': 'trace=t1', Authorization: 'secret' } });
    assert.deepEqual(json, { jsonrpc: '2.0', result: { protocol: 'jsonrpc', trace: 't1', auth: 'secret' }, id: 3 });
  });

  it('runs notifications and answers 204 with no body', async () => {
    const before = onewayRuns;
    const res = await httpRequest(base, { method: 'POST', headers: { 'X-JSONRPC-2.0': 'true' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'Probe.Oneway', params: {} }) });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
    assert.equal(onewayRuns, before + 1);
  });

  it('answers batches with one response per request that has an id, in order', async () => {
    const before = onewayRuns;
    const { status, json } = await jsonRpc(base, [
      { jsonrpc: '2.0', method: 'Arith.Mul', params: { A: 2, B: 3 }, id: 1 },
      { jsonrpc: '2.0', method: 'Probe.Oneway', params: {} },
      { jsonrpc: '2.0', method: 'Arith.Nope', params: {}, id: 2 },
      { foo: 'bar' },
      { jsonrpc: '2.0', method: 'Arith.Add', params: { A: 2, B: 3 }, id: 3 },
    ]);
    assert.equal(status, 200);
    assert.deepEqual(json, [
      { jsonrpc: '2.0', result: { C: 6 }, id: 1 },
      { jsonrpc: '2.0', error: { code: -32601, message: "rpcx: can't find method Nope" }, id: 2 },
      { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' }, id: null },
      { jsonrpc: '2.0', result: { C: 5 }, id: 3 },
    ]);
    assert.equal(onewayRuns, before + 1);
    const onlyNotifications = await httpRequest(base, {
      method: 'POST',
      headers: { 'X-JSONRPC-2.0': 'true' },
      body: JSON.stringify([{ jsonrpc: '2.0', method: 'Probe.Oneway' }, { jsonrpc: '2.0', method: 'Probe.Oneway' }]),
    });
    assert.equal(onlyNotifications.status, 204);
    assert.equal(onlyNotifications.body.length, 0);
  });

  it('answers errors with JSON-RPC error objects and codes', async () => {
    const parse = await jsonRpc(base, '{"jsonrpc": "2.0", "method": "Arith.Mul", "params": [');
    assert.equal((parse.json as { error: { code: number } }).error.code, -32700);
    assert.equal((parse.json as { id: unknown }).id, null);

    const empty = await jsonRpc(base, []);
    assert.deepEqual((empty.json as { error: { code: number } }).error.code, -32600);

    const notObject = await jsonRpc(base, [1]);
    assert.deepEqual(notObject.json, [{ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request: not an object' }, id: null }]);

    const noMethod = await jsonRpc(base, { jsonrpc: '2.0', method: 1, id: 4 });
    assert.equal((noMethod.json as { error: { code: number } }).error.code, -32600);

    const noDot = await jsonRpc(base, { jsonrpc: '2.0', method: 'Mul', params: {}, id: 5 });
    assert.equal((noDot.json as { error: { code: number } }).error.code, -32601);

    const unknownService = await jsonRpc(base, { jsonrpc: '2.0', method: 'Nope.Mul', params: {}, id: 6 });
    assert.deepEqual(unknownService.json, { jsonrpc: '2.0', error: { code: -32601, message: "rpcx: can't find service Nope" }, id: 6 });

    const badParams = await jsonRpc(base, { jsonrpc: '2.0', method: 'Arith.Mul', params: 'x', id: 7 });
    assert.equal((badParams.json as { error: { code: number } }).error.code, -32602);

    const unencodable = await jsonRpc(base, { jsonrpc: '2.0', method: 'Probe.BigInt', params: {}, id: 8 });
    assert.equal((unencodable.json as { error: { code: number } }).error.code, -32603);

    const serviceError = await jsonRpc(base, { jsonrpc: '2.0', method: 'Probe.Fail', params: { Why: 'no' }, id: 9 });
    assert.deepEqual(serviceError.json, { jsonrpc: '2.0', error: { code: -32000, message: 'failed: no' }, id: 9 });
  });

  it('takes positional params as the argument array', async () => {
    const { json } = await jsonRpc(base, { jsonrpc: '2.0', method: 'Echo.Echo', params: [1, 'two', { three: 3 }], id: 10 });
    assert.deepEqual(json, { jsonrpc: '2.0', result: [1, 'two', { three: 3 }], id: 10 });
  });
});
