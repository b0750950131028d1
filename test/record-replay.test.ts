/**
 * Record and replay: a server writes sampled calls (every protocol, with metadata, payload and timing, never the auth
 * token) to a bounded, rotating file; `rpcx-ts replay` sends them to another server, paced or as fast as its
 * concurrency allows, and ends with bench's stats line.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Client, SerializeType, Server } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith, Echo } from '../examples/services/index.js';
import type { CallRecord } from '../server/observability/call-record.js';
import { httpRequest } from './helpers/http.js';
import { cliPath, run } from './helpers/processes.js';

const STATS_LINE = /^calls=(\d+) errors=(\d+) calls\/s=\d+ p50_ms=\d+\.\d+ p99_ms=\d+\.\d+$/;

function records(path: string): CallRecord[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as CallRecord);
}

async function serverWith(options: ConstructorParameters<typeof Server>[0]): Promise<{ server: Server; address: string }> {
  const server = new Server({ logger: silentLogger, ...options });
  server.register(Arith);
  server.register(Echo);
  const listener = await server.serve('tcp@127.0.0.1:0');
  return { server, address: listener.address };
}

describe('record and replay', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rpcx-record-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records calls of every protocol with metadata, payload and timing, and no auth token', async () => {
    const path = join(dir, 'calls.rec');
    const { server, address } = await serverWith({ record: { path }, auth: (token) => token === 'secret' });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger, auth: 'secret' });
    await client.call('Arith', 'Mul', { A: 6, B: 7 }, { serializeType: SerializeType.JSON, metadata: { trace: 't-1' } });
    await client.call('Arith', 'Add', { A: 1, B: 2 }, { serializeType: SerializeType.MsgPack });
    await client.call('Echo', 'Echo', new Uint8Array([1, 2, 3]), { serializeType: SerializeType.None, raw: true });
    await assert.rejects(client.call('Arith', 'Nope', {}, { serializeType: SerializeType.JSON }));
    const gateway = await httpRequest(`http://${address}/`, {
      method: 'POST',
      headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Mul', Authorization: 'secret' },
      body: JSON.stringify({ A: 2, B: 3 }),
    });
    assert.equal(gateway.status, 200);
    const identity = (b: Buffer): Buffer => b;
    const EchoClient = grpc.makeGenericClientConstructor(
      { echo: { path: '/Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
      'Echo',
    );
    const grpcClient = new EchoClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      echo(request: Buffer, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null) => void): void;
    };
    const grpcMetadata = new grpc.Metadata();
    grpcMetadata.set('authorization', 'secret');
    await new Promise<void>((resolve, reject) => grpcClient.echo(Buffer.from([9, 9]), grpcMetadata, (error) => (error ? reject(error) : resolve())));
    grpcClient.close();
    await client.close();
    await server.close();

    const list = records(path);
    assert.equal(list.length, 6);
    const [mul, add, echo, nope, viaHttp, viaGrpc] = list as [CallRecord, CallRecord, CallRecord, CallRecord, CallRecord, CallRecord];
    assert.deepEqual([mul.service, mul.method, mul.serializeType, mul.protocol, mul.status], ['Arith', 'Mul', 1, 'rpcx', 'ok']);
    assert.equal(mul.metadata.trace, 't-1');
    assert.deepEqual(JSON.parse(Buffer.from(mul.payload, 'base64').toString()), { A: 6, B: 7 });
    assert.equal(add.serializeType, SerializeType.MsgPack);
    assert.deepEqual([...Buffer.from(echo.payload, 'base64')], [1, 2, 3]);
    assert.equal(nope.status, 'error');
    assert.match(nope.error ?? '', /can't find method Nope/);
    assert.equal(viaHttp.protocol, 'http');
    assert.deepEqual([viaGrpc.protocol, viaGrpc.serializeType, [...Buffer.from(viaGrpc.payload, 'base64')]], ['grpc', SerializeType.ProtoBuffer, [9, 9]]);
    for (const r of list) {
      assert.ok(!('__AUTH' in r.metadata), 'the auth token is not recorded');
      assert.ok(r.durationMs >= 0 && r.t > Date.now() - 60_000);
    }
    assert.ok(!readFileSync(path, 'utf8').includes('secret'));
  });

  it('rotates at maxFileBytes and keeps maxFiles files', async () => {
    const path = join(dir, 'rotating.rec');
    const { server, address } = await serverWith({ record: { path, maxFileBytes: 2000, maxFiles: 3 } });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    for (let i = 0; i < 100; i++) await client.call('Arith', 'Add', { A: i, B: 1 }, { serializeType: SerializeType.JSON });
    await client.close();
    await server.close();
    assert.ok(existsSync(path) && existsSync(`${path}.1`) && existsSync(`${path}.2`));
    assert.ok(!existsSync(`${path}.3`));
    for (const file of [path, `${path}.1`, `${path}.2`]) assert.ok(statSync(file).size < 2400, `${file}: ${statSync(file).size} bytes`);
    // The newest calls are in the current file, the ones before in .1.
    const current = records(path);
    const previous = records(`${path}.1`);
    assert.ok(current.length > 0);
    assert.ok(previous[previous.length - 1]!.t <= current[0]!.t);
  });

  it('samples a share of the calls', async () => {
    const path = join(dir, 'sampled.rec');
    const { server, address } = await serverWith({ record: { path, sampleRate: 0.5 } });
    const client = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    await Promise.all(Array.from({ length: 400 }, (_, i) => client.call('Arith', 'Add', { A: i, B: 1 })));
    await client.close();
    await server.close();
    const n = records(path).length;
    assert.ok(n > 100 && n < 300, `${n} of 400 recorded at rate 0.5`);
  });

  it('replays a recording against another server and prints the bench stats line', async () => {
    const path = join(dir, 'replay.rec');
    const source = await serverWith({ record: { path } });
    const client = await Client.connect(`tcp@${source.address}`, { logger: silentLogger });
    for (let i = 0; i < 30; i++) await client.call('Arith', 'Mul', { A: i, B: 2 }, { serializeType: i % 2 ? SerializeType.JSON : SerializeType.MsgPack });
    for (let i = 0; i < 10; i++) await client.call('Echo', 'Echo', new Uint8Array(100).fill(i), { serializeType: SerializeType.None, raw: true });
    await client.close();
    await source.server.close();

    const target = await serverWith({});
    try {
      const fast = await run(cliPath, ['replay', path, `tcp@${target.address}`, '--concurrency', '8']);
      assert.equal(fast.code, 0, fast.stderr);
      const line = fast.stdout.trim().split('\n').pop()!;
      const match = STATS_LINE.exec(line);
      assert.ok(match, line);
      assert.deepEqual([Number(match[1]), Number(match[2])], [40, 0]);
      assert.equal(target.server.registry.get('Arith')!.methods.get('Mul')!.stats.calls, 30);
      assert.equal(target.server.registry.get('Echo')!.methods.get('Echo')!.stats.calls, 10);

      // Paced: 40 calls at 50 calls/s take about 0.8 s.
      const started = Date.now();
      const paced = await run(cliPath, ['replay', path, `tcp@${target.address}`, '--rate', '50']);
      assert.equal(paced.code, 0, paced.stderr);
      assert.match(paced.stdout.trim(), /calls=40 errors=0 /);
      assert.ok(Date.now() - started >= 750, `paced replay took ${Date.now() - started} ms`);
      assert.equal(target.server.registry.get('Arith')!.methods.get('Mul')!.stats.calls, 60);
    } finally {
      await target.server.close();
    }
  });

  it('fails clearly on a file that is not a recording', async () => {
    const path = join(dir, 'garbage.rec');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'not json\n{"also": "not a record"}\n');
    const result = await run(cliPath, ['replay', path, 'tcp@127.0.0.1:1']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /garbage\.rec:1: not a call record/);
  });
});
