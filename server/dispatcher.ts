/**
 * Turns one request Message into at most one reply Message: finds the method, decodes the argument with the
 * request's codec, runs the handler with its CallContext and encodes what it returns (or the error it throws) in the
 * same serialize type. Unknown services and methods answer rpcx's exact error texts; the connection stays open.
 *
 * Every protocol goes through here (binary rpcx, the HTTP gateway, JSON-RPC), so all of them get the same services,
 * plugins, auth, rate limit, statistics and tracing. In order: postReadRequest plugins (rate limit) → auth → lookup
 * and decode → preCall → handler → postCall → encode → preWriteResponse → respond → postWriteResponse.
 * Whatever is not configured costs one check.
 */
import { decodeWith, encodeWith, getCodec } from '../codec/codec.js';
import { AbortedError, asError, AUTH_FAILED_TEXT, messageOf, SHUTTING_DOWN_TEXT, UNKNOWN_METHOD_PREFIX, UNKNOWN_SERVICE_PREFIX } from '../errors.js';
import type { Logger } from '../logger.js';
import { COMPRESS_THRESHOLD, CompressType, MetaKey, StatusType } from '../protocol/constants.js';
import { compress, decompressAsync } from '../protocol/compression.js';
import type { Message, Metadata } from '../protocol/message.js';
import { CallContext, type CallConnection } from './context.js';
import { endObservation, runInContext, serverObserved, startObservation, type ServerCallEvent } from './observability/call-events.js';
import { isPromise, PluginContainer, type ConnectionInfo } from './plugins.js';
import type { MethodEntry, ServiceRegistry } from './service-registry.js';
import type { MethodStats, Rpcz } from './observability/stats.js';
import { StreamFrame, type StreamKind } from '../protocol/stream-frames.js';
import { DEFAULT_MAX_STREAMS_PER_CONNECTION, openStreamCount, startStream, streamFrameReceived, TOO_MANY_STREAMS_PREFIX } from './streams/stream-call.js';

/**
 * Decides whether a call may proceed. `token` is the `__AUTH` metadata (on HTTP, the `Authorization` header).
 * Return false, throw or reject to refuse: the caller gets the error text (or "rpcx: authentication failed") and,
 * on a binary connection, the connection is closed, as rpcx does; HTTP answers 401.
 */
export type AuthFunction = (token: string | undefined, request: Message, connection: ConnectionInfo) => boolean | void | Promise<boolean | void>;

export interface DispatcherOptions {
  maxDecompressedLength: number;
  /** Largest inflated/compressed ratio once past 1 MiB inflated (0 = unchecked). */
  maxInflateRatio?: number;
  logger: Logger;
  plugins?: PluginContainer;
  auth?: AuthFunction;
  /** Records finished calls for /rpcz when set. */
  rpcz?: Rpcz;
  /** Typed message streams open at once on one connection (limits.maxStreamsPerConnection). */
  maxStreamsPerConnection?: number;
}

/** Receives the dispatcher's replies and call lifecycle. */
export interface DispatchTarget extends CallConnection {
  /** True while the server shuts down: new calls are refused (not run) with a retryable error. */
  readonly draining: boolean;
  /** The connection the request came on, as plugins see it. */
  readonly info: ConnectionInfo;
  respond(reply: Message): void;
  callStarted(): void;
  callFinished(): void;
  /** The auth function refused the request; `reply` is the error reply to send (none for oneway requests). */
  authFailed(text: string, reply: Message | undefined): void;
  /** The client gave up on call `seq` (an rpcx-ts cancel heartbeat): abort its context's signal. */
  cancelCall?(seq: number): void;
  /** A oneway request failed before or while running (nothing is sent back on binary connections). */
  onewayFailed?(text: string): void;
  /** The handler (or a postCall plugin) failed with this error, just before its error reply is made (gRPC maps its code). */
  failedWith?(error: Error): void;
}

