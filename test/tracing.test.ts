/**
 * diagnostics_channel events and OpenTelemetry spans. The tracer provider and propagator here are a small in-memory
 * implementation of the @opentelemetry/api interfaces (no SDK is installed), registered globally the usual way.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { Client, ClientChannels, Server, ServerChannels, type ClientCallEvent, type ServerCallEvent } from '../index.js';
import { silentLogger } from '../logger.js';
import { Arith } from '../examples/services/index.js';
import * as grpc from '@grpc/grpc-js';
import { httpRequest } from './helpers/http.js';

class RecordedSpan implements Span {
  readonly attributes: Attributes = {};
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  readonly #context: SpanContext;
  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    readonly parentSpanId: string | undefined,
    traceId: string,
    attributes: Attributes | undefined,
  ) {
    this.#context = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 };
    Object.assign(this.attributes, attributes);
  }
  spanContext(): SpanContext {
    return this.#context;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {
    this.ended = true;
    spans.push(this);
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(): void {}
}

const spans: RecordedSpan[] = [];

const tracer: Tracer = {
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = otelContext.active()): Span {
    const parent = trace.getSpanContext(ctx);
    return new RecordedSpan(name, options.kind ?? SpanKind.INTERNAL, parent?.spanId, parent?.traceId ?? randomBytes(16).toString('hex'), options.attributes);
  },
  startActiveSpan(): never {
    throw new Error('not used');
  },
};
const provider: TracerProvider = { getTracer: () => tracer };

/** W3C traceparent, just enough of it. */
const propagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const span = trace.getSpanContext(ctx);
    if (span) setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-01`);
  },
  extract(ctx, carrier, getter) {
    const value = getter.get(carrier, 'traceparent');
    const match = typeof value === 'string' ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(value) : null;
    if (!match) return ctx;
    return trace.setSpanContext(ctx, { traceId: match[1]!, spanId: match[2]!, traceFlags: 1, isRemote: true });
  },
  fields: () => ['traceparent'],
};

describe('diagnostics_channel', () => {
  it('publishes server and client call start/end/error events', async () => {
    const events: string[] = [];
    const subscribers: Array<[string, (message: unknown) => void]> = [
      [ServerChannels.start, (m) => events.push(`server start ${(m as ServerCallEvent).method} ${(m as ServerCallEvent).protocol}`)],
      [ServerChannels.end, (m) => events.push(`server end ${(m as ServerCallEvent).method} ${(m as ServerCallEvent).error ?? 'ok'} ${typeof (m as ServerCallEvent).durationMs}`)],
      [ServerChannels.error, (m) => events.push(`server error ${(m as ServerCallEvent).error}`)],
      [ClientChannels.start, (m) => events.push(`client start ${(m as ClientCallEvent).method}`)],
      [ClientChannels.end, (m) => events.push(`client end ${(m as ClientCallEvent).method} ${(m as ClientCallEvent).error ? 'error' : 'ok'}`)],
      [ClientChannels.error, (m) => events.push(`client error ${(m as ClientCallEvent).error?.message}`)],
    ];
    for (const [name, fn] of subscribers) diagnostics.subscribe(name, fn);
    try {
      const server = new Server({ logger: silentLogger });
      server.register(Arith);
      server.registerFunction('Probe', 'Fail', () => {
        throw new Error('nope');
      });
      const listener = await server.serve('tcp@127.0.0.1:0');
      const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
      await client.call('Arith', 'Mul', { A: 1, B: 2 });
      await assert.rejects(client.call('Probe', 'Fail', null));
      await httpRequest(`http://${listener.address}/`, { method: 'POST', headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Add' }, body: '{"A":1,"B":1}' });
      await client.close();
      await server.close();
      assert.deepEqual(events, [
        'client start Mul',
        'server start Mul rpcx',
        'server end Mul ok number',
        'client end Mul ok',
        'client start Fail',
        'server start Fail rpcx',
        'server error nope',
        'server end Fail nope number',
        'client error nope',
        'client end Fail error',
        'server start Add http',
        'server end Add ok number',
      ]);
    } finally {
      for (const [name, fn] of subscribers) diagnostics.unsubscribe(name, fn);
    }
  });
});

