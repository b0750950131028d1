/** Server behaviour over real loopback sockets. */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { injectable } from 'tsyringe';
import {
  AbortedError,
  CallContext,
  Client,
  ConnectionClosedError,
  method,
  MethodNotFoundError,
  SerializeType,
  Server,
  service,
  ServiceError,
  ServiceNotFoundError,
  TimeoutError,
  UnavailableError,
} from '../index.js';
import { silentLogger } from '../logger.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { Message } from '../protocol/message.js';
import { startExampleServer } from './helpers/example-server.js';

@injectable()
class Multiplier {
  readonly factor = 3;
}

@service({ name: 'Scaled', metadata: 'weight=10&group=a' })
class Scaled {
  constructor(private readonly multiplier: Multiplier) {}
  @method()
  async scale(args: { X: number }): Promise<{ Y: number }> {
    return { Y: args.X * this.multiplier.factor };
  }
  helperNotExposed(): number {
    return 1;
  }
}

class Plain {
  hits = 0;
  greet(args: { Name: string }): string {
    this.hits++;
    return `hello ${args.Name}`;
  }
  _private(): void {}
}

const observed: { aborted?: unknown; deadline?: number | undefined; onewayRuns: number; dropped?: unknown } = { onewayRuns: 0 };

@service('Probe')
class Probe {
  @method()
  async context(_args: unknown, ctx: CallContext): Promise<Record<string, unknown>> {
    ctx.responseMetadata['served-by'] = 'probe';
    return { meta: { ...ctx.metadata }, auth: ctx.auth ?? null, remote: ctx.remoteAddress, network: ctx.network, service: ctx.service, method: ctx.method };
  }
  @method()
  async waitForDeadline(_args: unknown, ctx: CallContext): Promise<string> {
    observed.deadline = ctx.deadline;
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    observed.aborted = ctx.signal.reason;
    return 'late';
  }
  @method()
  async waitForDrop(_args: unknown, ctx: CallContext): Promise<string> {
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    observed.dropped = ctx.signal.reason;
    return 'gone';
  }
  @method()
  fail(args: { Text: string }): never {
    throw new Error(args.Text);
  }
  @method()
  async failAsync(): Promise<never> {
    throw 'plain string';
  }
  @method()
  oneway(): void {
    observed.onewayRuns++;
  }
  @method()
  async sleep(args: { Ms: number }): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, args.Ms));
    return args.Ms;
  }
  @method()
  async pushBack(args: { Count: number }, ctx: CallContext): Promise<number> {
    for (let i = 0; i < args.Count; i++) ctx.connection.push('Feed', 'Tick', { N: i });
    return args.Count;
  }
}

