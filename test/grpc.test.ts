/**
 * gRPC on the one port, called by a real gRPC implementation (@grpc/grpc-js): protobuf through the method's types,
 * the package prefix, raw bytes, JSON (application/grpc+json, over node:http2), metadata both ways, deadlines, status
 * codes, auth, health checking, server reflection, TLS with ALPN h2, and rpcx binary calls on the same port at once.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import protobufjs from 'protobufjs';
import type protobuf from 'protobufjs';
import { Client, Server, method, service, type CallContext } from '../index.js';
import { silentLogger } from '../logger.js';
import { builtinRoot } from '../server/grpc/schemas.js';
import { Calc, Greeter, HelloReply, HelloRequest } from './helpers/grpc-services.js';
import { createTestCerts, type TestCerts } from './helpers/tls-certs.js';

const descriptor = createRequire(import.meta.url)('protobufjs/ext/descriptor') as {
  FileDescriptorProto: { decode(bytes: Uint8Array): { name: string; package: string; dependency: string[]; messageType: Array<{ name: string }>; service: Array<{ name: string; method: Array<{ name: string; inputType: string; outputType: string }> }> } };
};

const serialize = (type: protobuf.Type) => (value: object): Buffer => Buffer.from(type.encode(type.fromObject(value)).finish());
const deserialize = (type: protobuf.Type) => (bytes: Buffer): Record<string, unknown> => type.toObject(type.decode(bytes), { defaults: true, enums: String });
const identity = (b: Buffer): Buffer => b;

const definition: grpc.ServiceDefinition = {
  sayHello: { path: '/helloworld.Greeter/SayHello', requestStream: false, responseStream: false, requestSerialize: serialize(HelloRequest), requestDeserialize: deserialize(HelloRequest), responseSerialize: serialize(HelloReply), responseDeserialize: deserialize(HelloReply) },
  slow: { path: '/helloworld.Greeter/Slow', requestStream: false, responseStream: false, requestSerialize: serialize(HelloRequest), requestDeserialize: deserialize(HelloRequest), responseSerialize: serialize(HelloReply), responseDeserialize: deserialize(HelloReply) },
  missing: { path: '/helloworld.Greeter/Missing', requestStream: false, responseStream: false, requestSerialize: serialize(HelloRequest), requestDeserialize: deserialize(HelloRequest), responseSerialize: serialize(HelloReply), responseDeserialize: deserialize(HelloReply) },
  echoBytes: { path: '/Calc/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};
const HealthCheckRequest = builtinRoot.lookupType('grpc.health.v1.HealthCheckRequest');
const HealthCheckResponse = builtinRoot.lookupType('grpc.health.v1.HealthCheckResponse');
const ReflectionRequest = builtinRoot.lookupType('grpc.reflection.v1.ServerReflectionRequest');
const ReflectionResponse = builtinRoot.lookupType('grpc.reflection.v1.ServerReflectionResponse');
const builtins: grpc.ServiceDefinition = {
  check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: serialize(HealthCheckRequest), requestDeserialize: deserialize(HealthCheckRequest), responseSerialize: serialize(HealthCheckResponse), responseDeserialize: deserialize(HealthCheckResponse) },
  reflect: { path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', requestStream: true, responseStream: true, requestSerialize: serialize(ReflectionRequest), requestDeserialize: deserialize(ReflectionRequest), responseSerialize: serialize(ReflectionResponse), responseDeserialize: deserialize(ReflectionResponse) },
};
const GreeterClient = grpc.makeGenericClientConstructor(definition, 'Greeter');
const BuiltinClient = grpc.makeGenericClientConstructor(builtins, 'Builtins');

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: unknown) => void) => grpc.ClientUnaryCall;

function unary(client: grpc.Client, name: string, request: unknown, options: { metadata?: grpc.Metadata; deadlineMs?: number } = {}): Promise<{ reply: Record<string, unknown>; headers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = ((client as unknown as Record<string, Unary>)[name]!).call(
      client,
      request,
      options.metadata ?? new grpc.Metadata(),
      options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {},
      (error, reply) => (error ? reject(error) : resolve({ reply: reply as Record<string, unknown>, headers })),
    );
    call.on('metadata', (m: grpc.Metadata) => (headers = m));
  });
}

async function rejectsWith(promise: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: grpc.ServiceError) => {
    assert.equal(error.code, code, `status ${error.code} (${error.details}), expected ${code}`);
    if (details) assert.match(error.details, details);
    return true;
  });
}

describe('gRPC on the one port (grpc-js)', () => {
  let server: Server;
  let address: string;
  let client: grpc.Client;
  let builtinClient: grpc.Client;

  before(async () => {
    server = new Server({
      logger: silentLogger,
      rpcz: true,
      auth: (token) => token !== 'Bearer wrong',
    });
    server.register(Greeter);
    server.register(Calc);
    const listener = await server.serve('tcp@127.0.0.1:0');
    address = listener.address;
    client = new GreeterClient(address, grpc.credentials.createInsecure());
    builtinClient = new BuiltinClient(address, grpc.credentials.createInsecure());
  });

  after(async () => {
    client.close();
    builtinClient.close();
    await server.close({ timeoutMs: 1000 });
  });

  it('calls a typed method through its protobuf types, with the package prefix', async () => {
    const { reply } = await unary(client, 'sayHello', { name: 'world' });
    assert.deepEqual(reply, { message: 'Hello world' });
    const nested = await unary(client, 'sayHello', { name: 'world', options: { shout: true } });
    assert.deepEqual(nested.reply, { message: 'HELLO WORLD' });
  });

  it('passes raw bytes to an untyped method with application/grpc', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const { reply } = await unary(client, 'echoBytes', bytes);
    assert.deepEqual(Buffer.from(reply as unknown as Buffer), bytes);
  });

  it('maps metadata both ways', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-trace', 'abc-123');
    const { headers } = await unary(client, 'sayHello', { name: 'meta' }, { metadata });
    assert.deepEqual(headers.get('x-trace-echo'), ['abc-123']);
  });

  it('turns grpc-timeout into the deadline: DEADLINE_EXCEEDED and the handler signal fires', async () => {
    const abortedBefore = Greeter.aborted;
    const started = Date.now();
    await rejectsWith(unary(client, 'slow', { name: 'x' }, { deadlineMs: 200 }), grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 3000);
    for (let i = 0; i < 50 && Greeter.aborted === abortedBefore; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(Greeter.aborted, abortedBefore + 1);
  });

  it('maps errors to status codes', async () => {
    await rejectsWith(unary(client, 'sayHello', { name: 'nobody' }), grpc.status.NOT_FOUND, /no such person/);
    await rejectsWith(unary(client, 'sayHello', { name: 'boom' }), grpc.status.UNKNOWN, /the greeter broke/);
    await rejectsWith(unary(client, 'missing', { name: 'x' }), grpc.status.UNIMPLEMENTED, /can't find method Missing/);
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer wrong');
    await rejectsWith(unary(client, 'sayHello', { name: 'x' }, { metadata: wrong }), grpc.status.UNAUTHENTICATED);
  });

  it('serves JSON to untyped methods with application/grpc+json', async () => {
    const session = http2.connect(`http://${address}`);
    try {
      const body = Buffer.from(JSON.stringify({ A: 20, B: 22 }));
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
      const stream = session.request({ ':method': 'POST', ':path': '/Calc/Add', 'content-type': 'application/grpc+json', te: 'trailers' });
      stream.end(frame);
      const chunks: Buffer[] = [];
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((resolve) => stream.on('end', resolve));
      const reply = Buffer.concat(chunks);
      assert.equal(trailers['grpc-status'], '0');
      assert.deepEqual(JSON.parse(reply.subarray(5).toString()), { C: 42 });
    } finally {
      session.close();
    }
  });

  it('answers with only the headers gRPC needs: grpc-accept-encoding once per connection, no date', async () => {
    const session = http2.connect(`http://${address}`);
    try {
      const exchange = async (): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; reply: Buffer }> => {
        const stream = session.request({ ':method': 'POST', ':path': '/Calc/Echo', 'content-type': 'application/grpc', te: 'trailers' });
        stream.end(Buffer.from([0, 0, 0, 0, 3, 7, 8, 9]));
        const chunks: Buffer[] = [];
        let headers: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => (headers = h));
        stream.on('trailers', (t) => (trailers = t));
        stream.on('data', (c: Buffer) => chunks.push(c));
        await new Promise((resolve) => stream.on('end', resolve));
        return { headers, trailers, reply: Buffer.concat(chunks) };
      };
      const first = await exchange();
      const second = await exchange();
      const names = (h: http2.IncomingHttpHeaders): string[] => Object.keys(h).sort();
      assert.deepEqual(names(first.headers), [':status', 'content-type', 'grpc-accept-encoding']);
      assert.equal(first.headers['grpc-accept-encoding'], 'identity,gzip,deflate');
      assert.deepEqual(names(second.headers), [':status', 'content-type']);
      assert.deepEqual(names(first.trailers), ['grpc-status']);
      assert.equal(first.trailers['grpc-status'], '0');
      assert.deepEqual(names(second.trailers), ['grpc-status']);
      assert.deepEqual(second.reply, Buffer.from([0, 0, 0, 0, 3, 7, 8, 9]));
    } finally {
      session.close();
    }
  });

  it('counts gRPC calls in the method statistics and rpcz', async () => {
    const entry = server.registry.get('Greeter')!.methods.get('SayHello')!;
    const before = entry.stats.calls;
    await unary(client, 'sayHello', { name: 'stats' });
    assert.equal(entry.stats.calls, before + 1);
    const recent = server.rpcz!.list(10, (e) => e.protocol === 'grpc' && e.method === 'SayHello');
    assert.ok(recent.length > 0);
  });

  it('answers grpc.health.v1.Health/Check', async () => {
    assert.deepEqual((await unary(builtinClient, 'check', { service: '' })).reply, { status: 'SERVING' });
    assert.deepEqual((await unary(builtinClient, 'check', { service: 'helloworld.Greeter' })).reply, { status: 'SERVING' });
    await rejectsWith(unary(builtinClient, 'check', { service: 'nope.Nothing' }), grpc.status.NOT_FOUND);
  });

  it('answers server reflection: services and their file descriptors', async () => {
    const call = (builtinClient as unknown as { reflect(): grpc.ClientDuplexStream<object, Record<string, unknown>> }).reflect();
    const replies: Array<Record<string, unknown>> = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (m: Record<string, unknown>) => replies.push(m));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ listServices: '*' });
    call.write({ fileContainingSymbol: 'Greeter' });
    call.write({ fileContainingSymbol: 'no.Such' });
    call.end();
    await ended;
    assert.equal(replies.length, 3);
    const names = (replies[0]!.listServicesResponse as { service: Array<{ name: string }> }).service.map((s) => s.name);
    assert.deepEqual(names.sort(), ['Calc', 'Greeter', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);
    const files = (replies[1]!.fileDescriptorResponse as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.map((b) => descriptor.FileDescriptorProto.decode(b));
    const greeter = files[0]!.service.find((s) => s.name === 'Greeter')!;
    const sayHello = greeter.method.find((m) => m.name === 'SayHello')!;
    assert.equal(sayHello.inputType, '.helloworld.HelloRequest');
    const helloFile = files.find((f) => f.package === 'helloworld')!;
    assert.ok(files[0]!.dependency.includes(helloFile.name));
    assert.deepEqual(helloFile.messageType.map((m) => m.name).sort(), ['HelloReply', 'HelloRequest', 'Options']);
    assert.equal((replies[2]!.errorResponse as { errorCode: number }).errorCode, grpc.status.NOT_FOUND);
  });

  it('serves rpcx binary calls on the same port at the same time', async () => {
    const rpcx = await Client.connect(`tcp@${address}`, { logger: silentLogger });
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0 ? rpcx.call<{ C: number }>('Calc', 'Add', { A: i, B: 1 }).then((r) => r.C) : unary(client, 'sayHello', { name: String(i) }).then((r) => r.reply.message),
        ),
      );
      results.forEach((r, i) => assert.equal(r, i % 2 === 0 ? i + 1 : `Hello ${i}`));
    } finally {
      await rpcx.close();
    }
  });
});

describe('gRPC over TLS (ALPN h2)', () => {
  let certs: TestCerts;
  let server: Server;

  before(() => {
    certs = createTestCerts();
  });

  after(async () => {
    await server?.close({ timeoutMs: 1000 });
    certs.cleanup();
  });

  it('negotiates h2 on a TLS listener and serves gRPC and rpcx there', async () => {
    server = new Server({ logger: silentLogger });
    server.register(Greeter);
    server.register(Calc);
    const { address } = await server.serve('tcp@127.0.0.1:0', { tls: { cert: certs.certPem, key: certs.keyPem } });
    const client = new GreeterClient(address, grpc.credentials.createSsl(Buffer.from(certs.caPem)));
    try {
      assert.deepEqual((await unary(client, 'sayHello', { name: 'tls' })).reply, { message: 'Hello tls' });
    } finally {
      client.close();
    }
    // rpcx clients offering no ALPN, or only a protocol of their own, still connect.
    for (const alpn of [undefined, ['rpcx']]) {
      const rpcx = await Client.connect(`tcp@${address}`, { logger: silentLogger, tls: { ca: certs.caPem, ...(alpn ? { alpn } : {}) } });
      try {
        assert.deepEqual(await rpcx.call('Calc', 'Add', { A: 1, B: 2 }), { C: 3 });
      } finally {
        await rpcx.close();
      }
    }
  });
});

describe('gRPC limits, plugins, bad input and shutdown', () => {
  it('applies the rate limit, the message size limit and plugins to gRPC calls', async () => {
    const seen: string[] = [];
    const server = new Server({
      logger: silentLogger,
      maxHttpBodyLength: 1000,
      rateLimit: { ratePerSecond: 0.001, burst: 3 },
      plugins: [{ preCall: (ctx, args) => (seen.push(`${ctx.protocol} ${ctx.service}.${ctx.method}`), args) }],
    });
    server.register(Greeter);
    server.register(Calc);
    const { address } = await server.serve('tcp@127.0.0.1:0');
    const client = new GreeterClient(address, grpc.credentials.createInsecure());
    try {
      await rejectsWith(unary(client, 'echoBytes', Buffer.alloc(5000)), grpc.status.RESOURCE_EXHAUSTED, /exceeds the limit of 1000/);
      for (let i = 0; i < 3; i++) await unary(client, 'sayHello', { name: String(i) });
      await rejectsWith(unary(client, 'sayHello', { name: 'x' }), grpc.status.RESOURCE_EXHAUSTED, /rate limit/);
      assert.deepEqual(seen, ['grpc Greeter.SayHello', 'grpc Greeter.SayHello', 'grpc Greeter.SayHello']);
    } finally {
      client.close();
      await server.close({ timeoutMs: 1000 });
    }
  });

  it('announces maxConcurrentStreams and sends idle connections away', async () => {
    const server = new Server({ logger: silentLogger, grpc: { maxConcurrentStreams: 7, idleTimeoutMs: 300 } });
    server.register(Greeter);
    const { address } = await server.serve('tcp@127.0.0.1:0');
    const session = http2.connect(`http://${address}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
      assert.equal(settings.maxConcurrentStreams, 7);
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
      await goaway;
      await closed;
      for (let i = 0; i < 50 && server.httpConnections.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.httpConnections.size, 0);
    } finally {
      session.destroy();
      await server.close({ timeoutMs: 1000 });
    }
  });

  it('closes only the connection that sends garbage after the HTTP/2 preface', async () => {
    const server = new Server({ logger: silentLogger });
    server.register(Greeter);
    const { address } = await server.serve('tcp@127.0.0.1:0');
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const client = new GreeterClient(address, grpc.credentials.createInsecure());
    try {
      await unary(client, 'sayHello', { name: 'before' });
      const net = await import('node:net');
      const socket = net.connect(port, host);
      socket.on('error', () => undefined);
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]));
      socket.resume();
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      assert.deepEqual((await unary(client, 'sayHello', { name: 'after' })).reply, { message: 'Hello after' });
    } finally {
      client.close();
      await server.close({ timeoutMs: 1000 });
    }
  });

  it('drains on close: the call in flight finishes, health watchers hear NOT_SERVING', async () => {
    const server = new Server({ logger: silentLogger });
    server.registerFunction('Waiter', 'Wait', async () => {
      await new Promise((r) => setTimeout(r, 300));
      return Buffer.from('done'); // untyped with application/grpc: raw bytes
    });
    const { address } = await server.serve('tcp@127.0.0.1:0');
    const waitDefinition: grpc.ServiceDefinition = {
      wait: { path: '/Waiter/Wait', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
      watch: { path: '/grpc.health.v1.Health/Watch', requestStream: false, responseStream: true, requestSerialize: serialize(HealthCheckRequest), requestDeserialize: deserialize(HealthCheckRequest), responseSerialize: serialize(HealthCheckResponse), responseDeserialize: deserialize(HealthCheckResponse) },
    };
    const client = new (grpc.makeGenericClientConstructor(waitDefinition, 'Waiter'))(address, grpc.credentials.createInsecure());
    try {
      const statuses: string[] = [];
      const watch = (client as unknown as { watch(req: object): grpc.ClientReadableStream<{ status: string }> }).watch({ service: '' });
      watch.on('data', (m: { status: string }) => statuses.push(m.status));
      const watchEnded = new Promise<void>((resolve) => {
        watch.on('end', resolve);
        watch.on('error', () => resolve());
      });
      for (let i = 0; i < 100 && statuses.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(statuses, ['SERVING']);
      const inFlight = unary(client, 'wait', Buffer.from('go'));
      await new Promise((r) => setTimeout(r, 50));
      const closed = server.close({ timeoutMs: 5000 });
      const { reply } = await inFlight;
      assert.equal(Buffer.from(reply as unknown as Buffer).toString(), 'done');
      await watchEnded;
      assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
      await closed;
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('gRPC server streaming through typed streams', () => {
  const feedRoot = protobufjs.parse(`
    syntax = "proto3";
    package feed;
    message CountRequest { int32 n = 1; int32 failAt = 2; }
    message Item { int32 i = 1; }
  `).root;
  const CountRequest = feedRoot.lookupType('feed.CountRequest');
  const Item = feedRoot.lookupType('feed.Item');

  @service('Feed')
  class Feed {
    static finished = 0;

    /** Counts from 0 to `n - 1`; `n` over 1000 means "until cancelled". */
    @method({ stream: 'server', requestType: CountRequest, replyType: Item })
    async *count(args: { n: number; failAt: number }, ctx: CallContext): AsyncGenerator<{ i: number }> {
      try {
        for (let i = 0; i < args.n && !ctx.signal.aborted; i++) {
          if (args.failAt === i + 1) throw new NotFoundError(`item ${i} is gone`);
          yield { i };
          if (args.n > 1000) await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        Feed.finished++;
      }
    }

    @method({ stream: 'bidi' })
    async *chat(input: AsyncIterable<string>): AsyncGenerator<string> {
      for await (const line of input) yield line;
    }
  }
  class NotFoundError extends Error {
    readonly code = grpc.status.NOT_FOUND;
  }

  const json = { serialize: (v: object): Buffer => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer): unknown => JSON.parse(b.toString()) };
  const feedDefinition: grpc.ServiceDefinition = {
    count: { path: '/feed.Feed/Count', requestStream: false, responseStream: true, requestSerialize: serialize(CountRequest), requestDeserialize: deserialize(CountRequest), responseSerialize: serialize(Item), responseDeserialize: deserialize(Item) },
    chat: { path: '/Feed/Chat', requestStream: true, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  };
  let server: Server;
  let client: grpc.Client & { count(args: object, options?: grpc.CallOptions): grpc.ClientReadableStream<unknown>; chat(): grpc.ClientDuplexStream<unknown, unknown> };

  before(async () => {
    server = new Server({ logger: silentLogger });
    server.register(Feed);
    const { address } = await server.serve('tcp@127.0.0.1:0');
    client = new (grpc.makeGenericClientConstructor(feedDefinition, 'Feed'))(address, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  after(async () => {
    client.close();
    await server.close({ timeoutMs: 1000 });
  });

  function collect(call: grpc.ClientReadableStream<unknown>): Promise<{ items: unknown[]; error?: grpc.ServiceError }> {
    const items: unknown[] = [];
    return new Promise((resolve) => {
      call.on('data', (item: unknown) => items.push(item));
      call.on('error', (error: grpc.ServiceError) => resolve({ items, error }));
      call.on('end', () => resolve({ items }));
    });
  }

  it('streams every message the generator yields (more than one credit window), then OK', async () => {
    const { items, error } = await collect(client.count({ n: 300 }));
    assert.equal(error, undefined);
    assert.equal(items.length, 300);
    assert.deepEqual(items[299], { i: 299 });
  });

  it('delivers the messages before a failure, then its status', async () => {
    const { items, error } = await collect(client.count({ n: 10, failAt: 4 }));
    assert.deepEqual(items, [{ i: 0 }, { i: 1 }, { i: 2 }]);
    assert.equal(error?.code, grpc.status.NOT_FOUND);
    assert.match(error?.details ?? '', /item 3 is gone/);
  });

  it('stops the generator when the client cancels or the deadline passes', async () => {
    const before = Feed.finished;
    const call = client.count({ n: 1_000_000 });
    call.on('error', () => undefined); // CANCELLED, as asked
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.cancel();
    for (let i = 0; i < 100 && Feed.finished === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(Feed.finished, before + 1);
    const { error } = await collect(client.count({ n: 1_000_000 }, { deadline: Date.now() + 200 }));
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 100 && Feed.finished === before + 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(Feed.finished, before + 2);
  });

  it('answers client and bidi streaming methods UNIMPLEMENTED', async () => {
    const call = client.chat();
    const ended = collect(call);
    call.end();
    assert.equal((await ended).error?.code, grpc.status.UNIMPLEMENTED);
  });
});