describe('OpenTelemetry', () => {
  before(async () => {
    assert.equal(trace.setGlobalTracerProvider(provider), true);
    assert.equal(propagation.setGlobalPropagator(propagator), true);
    // A server notices a provider registered while it runs within 200 ms (it looks for one at most that often).
    await new Promise((resolve) => setTimeout(resolve, 250));
  });
  after(() => {
    trace.disable();
    propagation.disable();
  });

  it('makes a client span and a child server span per call, with trace context carried in metadata', async () => {
    spans.length = 0;
    const server = new Server({ logger: silentLogger, rpcz: true });
    server.register(Arith);
    server.registerFunction('Probe', 'Traced', (_args, ctx) => ({ traceparent: ctx.metadata['traceparent'] ?? null, hasSpan: ctx.span !== undefined }));
    server.registerFunction('Probe', 'Fail', () => {
      throw new Error('traced failure');
    });
    const listener = await server.serve('tcp@127.0.0.1:0');
    const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });

    const seen = await client.call<{ traceparent: string; hasSpan: boolean }>('Probe', 'Traced', null);
    assert.match(seen.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(seen.hasSpan, true);
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'Probe/Traced')!;
    const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'Probe/Traced')!;
    assert.ok(serverSpan && clientSpan, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(serverSpan.spanContext().traceId, clientSpan.spanContext().traceId);
    assert.equal(serverSpan.parentSpanId, clientSpan.spanContext().spanId);
    assert.equal(serverSpan.attributes['rpc.service'], 'Probe');
    assert.equal(serverSpan.attributes['rpc.method'], 'Traced');
    assert.equal(serverSpan.attributes['rpcx.status'], 'ok');
    assert.equal(serverSpan.status.code, SpanStatusCode.OK);

    await assert.rejects(client.call('Probe', 'Fail', null));
    const failed = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'Probe/Fail')!;
    assert.equal(failed.attributes['rpcx.status'], 'error');
    assert.deepEqual(failed.status, { code: SpanStatusCode.ERROR, message: 'traced failure' });
    const failedClient = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'Probe/Fail')!;
    assert.equal(failedClient.status.code, SpanStatusCode.ERROR);

    // rpcz lists the trace id of each call.
    const rpcz = JSON.parse((await httpRequest(`http://${listener.address}/rpcz`)).text) as { calls: Array<{ method: string; traceId?: string }> };
    assert.equal(rpcz.calls.find((c) => c.method === 'Traced')!.traceId, serverSpan.spanContext().traceId);

    await client.close();
    await server.close();
  });

  it('traces a typed stream as one call: client and child server span with the stream kind and message counts; events too', async () => {
    spans.length = 0;
    const events: Array<ServerCallEvent | ClientCallEvent> = [];
    const onEnd = (m: unknown): void => void events.push(m as ServerCallEvent | ClientCallEvent);
    diagnostics.subscribe(ServerChannels.end, onEnd);
    diagnostics.subscribe(ClientChannels.end, onEnd);
    try {
      const server = new Server({ logger: silentLogger });
      server.registerFunction('Feed', 'Echo', async function* (input: unknown, ctx) {
        for await (const word of input as AsyncIterable<string>) yield `${word}:${ctx.span !== undefined}`;
      }, { stream: 'bidi' });
      const listener = await server.serve('tcp@127.0.0.1:0');
      const client = await Client.connect(`tcp@${listener.address}`, { logger: silentLogger });
      const replies: string[] = [];
      for await (const reply of client.bidiStream<string>('Feed', 'Echo', ['a', 'b', 'c'])) replies.push(reply);
      assert.deepEqual(replies, ['a:true', 'b:true', 'c:true']);
      await client.close();
      await server.close();
      const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'Feed/Echo')!;
      const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'Feed/Echo')!;
      assert.ok(serverSpan && clientSpan, `spans: ${spans.map((s) => s.name).join(', ')}`);
      assert.equal(serverSpan.parentSpanId, clientSpan.spanContext().spanId);
      assert.equal(serverSpan.attributes['rpcx.stream'], 'bidi');
      assert.equal(serverSpan.attributes['rpcx.stream.messages_sent'], 3);
      assert.equal(serverSpan.attributes['rpcx.stream.messages_received'], 3);
      assert.equal(clientSpan.attributes['rpcx.stream'], 'bidi');
      assert.equal(clientSpan.attributes['rpcx.stream.messages_sent'], 3);
      assert.equal(clientSpan.attributes['rpcx.stream.messages_received'], 3);
      assert.equal(serverSpan.status.code, SpanStatusCode.OK);
      const serverEvent = events.find((e) => 'protocol' in e && e.method === 'Echo') as ServerCallEvent;
      assert.equal(serverEvent.stream, 'bidi');
      assert.equal(serverEvent.messagesSent, 3);
      assert.equal(typeof serverEvent.durationMs, 'number');
      const clientEvent = events.find((e) => 'endpoint' in e && e.method === 'Echo') as ClientCallEvent;
      assert.equal(clientEvent.messagesReceived, 3);
    } finally {
      diagnostics.unsubscribe(ServerChannels.end, onEnd);
      diagnostics.unsubscribe(ClientChannels.end, onEnd);
    }
  });

  it('continues the trace a gRPC client sends in its traceparent header', async () => {
    spans.length = 0;
    const server = new Server({ logger: silentLogger });
    server.registerFunction('Probe', 'Traced', () => new Uint8Array([1]));
    const listener = await server.serve('tcp@127.0.0.1:0');
    const identity = (b: Buffer): Buffer => b;
    const Probe = grpc.makeGenericClientConstructor(
      { traced: { path: '/Probe/Traced', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
      'Probe',
    );
    const client = new Probe(listener.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      traced(request: Buffer, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null) => void): void;
    };
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${traceId}-${parentId}-01`);
    await new Promise<void>((resolve, reject) => client.traced(Buffer.alloc(0), metadata, (error) => (error ? reject(error) : resolve())));
    client.close();
    await server.close();
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'Probe/Traced')!;
    assert.ok(serverSpan, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(serverSpan.spanContext().traceId, traceId);
    assert.equal(serverSpan.parentSpanId, parentId);
  });
});