describe('server', () => {
  let server: Server;
  let endpoint: string;
  let client: Client;
  const plain = new Plain();

  before(async () => {
    ({ server, endpoint } = await startExampleServer());
    server.register(Scaled);
    server.register(plain, { name: 'Plain', metadata: 'group=b' });
    server.register(Probe);
    server.registerFunction('Fn', 'Double', (args) => (args as number) * 2);
    client = await Client.connect(endpoint, { auth: 'secret-token', logger: silentLogger });
  });

  after(async () => {
    await client.close();
    await server.close();
  });

  it('resolves decorated classes through tsyringe and keeps their metadata', async () => {
    assert.deepEqual(await client.call('Scaled', 'Scale', { X: 5 }), { Y: 15 });
    assert.equal(server.registry.get('Scaled')!.metadata, 'weight=10&group=a');
    assert.deepEqual([...server.registry.get('Scaled')!.methods.keys()], ['Scale']);
  });

  it('serves an undecorated instance: every public method, Go-style names', async () => {
    assert.equal(await client.call('Plain', 'Greet', { Name: 'ts' }), 'hello ts');
    assert.equal(plain.hits, 1);
    assert.deepEqual([...server.registry.get('Plain')!.methods.keys()].sort(), ['Greet']);
  });

  it('serves a registered function', async () => {
    assert.equal(await client.call('Fn', 'Double', 21, { serializeType: SerializeType.JSON }), 42);
  });

  it('gives handlers metadata, auth, peer and writable response metadata', async () => {
    const { value, metadata } = await client.invoke<Record<string, unknown>>('Probe', 'Context', {}, { metadata: { trace: 'abc' } });
    assert.deepEqual(value.meta, { trace: 'abc', __AUTH: 'secret-token' });
    assert.equal(value.auth, 'secret-token');
    assert.equal(value.network, 'tcp');
    assert.equal(value.service, 'Probe');
    assert.equal(value.method, 'Context');
    assert.match(String(value.remote), /^127\.0\.0\.1:\d+$/);
    assert.equal(metadata['served-by'], 'probe');
  });

  it('fires ctx.signal at the client deadline (__ServerTimeout)', async () => {
    const started = Date.now();
    await assert.rejects(client.call('Probe', 'WaitForDeadline', {}, { timeoutMs: 150 }), TimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(observed.deadline! >= started + 140 && observed.deadline! <= Date.now(), 'deadline from __ServerTimeout');
    assert.ok(observed.aborted instanceof TimeoutError);
  });

  it('fires ctx.signal when the connection drops', async () => {
    const other = await Client.connect(endpoint, { logger: silentLogger });
    const call = assert.rejects(other.call('Probe', 'WaitForDrop', {}), ConnectionClosedError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await other.close();
    await call;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(observed.dropped instanceof AbortedError);
  });

  it('returns thrown errors as rpcx errors and keeps the connection open', async () => {
    await assert.rejects(client.call('Probe', 'Fail', { Text: 'boom' }), (e: unknown) => e instanceof ServiceError && e.message === 'boom' && e.code === 'ERR_RPCX_SERVICE');
    await assert.rejects(client.call('Probe', 'FailAsync', {}), (e: unknown) => e instanceof ServiceError && e.message === 'plain string');
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
  });

  it("answers unknown services and methods with rpcx's texts", async () => {
    await assert.rejects(client.call('Nope', 'X', {}), (e: unknown) => e instanceof ServiceNotFoundError && e.message === "rpcx: can't find service Nope");
    await assert.rejects(client.call('Arith', 'Div', {}), (e: unknown) => e instanceof MethodNotFoundError && e.message === "rpcx: can't find method Div");
    assert.equal(client.closed, false);
    assert.deepEqual(await client.call('Arith', 'Add', { A: 2, B: 3 }), { C: 5 });
  });

  it('answers a payload it cannot decode with an error, not a dropped connection', async () => {
    const socket = await rawSocket(endpoint);
    const reply = await socket.exchange(new Message({ serializeType: SerializeType.JSON, seq: 5, servicePath: 'Arith', serviceMethod: 'Mul', payload: new TextEncoder().encode('{nope') }));
    assert.equal(reply.isError, true);
    assert.match(reply.metadata['__rpcx_error__']!, /json decode failed/);
    socket.close();
  });

  it('echoes heartbeats', async () => {
    const rtt = await client.ping();
    assert.ok(rtt >= 0 && rtt < 1000);
  });

  it('runs oneway calls and sends nothing back', async () => {
    const before = observed.onewayRuns;
    const socket = await rawSocket(endpoint);
    socket.write(new Message({ oneway: true, serializeType: 3, seq: 1, servicePath: 'Probe', serviceMethod: 'Oneway', payload: new Uint8Array([0xc0]) }));
    const reply = await socket.exchange(new Message({ serializeType: 3, seq: 2, servicePath: 'Arith', serviceMethod: 'Mul', payload: new Uint8Array([0x82, 0xa1, 0x41, 1, 0xa1, 0x42, 2]) }));
    assert.equal(reply.seq, 2, 'the first reply is the second call: the oneway one got none');
    assert.equal(observed.onewayRuns, before + 1);
    await client.send('Probe', 'Oneway', null);
    await client.call('Arith', 'Mul', { A: 1, B: 1 });
    assert.equal(observed.onewayRuns, before + 2);
    socket.close();
  });

  it('pushes messages to the client (handler and async iterator)', async () => {
    const other = await Client.connect(endpoint, { logger: silentLogger });
    const seen: unknown[] = [];
    other.onPush((m) => seen.push(m.value));
    const iterator = other.pushes();
    assert.equal(await other.call('Probe', 'PushBack', { Count: 3 }), 3);
    const first = await iterator.next();
    assert.equal(first.value!.servicePath, 'Feed');
    assert.equal(first.value!.serviceMethod, 'Tick');
    assert.deepEqual(first.value!.value, { N: 0 });
    assert.deepEqual(seen, [{ N: 0 }, { N: 1 }, { N: 2 }]);
    assert.deepEqual((await iterator.next()).value!.value, { N: 1 });
    assert.deepEqual((await iterator.next()).value!.value, { N: 2 });
    await other.close();
    assert.equal((await iterator.next()).done, true, 'the iterator ends with the connection');
  });

  it('closes a connection that sends a bad frame, and only that one', async () => {
    const socket = await rawSocket(endpoint);
    // The rpcx magic, then a section length that runs past the frame (plain "GET " would be HTTP on a sniffed port).
    socket.writeBytes(new Uint8Array([0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0x47, 0x45, 0x54, 0x20]));
    await socket.closed;
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 4, B: 4 }), { C: 16 });
  });

  it('closes a connection that announces a frame over the limit', async () => {
    const small = new Server({ logger: silentLogger, maxFrameLength: 1024 });
    small.register(Probe);
    const listener = await small.serve('tcp', '127.0.0.1:0');
    const good = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const bad = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    await assert.rejects(bad.call('Probe', 'Sleep', { Ms: 1, Pad: 'x'.repeat(4096) }), ConnectionClosedError);
    assert.equal(await good.call('Probe', 'Sleep', { Ms: 1 }), 1);
    await good.close();
    await small.close();
  });
});

