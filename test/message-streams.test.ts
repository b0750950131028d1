/**
 * rpcx-ts typed message streams over the rpcx connection: server, client and bidirectional streaming, credit flow
 * control (a slow reader bounds the writer), cancellation both ways, deadlines, errors, and what a Go rpcx peer sees
 * (a clear error reply for a streaming method, never a hang).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AbortedError, CallContext, Client, MessageType, method, MetaKey, Peer2PeerDiscovery, SerializeType, Server, service, ServiceError, TimeoutError, XClient } from '../index.js';
import { Message } from '../protocol/message.js';
import { StreamError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { getCodec } from '../codec/index.js';
import { fakeRpcxServer, rawCall } from './helpers/raw-rpcx.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const probe = { produced: 0, finished: 0, aborted: 0, consumedByServer: 0 };

@service('Feed')
class Feed {
  @method()
  async *count(args: { N: number; Fail?: boolean }): AsyncGenerator<{ I: number }> {
    for (let i = 0; i < args.N; i++) yield { I: i };
    if (args.Fail) throw new Error('feed broke');
  }

  @method()
  async *endless(_args: unknown, ctx: CallContext): AsyncGenerator<number> {
    ctx.signal.addEventListener('abort', () => probe.aborted++);
    try {
      for (let i = 0; ; i++) {
        probe.produced++;
        yield i;
      }
    } finally {
      probe.finished++;
    }
  }

  @method()
  async *ticks(_args: unknown, ctx: CallContext): AsyncGenerator<number> {
    ctx.signal.addEventListener('abort', () => probe.aborted++);
    for (let i = 0; !ctx.signal.aborted; i++) {
      yield i;
      await sleep(20);
    }
  }

  @method({ stream: 'client' })
  async sum(input: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const n of input) {
      total += n;
      probe.consumedByServer++;
    }
    return total;
  }

  @method({ stream: 'client' })
  async slowSum(input: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const n of input) {
      probe.consumedByServer++;
      total += n;
      await sleep(2);
    }
    return total;
  }

  @method({ stream: 'bidi' })
  async *shout(input: AsyncIterable<string>): AsyncGenerator<string> {
    for await (const word of input) yield word.toUpperCase();
  }

  @method()
  plain(args: { A: number }): number {
    return args.A;
  }
}

describe('typed message streams', () => {
  let server: Server;
  let port: number;
  let client: Client;

  before(async () => {
    server = new Server({ logger: silentLogger });
    server.register(Feed);
    const listener = await server.serve('tcp@127.0.0.1:0');
    port = Number(listener.address.split(':')[1]);
    client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('server streaming: an async generator method streams its replies to an AsyncIterable', async () => {
    const seen: number[] = [];
    for await (const item of client.serverStream<{ I: number }>('Feed', 'Count', { N: 500 })) seen.push(item.I);
    assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => i));
    // JSON too, and several streams at once on one connection.
    const [a, b] = await Promise.all([collect(client.serverStream('Feed', 'Count', { N: 3 }, { serializeType: SerializeType.JSON })), collect(client.serverStream('Feed', 'Count', { N: 4 }))]);
    assert.equal(a.length, 3);
    assert.equal(b.length, 4);
  });

  it('a server error ends the iterator with that error after the messages before it', async () => {
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of client.serverStream('Feed', 'Count', { N: 2, Fail: true })) seen.push(item);
      })(),
      (error: Error) => error instanceof ServiceError && error.message === 'feed broke',
    );
    assert.equal(seen.length, 2);
  });

  it("a slow reader bounds the producer to the window; the consumer's break stops it on the server", async () => {
    probe.produced = 0;
    probe.finished = 0;
    probe.aborted = 0;
    let consumed = 0;
    for await (const _ of client.serverStream<number>('Feed', 'Endless', null, { window: 8 })) {
      consumed++;
      await sleep(5);
      // Produced beyond consumed: at most the window, plus the one the generator holds.
      assert.ok(probe.produced - consumed <= 8 + 2, `produced ${probe.produced}, consumed ${consumed}`);
      if (consumed === 40) break;
    }
    await waitFor(() => probe.finished === 1 && probe.aborted === 1);
    await waitFor(() => server.inFlight === 0);
    const producedAfter = probe.produced;
    await sleep(50);
    assert.equal(probe.produced, producedAfter);
  });

  it('an AbortSignal stops the stream on both sides; a deadline ends it with TimeoutError', async () => {
    probe.aborted = 0;
    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const i of client.serverStream<number>('Feed', 'Ticks', null, { signal: controller.signal })) {
          seen.push(i);
          if (i === 2) controller.abort();
        }
      })(),
      AbortedError,
    );
    await waitFor(() => probe.aborted === 1);
    await assert.rejects(collect(client.serverStream('Feed', 'Ticks', null, { timeoutMs: 100 })), TimeoutError);
    await waitFor(() => probe.aborted === 2 && server.inFlight === 0);
  });

  it('client streaming: the method reads an AsyncIterable and its reply resolves the call', async () => {
    const total = await client.clientStream<number>('Feed', 'Sum', (function* () {
      for (let i = 1; i <= 1000; i++) yield i;
    })());
    assert.equal(total, 500500);
  });

  it("client streaming respects the server's credit: a slow handler bounds what the client sends", async () => {
    probe.consumedByServer = 0;
    let generated = 0;
    const input = (async function* () {
      for (let i = 0; i < 200; i++) {
        generated++;
        assert.ok(generated - probe.consumedByServer <= 64 + 2, `generated ${generated}, consumed ${probe.consumedByServer}`);
        yield 1;
      }
    })();
    assert.equal(await client.clientStream<number>('Feed', 'SlowSum', input), 200);
  });

  it('a Go rpcx server never gets a stray frame: a stream that times out before any answer sends no cancel', async () => {
    const frames: Message[] = [];
    let answer: (() => void) | undefined;
    const fake = await fakeRpcxServer((m, reply) => {
      frames.push(m);
      // Like a slow Go method: the plain reply comes after the client gave up.
      answer = () => reply(m.reply());
    });
    const goLike = await Client.connect(fake.endpoint, { logger: silentLogger });
    try {
      await assert.rejects(collect(goLike.serverStream('Slow', 'Method', {}, { timeoutMs: 50 })), TimeoutError);
      answer!();
      await sleep(50);
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.metadata[MetaKey.Stream], 'open');
      assert.equal(goLike.closed, false);
    } finally {
      await goLike.close();
      fake.close();
    }
  });

  it('a stream that cannot open (aborted signal, closed client) fails through its iterator', async () => {
    await assert.rejects(collect(client.serverStream('Feed', 'Count', { N: 1 }, { signal: AbortSignal.abort() })), AbortedError);
    const closed = await Client.connect(`tcp@127.0.0.1:${port}`, { logger: silentLogger });
    await closed.close();
    await assert.rejects(collect(closed.bidiStream('Feed', 'Shout', ['a'])), /closed/);
    await assert.rejects(closed.clientStream('Feed', 'Sum', [1]), /closed/);
  });

  it('bidirectional: messages flow both ways on one stream', async () => {
    const words = ['alpha', 'beta', 'gamma'];
    const out = await collect(client.bidiStream<string>('Feed', 'Shout', words));
    assert.deepEqual(out, ['ALPHA', 'BETA', 'GAMMA']);
  });

  it('XClient streams through a selected server', async () => {
    const xclient = new XClient('Feed', 'failfast', 'random', new Peer2PeerDiscovery(`tcp@127.0.0.1:${port}`), { logger: silentLogger });
    try {
      assert.equal((await collect(xclient.serverStream('Count', { N: 5 }))).length, 5);
      assert.equal(await xclient.clientStream('Sum', [1, 2, 3]), 6);
      assert.deepEqual(await collect(xclient.bidiStream('Shout', ['q'])), ['Q']);
    } finally {
      await xclient.close();
    }
  });

  it('a Go client calling a streaming method gets a clear rpcx error reply, not a hang', async () => {
    const reply = await rawCall(
      `127.0.0.1:${port}`,
      new Message({ type: MessageType.Request, serializeType: SerializeType.MsgPack, seq: 1, servicePath: 'Feed', serviceMethod: 'Count', payload: getCodec(3).encode({ N: 1 }) }),
    );
    assert.equal(reply.isError, true);
    assert.match(reply.metadata[MetaKey.Error]!, /Feed\.Count is a server-streaming method; call it with an rpcx-ts stream client/);
    await assert.rejects(collect(client.serverStream('Feed', 'Plain', { A: 1 })), /Feed\.Plain is not a streaming method/);
  });

  it('against a server that answers the open with a plain reply (a Go rpcx server), the stream fails with StreamError', async () => {
    const fake = await fakeRpcxServer((m, reply) => {
      const answer = m.reply();
      answer.payload = getCodec(3).encode(1);
      reply(answer);
    });
    const goLike = await Client.connect(fake.endpoint, { logger: silentLogger });
    try {
      await assert.rejects(collect(goLike.serverStream('Feed', 'Count', { N: 1 })), StreamError);
      await assert.rejects(goLike.clientStream('Feed', 'Sum', [1, 2]), StreamError);
    } finally {
      await goLike.close();
      fake.close();
    }
  });
});

describe('typed stream limits', () => {
  it('a connection may have limits.maxStreamsPerConnection streams open; one more is refused with a clear error', async () => {
    const server = new Server({ logger: silentLogger, limits: { maxStreamsPerConnection: 2 } });
    server.register(Feed);
    const listener = await server.serve('tcp@127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    try {
      const a = client.serverStream<number>('Feed', 'Ticks', null);
      const b = client.serverStream<number>('Feed', 'Ticks', null);
      await a.next();
      await b.next();
      await assert.rejects(collect(client.serverStream('Feed', 'Count', { N: 1 })), /too many open streams on this connection \(limit 2\)/);
      await a.return!();
      await waitFor(() => server.inFlight === 1);
      assert.equal((await collect(client.serverStream('Feed', 'Count', { N: 1 }))).length, 1);
      await b.return!();
    } finally {
      await client.close();
      await server.close({ timeoutMs: 500 });
    }
  });
});

describe('typed message streams on every network', () => {
  let certs: TestCerts;
  let dir: string;
  before(() => {
    certs = createTestCerts();
    dir = mkdtempSync(join(tmpdir(), 'rpcx-streams-'));
  });
  after(() => {
    certs.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<{ name: string; endpoint: () => string; tls?: boolean }> = [
    { name: 'tcp+tls', endpoint: () => 'tcp@127.0.0.1:0', tls: true },
    { name: 'unix', endpoint: () => `unix@${join(dir, 's.sock')}` },
    { name: 'http', endpoint: () => 'http@127.0.0.1:0' },
    { name: 'ws', endpoint: () => 'ws@127.0.0.1:0' },
    { name: 'wss', endpoint: () => 'wss@127.0.0.1:0', tls: true },
    { name: 'kcp', endpoint: () => 'kcp@127.0.0.1:0' },
    { name: 'quic', endpoint: () => 'quic@127.0.0.1:0', tls: true },
    { name: 'wt', endpoint: () => 'wt@127.0.0.1:0', tls: true },
  ];
  for (const c of cases) {
    it(`server and bidi streams over ${c.name}`, async () => {
      const server = new Server({ logger: silentLogger });
      server.register(Feed);
      const listener = await server.serve(c.endpoint(), c.tls ? { tls: { cert: certs.certPem, key: certs.keyPem } } : {});
      const client = await Client.connect(`${listener.network}@${listener.address}`, { logger: silentLogger, ...(c.tls ? { tls: { ca: certs.caPem } } : {}) });
      try {
        const items = await collect(client.serverStream<{ I: number }>('Feed', 'Count', { N: 100 }, { window: 4 }));
        assert.equal(items.length, 100);
        assert.deepEqual(await collect(client.bidiStream<string>('Feed', 'Shout', ['x', 'y'])), ['X', 'Y']);
      } finally {
        await client.close();
        await server.close({ timeoutMs: 500 });
      }
    });
  }
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