export class Dispatcher {
  readonly #registry: ServiceRegistry;
  readonly #options: DispatcherOptions;
  readonly #plugins: PluginContainer;
  readonly #auth: AuthFunction | undefined;
  readonly #rpcz: Rpcz | undefined;
  /** Whether calls are checked by an auth function. */
  get authenticates(): boolean {
    return this.#auth !== undefined;
  }
  /** Requests refused before reaching a method (auth, rate limit, plugins). */
  refused = 0;
  /** Requests for a service or method that does not exist. */
  unknown = 0;
  /**
   * Calls ended in this microtask checkpoint, waiting for their latency: one clock read at the end of the checkpoint
   * serves them all (a batch of replies produced together is timed together), instead of one read per call.
   */
  #timedStats: MethodStats[] = [];
  #timedStarts: number[] = [];
  #timingScheduled = false;
  readonly #recordLatencies = (): void => {
    const now = performance.now();
    const stats = this.#timedStats;
    const starts = this.#timedStarts;
    for (let i = 0; i < stats.length; i++) stats[i]!.observe(now - starts[i]!);
    this.#timedStats = [];
    this.#timedStarts = [];
    this.#timingScheduled = false;
  };

  /** The stream kind of a method, undefined for unary and unknown methods (the HTTP gateway asks before a call). */
  streamKindOf(service: string, method: string): StreamKind | undefined {
    return this.#registry.get(service)?.methods.get(method)?.stream;
  }

  constructor(registry: ServiceRegistry, options: DispatcherOptions) {
    this.#registry = registry;
    this.#options = options;
    this.#plugins = options.plugins ?? new PluginContainer(options.logger);
    this.#auth = options.auth;
    this.#rpcz = options.rpcz;
  }

  /**
   * Handles one request. `receivedAt` (performance.now() when its bytes arrived) starts the latency clock; binary
   * connections read the clock once per received chunk rather than once per call.
   */
  dispatch(request: Message, target: DispatchTarget, receivedAt = performance.now()): void {
    if (request.isResponse) return; // a reply to a server push: nothing waits for it
    if (request.heartbeat) {
      const cancelled = request.metadata[MetaKey.Cancel];
      if (cancelled !== undefined) return target.cancelCall?.(Number(cancelled));
      const reply = request.reply();
      reply.compressType = request.compressType;
      reply.payload = request.payload;
      this.#respond(request, target, reply);
      return;
    }
    if (request.oneway) {
      // Frames of an open typed stream belong to it, not to a new call (the open request was authenticated).
      const streamFrame = request.metadata[MetaKey.Stream];
      if (streamFrame !== undefined) return streamFrameReceived(request, target, streamFrame);
    }
    const plugins = this.#plugins;
    if (plugins.postReadRequest.length !== 0) {
      const refusal = plugins.runPostReadRequest(request, target.info);
      if (isPromise(refusal)) {
        void refusal.then((text) => this.#afterRead(request, target, receivedAt, text));
        return;
      }
      if (refusal !== undefined) return this.#afterRead(request, target, receivedAt, refusal);
    }
    this.#afterRead(request, target, receivedAt, undefined);
  }

  #afterRead(request: Message, target: DispatchTarget, receivedAt: number, refusal: string | undefined): void {
    if (refusal !== undefined) {
      this.refused++;
      return this.#fail(request, target, refusal);
    }
    if (this.#auth !== undefined) return this.#authenticate(this.#auth, request, target, receivedAt);
    this.#call(request, target, receivedAt);
  }

  #authenticate(auth: AuthFunction, request: Message, target: DispatchTarget, receivedAt: number): void {
    let verdict: boolean | void | Promise<boolean | void>;
    try {
      verdict = auth(request.metadata[MetaKey.Auth], request, target.info);
    } catch (error) {
      return this.#authFailed(request, target, messageOf(error) || AUTH_FAILED_TEXT);
    }
    if (verdict instanceof Promise) {
      verdict.then(
        (ok) => (ok === false ? this.#authFailed(request, target, AUTH_FAILED_TEXT) : this.#call(request, target, receivedAt)),
        (error: unknown) => this.#authFailed(request, target, messageOf(error) || AUTH_FAILED_TEXT),
      );
      return;
    }
    if (verdict === false) return this.#authFailed(request, target, AUTH_FAILED_TEXT);
    this.#call(request, target, receivedAt);
  }

  #authFailed(request: Message, target: DispatchTarget, text: string): void {
    this.refused++;
    this.#options.logger.debug('auth failed', { remote: target.remoteAddress, service: request.servicePath, method: request.serviceMethod, error: text });
    const reply = request.oneway ? undefined : errorReply(request, text);
    const plugins = this.#plugins;
    const send = (final: Message | undefined): void => {
      target.authFailed(text, final);
      if (final && plugins.postWriteResponse.length !== 0) plugins.runPostWriteResponse(request, final, target.info);
    };
    if (reply === undefined || plugins.preWriteResponse.length === 0) return send(reply);
    const failed = plugins.runPreWriteResponse(request, reply, target.info);
    if (isPromise(failed)) void failed.then((other) => send(other === undefined ? reply : errorReply(request, other)));
    else send(failed === undefined ? reply : errorReply(request, failed));
  }

  #call(request: Message, target: DispatchTarget, receivedAt: number): void {
    if (target.draining) return this.#fail(request, target, SHUTTING_DOWN_TEXT);
    const service = this.#registry.get(request.servicePath);
    if (!service) {
      this.unknown++;
      return this.#fail(request, target, UNKNOWN_SERVICE_PREFIX + request.servicePath);
    }
    const entry = service.methods.get(request.serviceMethod);
    if (!entry) {
      this.unknown++;
      return this.#fail(request, target, UNKNOWN_METHOD_PREFIX + request.serviceMethod);
    }

    if (request.compressType !== CompressType.None) {
      // Inflated off the event loop (zlib's thread pool, streamed, capped as it goes). Inflating counts as running:
      // it is bounded by the per-connection call limit and waited for on close.
      target.callStarted();
      const limits = { maxLength: this.#options.maxDecompressedLength, maxRatio: this.#options.maxInflateRatio ?? 0 };
      decompressAsync(request.compressType, request.payload, limits).then(
        (payload) => this.#decode(request, target, entry, receivedAt, payload, true),
        (error: unknown) => {
          target.callFinished();
          entry.stats.refused();
          this.#fail(request, target, messageOf(error));
        },
      );
      return;
    }
    this.#decode(request, target, entry, receivedAt, request.payload, false);
  }

  /** `started`: callStarted() already ran (while the payload inflated). */
  #decode(request: Message, target: DispatchTarget, entry: MethodEntry, receivedAt: number, payload: Uint8Array, started: boolean): void {
    let args: unknown;
    try {
      args = decodeWith(getCodec(request.serializeType), payload, entry.requestType);
    } catch (error) {
      if (started) target.callFinished();
      entry.stats.refused();
      return this.#fail(request, target, messageOf(error));
    }
    if (entry.stream !== undefined || request.metadata[MetaKey.Stream] !== undefined) return this.#openStream(request, target, entry, receivedAt, args, started);

    const ctx = new CallContext(request, target);
    ctx.startedAt = receivedAt;
    entry.stats.started();
    if (!started) target.callStarted();
    this.#observe(request, target, entry, ctx, receivedAt);
    const plugins = this.#plugins;
    if (plugins.preCall.length !== 0) {
      let checked: unknown;
      try {
        checked = plugins.runPreCall(ctx, args);
      } catch (error) {
        return this.#complete(request, target, entry, ctx, args, undefined, asError(error));
      }
      if (isPromise(checked)) {
        // An async preCall: the handler runs only once it has finished, with the arguments it settled on.
        checked.then(
          (ready) => this.#invoke(request, target, entry, ctx, ready),
          (error: unknown) => this.#complete(request, target, entry, ctx, args, undefined, asError(error)),
        );
        return;
      }
      args = checked;
    }
    this.#invoke(request, target, entry, ctx, args);
  }

  /** Starts the call's observation (tracing span, diagnostics channels, rpcz) when anyone watches. */
  #observe(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, receivedAt: number): void {
    if (this.#rpcz === undefined && !serverObserved(receivedAt)) return;
    const event: ServerCallEvent = {
      service: entry.service,
      method: entry.method,
      protocol: target.protocol ?? 'rpcx',
      network: target.network,
      remoteAddress: target.remoteAddress,
      seq: request.seq,
      metadata: request.metadata,
    };
    if (ctx.stream !== undefined) event.stream = ctx.stream.kind;
    ctx.observation = startObservation(event, request.metadata);
  }

  #invoke(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, args: unknown): void {
    let result: unknown;
    try {
      const traceContext = ctx.observation?.context;
      result = traceContext === undefined ? entry.handler(args, ctx) : runInContext(traceContext, () => entry.handler(args, ctx));
    } catch (error) {
      return this.#complete(request, target, entry, ctx, args, undefined, asError(error));
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.#complete(request, target, entry, ctx, args, value, undefined),
        (error: unknown) => this.#complete(request, target, entry, ctx, args, undefined, asError(error)),
      );
    } else {
      this.#complete(request, target, entry, ctx, args, result, undefined);
    }
  }

  /**
   * A typed message stream (docs/streams.md). rpcx-ts clients open them, and the HTTP gateway opens server streams
   * (as newline-delimited JSON); anyone else calling a streaming method (a Go client, JSON-RPC) gets a clear error
   * reply at once.
   */
  #openStream(request: Message, target: DispatchTarget, entry: MethodEntry, receivedAt: number, args: unknown, started: boolean): void {
    // A compressed open was counted as running while it inflated: the stream takes that count over.
    const refuse = (text: string): void => {
      if (started) target.callFinished();
      this.#fail(request, target, text);
    };
    const name = `${entry.service}.${entry.method}`;
    if (entry.stream === undefined) return refuse(`rpcx: ${name} is not a streaming method`);
    const protocol = target.protocol ?? 'rpcx';
    // rpcx-ts clients open every kind on rpcx connections; the HTTP gateway (as newline-delimited JSON,
    // server/http/gateway-stream.ts) and the gRPC front end (server/grpc/) open server streams for their callers.
    const opens = protocol === 'rpcx' || ((protocol === 'http' || protocol === 'grpc') && entry.stream === 'server');
    if (request.metadata[MetaKey.Stream] !== StreamFrame.Open || request.oneway || !opens) return refuse(streamingRefusal(name, entry.stream, protocol));
    const limit = this.#options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION;
    if (openStreamCount(target) >= limit) {
      this.refused++;
      return refuse(`${TOO_MANY_STREAMS_PREFIX}${limit})`);
    }
    const ctx = new CallContext(request, target);
    ctx.startedAt = receivedAt;
    ctx.stream = { kind: entry.stream, messagesSent: 0, messagesReceived: 0 };
    entry.stats.started();
    if (!started) target.callStarted();
    this.#observe(request, target, entry, ctx, receivedAt);
    // One call from open to end: preCall before the method starts (it may replace a server stream's argument or
    // refuse the stream), postCall once the stream has ended (with a client stream's reply and the message counts).
    const ended = (error: Error | undefined, reply: unknown, refusal?: boolean): void => this.#streamEnded(request, target, entry, ctx, args, reply, error, refusal === true);
    const begin = (ready: unknown): void => {
      args = ready;
      const traceContext = ctx.observation?.context;
      const limits = { maxLength: this.#options.maxDecompressedLength, maxRatio: this.#options.maxInflateRatio ?? 0 };
      if (traceContext === undefined) startStream(request, target, entry, ctx, ready, limits, ended);
      else runInContext(traceContext, () => startStream(request, target, entry, ctx, ready, limits, ended));
    };
    const plugins = this.#plugins;
    if (plugins.preCall.length === 0) return begin(args);
    let checked: unknown;
    try {
      checked = plugins.runPreCall(ctx, args);
    } catch (error) {
      return ended(asError(error), undefined, true);
    }
    if (!isPromise(checked)) return begin(checked);
    checked.then(
      (ready) => (target.closed || ctx.signal.aborted ? ended(new AbortedError('rpcx: the stream ended before it started'), undefined) : begin(ready)),
      (error: unknown) => ended(asError(error), undefined, true),
    );
  }

  /** A stream is over (or was refused by preCall: then its open gets a plain error reply, as a refused call). */
  #streamEnded(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, args: unknown, reply: unknown, error: Error | undefined, refused: boolean): void {
    ctx.finish();
    target.callFinished();
    entry.stats.ended(error !== undefined);
    const durationMs = performance.now() - ctx.startedAt;
    entry.stats.observe(durationMs);
    const plugins = this.#plugins;
    // The stream's end frame is out already: postCall observes it and cannot change it.
    if (plugins.postCall.length !== 0) void plugins.runPostCall(ctx, args, reply, error);
    const text = error === undefined ? undefined : messageOf(error);
    if (ctx.observation !== undefined) this.#observed(request, target, ctx, durationMs, text, undefined);
    if (refused) this.#fail(request, target, text!, ctx);
  }

  #complete(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, args: unknown, value: unknown, error: Error | undefined): void {
    const plugins = this.#plugins;
    if (plugins.postCall.length !== 0) {
      const after = plugins.runPostCall(ctx, args, value, error);
      if (isPromise(after)) {
        void after.then((state) => this.#finish(request, target, entry, ctx, state.reply, state.error));
        return;
      }
      ({ reply: value, error } = after);
    }
    this.#finish(request, target, entry, ctx, value, error);
  }

  #finish(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, value: unknown, error: Error | undefined): void {
    ctx.finish();
    target.callFinished();
    let text: string | undefined;
    let reply: Message | undefined;
    if (error !== undefined) {
      text = messageOf(error);
      target.failedWith?.(error);
    } else if (!request.oneway) {
      try {
        reply = this.#encodeReply(request, entry, ctx, value);
      } catch (encodeError) {
        text = messageOf(encodeError);
      }
    }
    entry.stats.ended(text !== undefined);
    if (ctx.observation !== undefined) {
      // Observed calls (tracing, diagnostics channels, rpcz) need their own duration now.
      const durationMs = performance.now() - ctx.startedAt;
      entry.stats.observe(durationMs);
      this.#observed(request, target, ctx, durationMs, text, reply);
    } else {
      this.#timedStats.push(entry.stats);
      this.#timedStarts.push(ctx.startedAt);
      if (!this.#timingScheduled) {
        this.#timingScheduled = true;
        queueMicrotask(this.#recordLatencies);
      }
    }
    if (text !== undefined) return this.#fail(request, target, text, ctx);
    if (reply !== undefined) this.#respond(request, target, reply);
  }

  #observed(request: Message, target: DispatchTarget, ctx: CallContext, durationMs: number, text: string | undefined, reply: Message | undefined): void {
    const observation = ctx.observation!;
    const stream = ctx.stream;
    if (stream !== undefined) {
      observation.event.messagesSent = stream.messagesSent;
      observation.event.messagesReceived = stream.messagesReceived;
    }
    endObservation(observation, durationMs, text);
    if (this.#rpcz !== undefined) {
      const spanContext = observation.span?.spanContext();
      this.#rpcz.record({
        startedAt: observation.startedAt,
        durationMs: Math.round(durationMs * 1000) / 1000,
        service: request.servicePath,
        method: request.serviceMethod,
        protocol: target.protocol ?? 'rpcx',
        network: target.network,
        remoteAddress: target.remoteAddress,
        seq: request.seq,
        status: text === undefined ? 'ok' : 'error',
        ...(text !== undefined ? { error: text } : {}),
        requestBytes: request.payload.length,
        ...(reply ? { responseBytes: reply.payload.length } : {}),
        ...(spanContext ? { traceId: spanContext.traceId } : {}),
        ...(stream !== undefined ? { stream: stream.kind, messagesSent: stream.messagesSent, messagesReceived: stream.messagesReceived } : {}),
      });
    }
  }

  #encodeReply(request: Message, entry: MethodEntry, ctx: CallContext, value: unknown): Message {
    const reply = request.reply();
    let payload = encodeWith(getCodec(request.serializeType), value, entry.replyType);
    // As rpcx: answer compressed only when the request was, and only past the threshold.
    if (request.compressType !== CompressType.None && payload.length > COMPRESS_THRESHOLD) {
      payload = compress(request.compressType, payload);
      reply.compressType = request.compressType;
    }
    reply.payload = payload;
    const metadata = ctx.takeResponseMetadata();
    if (metadata) reply.metadata = metadata;
    return reply;
  }

  /** preWriteResponse hooks (which may change the reply, or fail the call with their error), then the write. */
  #respond(request: Message, target: DispatchTarget, reply: Message): void {
    const plugins = this.#plugins;
    if (plugins.preWriteResponse.length !== 0) {
      const failed = plugins.runPreWriteResponse(request, reply, target.info);
      if (isPromise(failed)) {
        void failed.then((text) => this.#write(request, target, text === undefined ? reply : errorReply(request, text)));
        return;
      }
      if (failed !== undefined) reply = errorReply(request, failed);
    }
    this.#write(request, target, reply);
  }

  #write(request: Message, target: DispatchTarget, reply: Message): void {
    target.respond(reply);
    if (this.#plugins.postWriteResponse.length !== 0) this.#plugins.runPostWriteResponse(request, reply, target.info);
  }

  #fail(request: Message, target: DispatchTarget, text: string, ctx?: CallContext): void {
    if (request.oneway) {
      this.#options.logger.debug('oneway call failed', { service: request.servicePath, method: request.serviceMethod, error: text });
      target.onewayFailed?.(text);
      return;
    }
    this.#respond(request, target, errorReply(request, text, ctx?.takeResponseMetadata()));
  }
}

/** What a caller that cannot open a stream is told when it calls a streaming method. */
export function streamingRefusal(name: string, kind: string, protocol: string): string {
  const head = `rpcx: ${name} is a ${kind}-streaming method; `;
  if (protocol === 'jsonrpc') return `${head}JSON-RPC cannot stream: call it with an rpcx-ts stream client${kind === 'server' ? ' or through the HTTP gateway (newline-delimited JSON)' : ''}`;
  if (protocol === 'http') {
    return kind === 'server'
      ? `${head}the HTTP gateway streams it as newline-delimited JSON only (send X-RPCX-SerializeType: 1)`
      : `${head}the HTTP gateway streams server-streaming methods only: call it with an rpcx-ts stream client`;
  }
  return `${head}call it with an rpcx-ts stream client`;
}

/** An error reply to `request` carrying `text` in `__rpcx_error__`. */
export function errorReply(request: Message, text: string, metadata?: Metadata): Message {
  const reply = request.reply();
  reply.status = StatusType.Error;
  const meta = metadata ?? {};
  meta[MetaKey.Error] = text;
  reply.metadata = meta;
  return reply;
}
