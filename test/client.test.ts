/** Client behaviour over real loopback sockets. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  AbortedError,
  CallContext,
  Client,
  CodecError,
  CompressType,
  ConnectionClosedError,
  DialError,
  method,
  SerializeType,
  Server,
  service,
  TimeoutError,
} from '../index.js';
import { silentLogger } from '../logger.js';
import type { Arith } from '../examples/services/arith.js';
import { startExampleServer } from './helpers/example-server.js';
import { arithProto } from './helpers/proto.js';
import { freePort } from './helpers/ports.js';

@service('Slow')
class Slow {
  @method()
  async delay(args: { Ms: number; Id: number }): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, args.Ms));
    return args.Id;
  }
  @method({ requestType: arithProto.lookupType('ProtoArgs'), replyType: arithProto.lookupType('ProtoReply') })
  protoMul(args: { A: number; B: number }): { C: number } {
    return { C: args.A * args.B };
  }
  @method()
  size(args: Uint8Array, ctx: CallContext): number {
    void ctx;
    return args.length;
  }
}

describe('client', () => {
  let server: Server;
  let endpoint: string;
  let client: Client;

  before(async () => {
    ({ server, endpoint } = await startExampleServer());
    server.register(Slow);
    client = await Client.connect(endpoint, { logger: silentLogger });
  });

  after(async () => {
    await client.close();
    await server.close();
  });

  it('answers 10,000 concurrent calls on one connection, each correctly', async () => {
    const calls = Array.from({ length: 10_000 }, (_, i) => client.call<{ C: number }>('Arith', 'Mul', { A: i, B: 3 }));
    const replies = await Promise.all(calls);
    replies.forEach((reply, i) => assert.equal(reply.C, i * 3));
    assert.equal(client.pendingCount, 0);
  });

  it('keeps every byte of distinct raw payloads intact across reused batch buffers, on two connections at once', async () => {
    const second = await Client.connect(endpoint, { logger: silentLogger });
    try {
      for (let wave = 0; wave < 5; wave++) {
        const payloads = Array.from({ length: 400 }, (_, i) => {
          const bytes = Buffer.alloc(1 + ((i * 131 + wave * 977) % 9000));
          for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 31 + j * 7 + wave) & 0xff;
          return bytes;
        });
        const replies = await Promise.all(
          payloads.map((p, i) => (i % 2 === 0 ? client : second).call<Uint8Array>('Echo', 'Echo', p, { serializeType: SerializeType.None, raw: true })),
        );
        replies.forEach((reply, i) => assert.ok(Buffer.from(reply).equals(payloads[i]!), `wave ${wave} call ${i}`));
      }
    } finally {
      await second.close();
    }
  });

  it('batches writes: a burst of calls reaches the server in few reads', async () => {
    let reads = 0;
    const counter = new Server({ logger: silentLogger });
    counter.registerFunction('Arith', 'Mul', (args) => args);
    const listener = await counter.serve('tcp', '127.0.0.1:0');
    const c = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    await c.call('Arith', 'Mul', 1);
    for (const connection of counter.connections) {
      (connection.conn as unknown as { socket: net.Socket }).socket.on('data', () => reads++);
    }
    await Promise.all(Array.from({ length: 1000 }, (_, i) => c.call('Arith', 'Mul', i)));
    assert.ok(reads > 0 && reads < 50, `1000 calls arrived in ${reads} reads`);
    await c.close();
    await counter.close();
  });

  it('matches replies that come back out of order', async () => {
    const order: number[] = [];
    const calls = [300, 10, 150, 60].map((ms, id) => client.call<number>('Slow', 'Delay', { Ms: ms, Id: id }).then((v) => (order.push(v), v)));
    assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3]);
    assert.deepEqual(order, [1, 3, 2, 0]);
  });

  it('times out a slow call alone', async () => {
    const slow = client.call('Slow', 'Delay', { Ms: 500, Id: 1 }, { timeoutMs: 50 });
    const fast = client.call('Slow', 'Delay', { Ms: 5, Id: 2 });
    await assert.rejects(slow, (e: unknown) => e instanceof TimeoutError && e.code === 'ERR_RPCX_TIMEOUT');
    assert.equal(await fast, 2);
    assert.equal(client.closed, false);
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
  });

  it('applies the client default timeout and per-call overrides', async () => {
    const c = await Client.connect(endpoint, { timeoutMs: 40, logger: silentLogger });
    await assert.rejects(c.call('Slow', 'Delay', { Ms: 300, Id: 1 }), TimeoutError);
    assert.equal(await c.call('Slow', 'Delay', { Ms: 80, Id: 7 }, { timeoutMs: 1000 }), 7);
    await c.close();
  });

  it('aborts with an AbortSignal', async () => {
    const controller = new AbortController();
    const call = client.call('Slow', 'Delay', { Ms: 500, Id: 1 }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 20);
    await assert.rejects(call, (e: unknown) => e instanceof AbortedError && e.code === 'ERR_RPCX_ABORTED');
    await assert.rejects(client.call('Arith', 'Mul', {}, { signal: AbortSignal.abort() }), AbortedError);
  });

  it('rejects every pending call at once when the server closes mid-call', async () => {
    const { server: doomed, endpoint: doomedEndpoint } = await startExampleServer();
    doomed.register(Slow);
    const c = await Client.connect(doomedEndpoint, { logger: silentLogger });
    const calls = Array.from({ length: 50 }, (_, i) => c.call('Slow', 'Delay', { Ms: 10_000, Id: i }));
    const settled = Promise.allSettled(calls);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await doomed.close({ timeoutMs: 10 });
    const results = await settled;
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof ConnectionClosedError));
    assert.ok(Date.now() - started < 1000, 'none hangs');
    assert.equal(c.closed, true);
    await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 1 }), ConnectionClosedError);
  });

  it('closes a connection whose heartbeats go unanswered', async () => {
    // A server that accepts and never answers anything.
    const accepted: net.Socket[] = [];
    const mute = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const port = (mute.address() as net.AddressInfo).port;
    const c = await Client.connect(`tcp@127.0.0.1:${port}`, { heartbeat: { intervalMs: 50, timeoutMs: 50 }, logger: silentLogger });
    const call = c.call('Arith', 'Mul', { A: 1, B: 1 });
    await assert.rejects(call, (e: unknown) => e instanceof ConnectionClosedError && /heartbeat/.test(e.message));
    assert.equal(c.closed, true);
    for (const socket of accepted) socket.destroy();
    mute.close();
  });

  it('keeps a live connection open with heartbeats and measures RTT', async () => {
    const c = await Client.connect(endpoint, { heartbeat: { intervalMs: 30 }, logger: silentLogger });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(c.closed, false);
    assert.ok(c.rttMs !== undefined && c.rttMs >= 0);
    await c.close();
  });

  it('calls through a typed proxy', async () => {
    const arith = client.proxy<Arith>('Arith');
    assert.deepEqual(await arith.mul({ A: 10, B: 20 }), { C: 200 });
    assert.deepEqual(await arith.add({ A: 10, B: 20 }, { serializeType: SerializeType.JSON }), { C: 30 });
  });

  it('speaks every serialize type', async () => {
    const bytes = new Uint8Array([1, 2, 3, 250]);
    assert.deepEqual([...(await client.call<Uint8Array>('Echo', 'Echo', bytes, { serializeType: SerializeType.None }))], [1, 2, 3, 250]);
    assert.deepEqual(await client.call('Echo', 'Echo', { a: [1, 'x'] }, { serializeType: SerializeType.JSON }), { a: [1, 'x'] });
    assert.deepEqual(await client.call('Echo', 'Echo', { a: [1, 'x'] }, { serializeType: SerializeType.MsgPack }), { a: [1, 'x'] });
    const reply = await client.call('Slow', 'ProtoMul', { A: 6, B: 7 }, {
      serializeType: SerializeType.ProtoBuffer,
      requestType: arithProto.lookupType('ProtoArgs'),
      replyType: arithProto.lookupType('ProtoReply'),
    });
    assert.deepEqual(reply, { C: 42 });
  });

  it('gzips large payloads both ways when asked', async () => {
    const big = new Uint8Array(200_000).fill(7);
    const echoed = await client.call<Uint8Array>('Echo', 'Echo', big, { serializeType: 0, compressType: CompressType.Gzip });
    assert.equal(echoed.length, big.length);
    assert.ok(echoed.every((b) => b === 7));
  });

  it('carries a 4 MiB payload', async () => {
    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
    const echoed = await client.call<Uint8Array>('Echo', 'Echo', big, { serializeType: 0 });
    assert.equal(Buffer.compare(Buffer.from(echoed), Buffer.from(big)), 0);
  });

  it('raises typed codec errors without sending', async () => {
    await assert.rejects(client.call('Echo', 'Echo', { x: 1 }, { serializeType: SerializeType.None }), CodecError);
    await assert.rejects(client.call('Echo', 'Echo', 1, { serializeType: 11 }), CodecError);
  });

  it('fails to dial with a typed error', async () => {
    await assert.rejects(Client.connect(`tcp@127.0.0.1:${await freePort()}`), (e: unknown) => e instanceof DialError && e.code === 'ERR_RPCX_DIAL');
    await assert.rejects(Client.connect('nonet@x:1'), /unknown network/);
  });
});