describe('graceful shutdown', () => {
  it('lets in-flight calls finish before closing', async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Probe);
    const listener = await server.serve('tcp', '127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const calls = [client.call('Probe', 'Sleep', { Ms: 200 }), client.call('Probe', 'Sleep', { Ms: 100 })];
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closing = server.close();
    assert.deepEqual(await Promise.all(calls), [200, 100]);
    await closing;
    await assert.rejects(Client.connect(`tcp@${listener.address}`, { logger: silentLogger }), /ECONNREFUSED|failed/);
    await client.close();
  });

  it('refuses new calls while draining, with a retryable error, without running them', async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Probe);
    const listener = await server.serve('tcp', '127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const before = observed.onewayRuns;
    const slow = client.call('Probe', 'Sleep', { Ms: 200 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closing = server.close();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await assert.rejects(client.call('Probe', 'Oneway', null), (e: unknown) => e instanceof UnavailableError && e.code === 'ERR_RPCX_UNAVAILABLE');
    assert.equal(client.draining, true);
    assert.equal(observed.onewayRuns, before, 'the refused call did not run');
    assert.equal(await slow, 200, 'the in-flight call finished');
    await closing;
    await client.close();
  });

  it('refuses, rather than drops, a request sent right after the last reply of a draining connection', async () => {
    const server = new Server({ logger: silentLogger, drainQuietMs: 300 });
    server.register(Probe);
    const listener = await server.serve('tcp', '127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const slow = client.call('Probe', 'Sleep', { Ms: 100 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closing = server.close();
    // The next call leaves the moment the last in-flight reply arrives: the connection is idle but not yet quiet.
    const next = slow.then(() => client.call('Probe', 'Sleep', { Ms: 1 }));
    await assert.rejects(next, (e: unknown) => e instanceof UnavailableError);
    await closing;
    await client.close();
  });

  it('is bounded by the shutdown timeout', async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Probe);
    const listener = await server.serve('tcp', '127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
    const call = client.call('Probe', 'Sleep', { Ms: 5000 });
    const rejected = assert.rejects(call, ConnectionClosedError);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const started = Date.now();
    await server.close({ timeoutMs: 100 });
    assert.ok(Date.now() - started < 1000);
    await rejected;
  });
});

/** A bare socket speaking frames, for checks a Client would hide. */
async function rawSocket(endpoint: string): Promise<{
  write(m: Message): void;
  writeBytes(b: Uint8Array): void;
  exchange(m: Message): Promise<Message>;
  closed: Promise<void>;
  close(): void;
}> {
  const [host, port] = endpoint.replace('tcp@', '').split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const inbox: Message[] = [];
  let wake: (() => void) | undefined;
  const parser = new FrameParser((m) => {
    inbox.push(m);
    wake?.();
  });
  socket.on('data', (chunk) => parser.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    write: (m) => socket.write(m.encode()),
    writeBytes: (b) => socket.write(b),
    async exchange(m) {
      socket.write(m.encode());
      while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return inbox.shift()!;
    },
    closed,
    close: () => socket.destroy(),
  };
}
