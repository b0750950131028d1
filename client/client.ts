/**
 * `Client`: one connection to one server, every call multiplexed on it by sequence number. Calls queued in the same
 * turn of the event loop go out in one write; replies are matched by seq in whatever order they come back.
 *
 *   const client = await Client.connect('tcp@127.0.0.1:8972');
 *   const { C } = await client.call('Arith', 'Mul', { A: 10, B: 20 });
 *   const arith = client.proxy<Arith>('Arith'); await arith.mul({ A: 10, B: 20 });
 *   await client.close();
 */
import { decodeWith, encodeWith, getCodec } from '../codec/codec.js';
import { AbortedError, asError, ClosedError, CodecError, ConnectionClosedError, ProtocolError, remoteError, RpcError, TimeoutError, UnavailableError } from '../errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import {
  COMPRESS_THRESHOLD,
  CompressType,
  DEFAULT_MAX_DECOMPRESSED_LENGTH,
  DEFAULT_MAX_FRAME_LENGTH,
  MetaKey,
  SerializeType,
} from '../protocol/constants.js';
import { compress, decompress } from '../protocol/compression.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { Message, type Metadata } from '../protocol/message.js';
import { getTransport, parseEndpoint } from '../transport/networks.js';
import type { Conn, DialOptions, TlsOptions } from '../transport/transport.js';
import type { CallOptions, CallResult } from './call-options.js';
import { CompactMap } from './compact-map.js';
import { DeadlineQueue } from './deadline-queue.js';
import { explainMismatch, SILENT_CLOSE_HINT } from '../protocol/mismatch.js';
import { activeCallHooks, clientInstrument, runPostCall, type ClientCall, type ClientPlugin } from './plugins.js';
import { createProxy, type ServiceProxy } from './proxy.js';
import { promiseFor, type Settlers } from './promise-for.js';
import { PushQueue } from './push-queue.js';
import type { SendFileOptions, TransferHost, TransferOptions, TransferResult } from './file-transfer.js';
import type { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { ClientStreamCall, failedStream, type StreamCallOptions, type StreamChannel, type StreamChannelHandler } from './message-stream.js';
import { StreamFrame, streamFrame } from '../protocol/stream-frames.js';

export interface HeartbeatOptions {
  /** How often to send a heartbeat. */
  intervalMs: number;
  /** How long to wait for its echo before declaring the connection dead (default: intervalMs). */
  timeoutMs?: number;
}

export interface ClientOptions {
  /** Default serialize type (default msgpack, as the Go client). */
  serializeType?: number;
  /** Default compress type (default none). */
  compressType?: number;
  /** Default call deadline in ms (0 = none; default 0). */
  timeoutMs?: number;
  /** Dial timeout in ms (default 1000, as rpcx). */
  connectTimeoutMs?: number;
  /** Heartbeats: a connection whose heartbeat is not echoed in time is closed and its calls fail. */
  heartbeat?: HeartbeatOptions;
  /** Auth token sent as `__AUTH` with every call. */
  auth?: string;
  /**
   * Bounds on what the server can make this client hold or wait for (see limits.ts): `maxFrameLength`,
   * `maxUnfinishedBytesPerConnection`, `maxQueuedOutboundBytes` (past it replies are not read until requests drain),
   * `maxInflatedLength`, `frameTimeoutMs` (a reply frame started but not completed in time closes the connection and
   * fails its calls with TimeoutError; default 30 s) and `idleTimeoutMs` (no call pending and nothing sent or received
   * for that long closes the connection; default 0 = never). Server-only fields are ignored.
   */
  limits?: Partial<Limits>;
  /** Same as `limits.maxFrameLength`. */
  maxFrameLength?: number;
  /** Same as `limits.maxInflatedLength`. */
  maxDecompressedLength?: number;
  tls?: TlsOptions;
  /** Network-specific dial settings (e.g. kcpKey), passed to the transport as they are. */
  transport?: Record<string, unknown>;
  logger?: Logger;
  /** Receives server-push messages (also available through `pushes()`). */
  onPush?: (message: PushMessage) => void;
  signal?: AbortSignal;
  /** Client plugins (preCall/postCall per call, connCreated/connClosed per connection). */
  plugins?: ClientPlugin[];
}

/** A message the server pushed to this client (a request frame with the oneway bit). */
export interface PushMessage {
  servicePath: string;
  serviceMethod: string;
  metadata: Metadata;
  serializeType: number;
  /** The decoded payload (bytes for serialize type 0, or when it could not be decoded). */
  value: unknown;
  payload: Uint8Array;
}

/**
 * Where a call's outcome goes. `call()` hands in its promise's resolve/reject; the XClient hands in its own per-call
 * object, so a call through it costs no second promise.
 */
export interface CallSink {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The sink of `call()` and `invoke()`: settles the promise they return. */
class PromiseSink implements CallSink, Settlers {
  resolveCall!: (value: unknown) => void;
  rejectCall!: (error: unknown) => void;
  resolve(value: unknown): void {
    this.resolveCall(value);
  }
  reject(error: Error): void {
    this.rejectCall(error);
  }
}

/** One outstanding call. */
class Pending {
  deadline = Infinity;
  settled = false;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Set for typed streams: receives every frame with this seq instead of one resolve. */
  onFrame: ((message: Message) => void) | undefined;
  /** Service and method, for the timeout message (heartbeats leave them empty). */
  service = '';
  method = '';
  constructor(
    readonly seq: number,
    readonly sink: CallSink,
    readonly options: CallOptions,
    readonly withMetadata: boolean,
    /** Set for heartbeats: receives the echo instead of the sink. */
    readonly onHeartbeat?: (reply: Message) => void,
  ) {}
}

/** `__ServerTimeout` metadata per timeout value, for clients without auth. */
const timeoutMetadataCache = new Map<number, Metadata>();

/** Shared by every client without plugins (one empty array, not one each). */
const NO_PLUGINS: readonly ClientPlugin[] = Object.freeze([]);

export class Client {
  readonly endpoint: string;
  readonly logger: Logger;
  readonly #conn: Conn;
  readonly #options: ClientOptions;
  readonly #serializeType: number;
  readonly #compressType: number;
  readonly #maxDecompressed: number;
  /** A connection used one call at a time never makes a Map for them (see CompactMap). */
  readonly #pending = new CompactMap<number, Pending>();
  /** Made on the first call with a deadline. */
  #deadlines: DeadlineQueue<Pending> | undefined;
  readonly #writer: FrameWriter;
  readonly #parser: FrameParser;
  readonly #plugins: readonly ClientPlugin[];
  #seq = 0;
  #draining = false;
  /** The transport connection itself has closed (not just this client, logically). */
  #connClosed = false;
  /** Whether the server ever sent a byte: a close before that is explained (see explainSilentClose). */
  #received = false;
  // Listener lists are made on first use: an idle pooled connection should cost as little as possible.
  #connCloseWaiters: Array<() => void> | undefined;
  /** Reserved metadata per timeout when this client sends `__AUTH` (without, the module-wide cache serves). */
  #authMetadataCache: Map<number, Metadata> | undefined;
  #closedError: Error | undefined;
  #closeListeners: Array<(error?: Error) => void> | undefined;
  #pushHandlers: Array<(message: PushMessage) => void> | undefined;
  #pushQueue: PushQueue<PushMessage> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** limits.frameTimeoutMs (0 = off). */
  readonly #frameTimeoutMs: number;
  /** Armed only while a reply frame is unfinished: idle connections hold no timer for it. */
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  /** Replies are not read while our requests wait to drain (backpressure); a stalled frame is then our doing. */
  #readPaused = false;
  /** limits.idleTimeoutMs (0 = off) and its periodic check. */
  readonly #idleTimeoutMs: number;
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  /** Chunks received so far: the idle check compares it (and #seq) with what it saw last time. */
  #chunks = 0;
  /**
   * When the chunk being parsed arrived (Date.now()), read on the first reply in it that has a deadline; 0 between
   * chunks. Replies come many to a chunk under load, so checking their deadlines costs one clock read per chunk.
   */
  #chunkArrivedAt = 0;
  /** Round-trip time of the last heartbeat, in ms (undefined until one came back). */
  rttMs: number | undefined;

  /** Dials `network@address` (no `@` means tcp) and returns a connected client. */
  static async connect(endpoint: string, options: ClientOptions = {}): Promise<Client> {
    const { network, address } = parseEndpoint(endpoint);
    const dialOptions: DialOptions = {
      ...(options.transport ?? {}),
      connectTimeoutMs: options.connectTimeoutMs ?? 1000,
      ...(options.limits?.maxQueuedOutboundBytes !== undefined ? { highWaterMark: options.limits.maxQueuedOutboundBytes } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const conn = await getTransport(network).dial(network, address, dialOptions);
    // `network@address` as given is already the canonical name: kept as it is rather than built again per connection.
    return new Client(conn, options, endpoint.includes('@') ? endpoint : `${network}@${address}`);
  }

  /** Wraps an already connected Conn. Most code uses Client.connect. */
  constructor(conn: Conn, options: ClientOptions = {}, endpoint = `${conn.network}@${conn.remoteAddress}`) {
    this.endpoint = endpoint;
    this.#conn = conn;
    this.#options = options;
    this.#plugins = options.plugins ?? NO_PLUGINS;
    this.logger = options.logger ?? stderrLogger;
    this.#serializeType = options.serializeType ?? SerializeType.MsgPack;
    this.#compressType = options.compressType ?? CompressType.None;
    this.#maxDecompressed = options.limits?.maxInflatedLength ?? options.maxDecompressedLength ?? DEFAULT_MAX_DECOMPRESSED_LENGTH;
    // Backpressure, as on the server: while requests queue past the high-water mark, replies are not read either.
    this.#writer = new FrameWriter(conn, () => {
      this.#readPaused = true;
      conn.pause();
    });
    conn.onDrain(() => {
      this.#readPaused = false;
      conn.resume();
      // We stopped reading ourselves: an unfinished reply's clock starts again, as on the server.
      this.#parser.restartClock();
    });
    this.#frameTimeoutMs = options.limits?.frameTimeoutMs ?? DEFAULT_LIMITS.frameTimeoutMs;
    this.#idleTimeoutMs = options.limits?.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs;
    const maxFrameLength = options.limits?.maxFrameLength ?? options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.#parser = new FrameParser((message) => this.#onMessage(message), {
      maxFrameLength,
      maxUnfinishedBytes: options.limits?.maxUnfinishedBytesPerConnection ?? maxFrameLength,
    });
    if (options.onPush) this.#pushHandlers = [options.onPush];
    conn.onData((chunk) => {
      this.#received = true;
      this.#chunks++;
      this.#chunkArrivedAt = 0;
      try {
        this.#parser.push(chunk);
        this.#chunkArrivedAt = 0;
        if (this.#stallTimer === undefined && this.#frameTimeoutMs > 0 && this.#parser.unfinishedSince !== 0) this.#armStallTimer(this.#frameTimeoutMs);
      } catch (error) {
        const protocolError = explainMismatch(error instanceof ProtocolError ? error : new ProtocolError(String(error)), this.endpoint);
        // Every pending call rejects with this error, so the caller sees it; a log line per connection would repeat it.
        this.logger.debug('closing client connection on protocol error', { endpoint: this.endpoint, error: protocolError.message });
        conn.destroy(protocolError);
      }
    });
    conn.onClose((error) => {
      this.#connClosed = true;
      this.#onClosed(error);
      const waiters = this.#connCloseWaiters;
      this.#connCloseWaiters = undefined;
      if (waiters) for (const wake of waiters) wake();
    });
    if (options.heartbeat) this.#startHeartbeat(options.heartbeat);
    if (this.#idleTimeoutMs > 0) this.#startIdleCheck(this.#idleTimeoutMs);
    for (const plugin of this.#plugins) {
      try {
        plugin.connCreated?.(conn, this.endpoint);
      } catch (error) {
        this.logger.warn('connCreated plugin threw', { plugin: plugin.name, error });
      }
    }
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /** True once the server said it is shutting down; new calls should go to another connection. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Calls waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  /** Calls `service.method` with `args` and resolves with the decoded reply. */
  call<T = unknown>(service: string, method: string, args: unknown, options: CallOptions = {}): Promise<T> {
    const sink = new PromiseSink();
    const promise = promiseFor<T>(sink);
    this.start(service, method, args, options, sink, false, options.timeoutMs);
    return promise;
  }

  /** Like call, and also hands back the response metadata. */
  invoke<T = unknown>(service: string, method: string, args: unknown, options: CallOptions = {}): Promise<CallResult<T>> {
    const sink = new PromiseSink();
    const promise = promiseFor<CallResult<T>>(sink);
    this.start(service, method, args, options, sink, true, options.timeoutMs);
    return promise;
  }

  /**
   * Starts a call whose outcome goes to `sink` (the value, or `{ value, metadata }` with `withMetadata`) instead of a
   * promise; `timeoutMs` overrides `options.timeoutMs` without a copy of the options. The low-level form of `call`,
   * for callers (such as the XClient) that track calls themselves. The sink may be called before this returns.
   * `deadline`: the Date.now() at which `timeoutMs` runs out, when the caller has already computed it (the XClient
   * has, for its retries), so the call does not read the clock a second time; it must be the clock's value at the
   * call's start plus `timeoutMs`, and is ignored without a positive `timeoutMs`.
   */
  start(
    service: string,
    method: string,
    args: unknown,
    options: CallOptions,
    sink: CallSink,
    withMetadata: boolean,
    timeoutMs: number | undefined,
    deadline?: number,
  ): void {
    const timeout = timeoutMs ?? this.#options.timeoutMs ?? 0;
    if (this.#plugins.length !== 0) return this.#startObserved(service, method, args, options, sink, withMetadata, timeout, deadline);
    const instrument = clientInstrument();
    if (instrument !== undefined && instrument.active()) return this.#startObserved(service, method, args, options, sink, withMetadata, timeout, deadline);
    this.#issue(service, method, args, options, sink, withMetadata, timeout, deadline);
  }

  /** Oneway: the server runs the method and sends nothing back. Resolves once the request is queued. */
  send(service: string, method: string, args: unknown, options: CallOptions = {}): Promise<void> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    try {
      const message = this.#request(service, method, args, options, this.#seq++, options.timeoutMs ?? this.#options.timeoutMs ?? 0);
      message.oneway = true;
      this.#writer.write(message);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** rpcx's SendFile: uploads a file (path or Readable) through the server's `_filetransfer` service. */
  async sendFile(source: string | Readable, meta?: Record<string, string>, options?: SendFileOptions): Promise<TransferResult> {
    const { sendFile } = await loadFileTransfer();
    return sendFile(this.#transferHost(), source, meta, options);
  }

  /** rpcx's DownloadFile: writes the server's file `name` to `target` (a Writable or a path). */
  async downloadFile(name: string, target: Writable | string, meta?: Record<string, string>, options?: TransferOptions): Promise<TransferResult> {
    const { downloadFile } = await loadFileTransfer();
    return downloadFile(this.#transferHost(), name, target, meta, options);
  }

  /** rpcx's Stream: a raw byte stream to the server's `_streamservice` handler, as a Node Duplex. */
  async stream(meta?: Record<string, string>, options?: TransferOptions): Promise<Socket> {
    const { openStream } = await loadFileTransfer();
    return openStream(this.#transferHost(), meta, options);
  }

  /** Typed server stream: `for await (const event of client.serverStream('Feed', 'Watch', args)) ...` (rpcx-ts servers). */
  serverStream<T = unknown>(service: string, method: string, args: unknown, options: StreamCallOptions = {}): AsyncIterableIterator<T> {
    try {
      return new ClientStreamCall<T>(this, 'server', service, method, args, undefined, options).messages;
    } catch (error) {
      return failedStream<T>(error);
    }
  }

  /** Typed client stream: sends every message of `input`, resolves with the method's reply (rpcx-ts servers). */
  clientStream<R = unknown>(service: string, method: string, input: AsyncIterable<unknown> | Iterable<unknown>, options: StreamCallOptions = {}): Promise<R> {
    try {
      return new ClientStreamCall<never>(this, 'client', service, method, null, input, options).reply as Promise<R>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Typed bidirectional stream: sends `input`, yields the server's messages (rpcx-ts servers). */
  bidiStream<T = unknown>(service: string, method: string, input: AsyncIterable<unknown> | Iterable<unknown>, options: StreamCallOptions = {}): AsyncIterableIterator<T> {
    try {
      return new ClientStreamCall<T>(this, 'bidi', service, method, null, input, options).messages;
    } catch (error) {
      return failedStream<T>(error);
    }
  }

  /** @internal the frames of one typed stream (client/message-stream.ts). */
  openStreamChannel(service: string, method: string, args: unknown, options: CallOptions, window: number, handler: StreamChannelHandler): StreamChannel {
    if (this.#closedError) throw this.#closedError;
    const seq = this.#seq++;
    const serializeType = options.serializeType ?? this.#serializeType;
    const compressType = options.compressType ?? CompressType.None;
    const metadata: Metadata = { ...options.metadata, [MetaKey.Stream]: StreamFrame.Open, [MetaKey.StreamCredit]: String(window) };
    const message = this.#request(service, method, args, { ...options, metadata }, seq, options.timeoutMs ?? this.#options.timeoutMs ?? 0);
    const sink: CallSink = { resolve: () => undefined, reject: (error) => handler.closed(error) };
    const pending = new Pending(seq, sink, options, false);
    pending.onFrame = (frame) => handler.frame(frame);
    this.#pending.set(seq, pending);
    this.#writer.write(message);
    return {
      send: (kind, payload, credit) => {
        if (!this.#closedError) this.#writer.write(streamFrame(true, seq, kind, serializeType, payload, credit, compressType));
      },
      close: () => this.#settle(pending),
    };
  }

  /** @internal the hooks that see a typed stream as one call (client/message-stream.ts). */
  streamCallHooks(): ClientPlugin[] | undefined {
    return activeCallHooks(this.#plugins);
  }

  /** The default compress type of this client's calls. */
  get compressType(): number {
    return this.#compressType;
  }

  /** Largest payload this client inflates (limits.maxInflatedLength). */
  get maxInflatedLength(): number {
    return this.#maxDecompressed;
  }

  /** The default serialize type of this client's calls. */
  get serializeType(): number {
    return this.#serializeType;
  }

  #transferHost(): TransferHost {
    const { network, address } = parseEndpoint(this.endpoint);
    const colon = address.lastIndexOf(':');
    const host = network === 'unix' || colon < 0 ? '127.0.0.1' : address.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    return {
      call: (service, method, args, options) => this.call(service, method, args, options),
      remoteHost: host,
      serializeType: this.#serializeType,
      tls: this.#options.tls,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 1000,
    };
  }

  /** A typed proxy: `client.proxy<Arith>('Arith').mul({ A: 1, B: 2 })`. */
  proxy<T>(service: string): ServiceProxy<T> {
    return createProxy<T>(this, service);
  }

  /** Adds a server-push handler. */
  onPush(handler: (message: PushMessage) => void): void {
    (this.#pushHandlers ??= []).push(handler);
  }

  /** Server-push messages as an async iterator (ends when the connection closes). */
  pushes(): AsyncIterableIterator<PushMessage> {
    this.#pushQueue ??= new PushQueue<PushMessage>();
    if (this.#closedError) this.#pushQueue.end();
    return this.#pushQueue;
  }

  /** Called once when the connection closes (with the error that closed it, if any). */
  onClose(listener: (error?: Error) => void): void {
    if (this.#closedError) queueMicrotask(() => listener(this.#closedError));
    // `[listener]`, not `[].push`: a pushed-to empty array reserves room for 17 (the pool adds one per connection).
    else if (this.#closeListeners === undefined) this.#closeListeners = [listener];
    else this.#closeListeners.push(listener);
  }

  /** Sends one heartbeat and resolves with its round-trip time in ms. */
  ping(timeoutMs = 5000): Promise<number> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise<number>((resolve, reject) => {
      const seq = this.#seq++;
      const started = performance.now();
      const pending = new Pending(seq, { resolve: () => undefined, reject }, {}, false, () => {
        this.rttMs = performance.now() - started;
        resolve(this.rttMs);
      });
      this.#track(pending, timeoutMs, undefined);
      this.#writer.write(
        new Message({ heartbeat: true, serializeType: SerializeType.MsgPack, seq, payload: heartbeatPayload() }),
      );
    });
  }

  /**
   * Closes the connection: calls still pending reject with ConnectionClosedError at once; queued bytes are flushed and
   * the transport gets up to a second to close gracefully (a FIN acknowledged) before it is destroyed.
   */
  async close(): Promise<void> {
    if (!this.#closedError) {
      this.#writer.flush();
      this.#onClosed(new ConnectionClosedError('rpcx: client closed'));
      this.#conn.end();
    }
    if (this.#connClosed) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      (this.#connCloseWaiters ??= []).push(resolve);
      timer = setTimeout(() => {
        this.#conn.destroy();
        resolve();
      }, 1000);
    });
    clearTimeout(timer);
  }

  // ---- internals ----

  /** A call seen by plugins and instruments: preCall may add metadata, postCall sees how it ended. */
  #startObserved(service: string, method: string, args: unknown, options: CallOptions, sink: CallSink, withMetadata: boolean, timeoutMs: number, deadline: number | undefined): void {
    const hooks = activeCallHooks(this.#plugins) ?? [];
    const call: ClientCall = { service, method, args, endpoint: this.endpoint, metadata: { ...options.metadata } };
    const after = (reply: unknown, error: Error | undefined): void => runPostCall(hooks, call, reply, error, this.logger);
    try {
      for (const hook of hooks) hook.preCall?.(call);
    } catch (error) {
      const failure = asError(error);
      after(undefined, failure);
      return sink.reject(failure);
    }
    const metadata = call.metadata;
    let hasMetadata = false;
    for (const _key in metadata) {
      hasMetadata = true;
      break;
    }
    const { metadata: _dropped, ...rest } = options;
    const observed: CallSink = {
      resolve: (value) => {
        after(withMetadata ? (value as CallResult<unknown>).value : value, undefined);
        sink.resolve(value);
      },
      reject: (error) => {
        after(undefined, error);
        sink.reject(error);
      },
    };
    this.#issue(service, method, args, hasMetadata ? { ...rest, metadata } : rest, observed, withMetadata, timeoutMs, deadline);
  }

  #issue(service: string, method: string, args: unknown, options: CallOptions, sink: CallSink, withMetadata: boolean, timeoutMs: number, deadline: number | undefined): void {
    if (this.#closedError) return sink.reject(this.#closedError);
    const signal = options.signal;
    if (signal?.aborted) return sink.reject(new AbortedError(signal.reason));
    let message: Message;
    const seq = this.#seq++;
    try {
      message = this.#request(service, method, args, options, seq, timeoutMs);
    } catch (error) {
      return sink.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const pending = new Pending(seq, sink, options, withMetadata);
    pending.service = service;
    pending.method = method;
    this.#track(pending, timeoutMs, signal, deadline);
    this.#writer.write(message);
  }

  // The closures below live in their own methods: a closure made in #track would give every call a context object
  // (V8 allocates it on entry, whichever branch runs), and the deadline queue's callback would keep the first
  // call's context, with its Pending and reply, alive for the connection's lifetime.
  #track(pending: Pending, timeoutMs: number, signal: AbortSignal | undefined, deadline?: number): void {
    this.#pending.set(pending.seq, pending);
    if (timeoutMs > 0) {
      pending.deadline = deadline ?? Date.now() + timeoutMs;
      (this.#deadlines ?? this.#makeDeadlineQueue()).add(pending, timeoutMs);
    }
    if (signal) this.#listenForAbort(pending, signal);
  }

  #makeDeadlineQueue(): DeadlineQueue<Pending> {
    const queue = new DeadlineQueue<Pending>(
      (expired) => this.#settle(expired, this.#timeoutError(expired)),
      // Nothing left to time: an idle connection does not keep the queue (the next call with a deadline makes one).
      () => {
        if (this.#deadlines === queue) this.#deadlines = undefined;
      },
    );
    this.#deadlines = queue;
    return this.#deadlines;
  }

  #listenForAbort(pending: Pending, signal: AbortSignal): void {
    pending.signal = signal;
    pending.onAbort = () => {
      this.#settle(pending, new AbortedError(signal.reason));
      this.#sendCancel(pending.seq);
    };
    signal.addEventListener('abort', pending.onAbort, { once: true });
  }

  /**
   * Tells the server the call `seq` was abandoned, so an rpcx-ts server aborts its handler's ctx.signal. Sent as a
   * heartbeat carrying `__rpcx_cancel`: a Go rpcx server skips auth for heartbeats and only echoes them (the echo
   * matches no pending call and is dropped), so Go peers are not disturbed.
   */
  #sendCancel(seq: number): void {
    if (this.#closedError) return;
    this.#writer.write(new Message({ heartbeat: true, serializeType: SerializeType.MsgPack, seq: this.#seq++, metadata: { [MetaKey.Cancel]: String(seq) } }));
  }

  #request(service: string, method: string, args: unknown, options: CallOptions, seq: number, timeoutMs: number): Message {
    const serializeType = options.serializeType ?? this.#serializeType;
    let payload = encodeWith(getCodec(serializeType), args, options.requestType);
    const compressType = options.compressType ?? this.#compressType;
    let wireCompress: number = CompressType.None;
    if (compressType !== CompressType.None && payload.length > COMPRESS_THRESHOLD) {
      payload = compress(compressType, payload);
      wireCompress = compressType;
    }
    let metadata = options.metadata;
    if (this.#options.auth !== undefined || timeoutMs > 0) {
      metadata = metadata ? { ...metadata, ...this.#reservedMetadata(timeoutMs) } : this.#reservedMetadata(timeoutMs);
    }
    // Fields set directly: no init object (or spread) per call.
    const message = new Message();
    message.serializeType = serializeType;
    message.compressType = wireCompress;
    message.seq = seq;
    message.servicePath = service;
    message.serviceMethod = method;
    message.payload = payload;
    if (metadata) message.metadata = metadata;
    return message;
  }

  /**
   * `__AUTH` and `__ServerTimeout` for a timeout value. Calls without metadata of their own share one object per
   * timeout value instead of building one per call (messages never mutate their metadata); without auth the objects
   * are shared by every client, so an idle connection holds no cache of its own.
   */
  #reservedMetadata(timeoutMs: number): Metadata {
    const auth = this.#options.auth;
    const cache = auth === undefined ? timeoutMetadataCache : (this.#authMetadataCache ??= new Map());
    let metadata = cache.get(timeoutMs);
    if (!metadata) {
      metadata = {};
      if (auth !== undefined) metadata[MetaKey.Auth] = auth;
      if (timeoutMs > 0) metadata[MetaKey.ServerTimeout] = String(timeoutMs);
      // Frozen: Message encodes a frozen metadata object once, not on every frame.
      Object.freeze(metadata);
      if (cache.size > 64) cache.clear();
      cache.set(timeoutMs, metadata);
    }
    return metadata;
  }

  #onMessage(message: Message): void {
    if (!message.isResponse) return this.#onPushMessage(message);
    const pending = this.#pending.get(message.seq);
    if (!pending) return; // late reply to a call that timed out or was aborted
    if (pending.onFrame !== undefined) return pending.onFrame(message);
    if (pending.onHeartbeat) {
      this.#settle(pending);
      pending.onHeartbeat(message);
      return;
    }
    // A reply that arrives after the call's deadline, before the deadline queue's timer ran (a busy loop delays it),
    // is still a timeout: the caller was promised an answer within timeoutMs or a TimeoutError.
    if (pending.deadline !== Infinity && (this.#chunkArrivedAt || (this.#chunkArrivedAt = Date.now())) >= pending.deadline) {
      return this.#settle(pending, this.#timeoutError(pending));
    }
    if (message.isError) {
      const error = remoteError(message.metadata[MetaKey.Error] ?? 'rpcx: unknown error');
      // The server is draining this connection: stop sending on it, so pools and XClients dial elsewhere.
      if (error instanceof UnavailableError) this.#draining = true;
      return this.#settle(pending, error);
    }
    let value: unknown;
    try {
      const payload = decompress(message.compressType, message.payload, this.#maxDecompressed);
      value = pending.options.raw ? payload : decodeWith(getCodec(message.serializeType), payload, pending.options.replyType);
    } catch (error) {
      return this.#settle(pending, error instanceof RpcError ? error : new CodecError(String(error), error));
    }
    this.#settle(pending, undefined, pending.withMetadata ? { value, metadata: message.metadata } : value);
  }

  /** Names the call, the server and the deadline, so that a timeout in a log says what was waited for. */
  #timeoutError(pending: Pending): TimeoutError {
    const timeoutMs = pending.options.timeoutMs ?? this.#options.timeoutMs ?? 0;
    return new TimeoutError(`rpcx: call ${pending.service ? `${pending.service}.${pending.method}` : 'heartbeat'} to ${this.endpoint} timed out after ${timeoutMs} ms`);
  }

  #settle(pending: Pending, error?: Error, value?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#pending.delete(pending.seq);
    if (pending.deadline !== Infinity) this.#deadlines?.settled(pending);
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    if (error) pending.sink.reject(error);
    else pending.sink.resolve(value);
  }

  #onPushMessage(message: Message): void {
    const handlers = this.#pushHandlers;
    if (handlers === undefined && !this.#pushQueue) return;
    let value: unknown = message.payload;
    try {
      const payload = decompress(message.compressType, message.payload, this.#maxDecompressed);
      value = decodeWith(getCodec(message.serializeType), payload);
    } catch (error) {
      this.logger.warn('undecodable server push', { endpoint: this.endpoint, error });
    }
    const push: PushMessage = {
      servicePath: message.servicePath,
      serviceMethod: message.serviceMethod,
      metadata: message.metadata,
      serializeType: message.serializeType,
      value,
      payload: message.payload,
    };
    for (const handler of handlers ?? []) {
      try {
        handler(push);
      } catch (error) {
        this.logger.error('server push handler threw', { error });
      }
    }
    this.#pushQueue?.push(push);
  }

  #startHeartbeat(options: HeartbeatOptions): void {
    const timeoutMs = options.timeoutMs ?? options.intervalMs;
    this.#heartbeatTimer = setInterval(() => {
      this.ping(timeoutMs).catch((error: Error) => {
        if (this.#closedError) return;
        this.logger.warn('heartbeat failed; closing connection', { endpoint: this.endpoint, error: error.message });
        this.#conn.destroy(new ConnectionClosedError(`rpcx: heartbeat to ${this.endpoint} failed: ${error.message}`, error));
      });
    }, options.intervalMs);
    this.#heartbeatTimer.unref?.();
  }

  #armStallTimer(ms: number): void {
    this.#stallTimer = setTimeout(() => this.#checkStall(), ms);
    this.#stallTimer.unref?.();
  }

  /** A reply frame started arriving and has not completed: close once it is older than frameTimeoutMs. */
  #checkStall(): void {
    this.#stallTimer = undefined;
    if (this.#closedError) return;
    const since = this.#parser.unfinishedSince;
    if (since === 0) return; // completed; the next unfinished frame arms the timer again
    const limit = this.#frameTimeoutMs;
    const elapsed = performance.now() - since;
    if (this.#readPaused || elapsed < limit) return this.#armStallTimer(this.#readPaused ? limit : limit - elapsed + 1);
    const error = new TimeoutError(
      `rpcx: ${this.endpoint} started a reply frame ${Math.round(elapsed)} ms ago and did not complete it (limits.frameTimeoutMs ${limit} ms); connection closed`,
    );
    this.logger.debug('closing client connection: reply frame stalled', { endpoint: this.endpoint, error: error.message });
    this.#conn.destroy(error);
  }

  /**
   * Closes the connection once no call is pending and nothing was sent or received for idleTimeoutMs (heartbeats
   * count), checked every quarter of it.
   */
  #startIdleCheck(idleMs: number): void {
    let seen = { chunks: this.#chunks, seq: this.#seq, at: performance.now() };
    this.#idleTimer = setInterval(
      () => {
        const now = performance.now();
        if (this.#pending.size !== 0 || this.#chunks !== seen.chunks || this.#seq !== seen.seq) {
          seen = { chunks: this.#chunks, seq: this.#seq, at: now };
          return;
        }
        if (now - seen.at < idleMs || this.#closedError) return;
        this.logger.debug('closing idle client connection', { endpoint: this.endpoint, idleMs });
        this.#conn.destroy(new ConnectionClosedError(`rpcx: connection to ${this.endpoint} closed: idle for ${idleMs} ms (limits.idleTimeoutMs)`));
      },
      Math.max(10, idleMs / 4),
    );
    this.#idleTimer.unref?.();
  }

  #onClosed(error?: Error): void {
    if (this.#closedError) return;
    const closedError =
      error instanceof ConnectionClosedError || error instanceof ClosedError
        ? error
        : new ConnectionClosedError(
            `rpcx: connection to ${this.endpoint} closed${error ? ': ' + error.message : this.#received || this.#pending.size === 0 ? '' : ': ' + SILENT_CLOSE_HINT}`,
            error,
          );
    this.#closedError = closedError;
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#idleTimer) clearInterval(this.#idleTimer);
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#deadlines?.clear();
    this.#writer.close();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    // The server said it is shutting down, then closed: a graceful server answers every call it ran before closing,
    // so calls still waiting were not run and may be retried elsewhere.
    // A stalled reply frame: the calls waiting on it timed out (TimeoutError names the limit), later calls see closed.
    const pendingError = error instanceof TimeoutError ? error : this.#draining && !(error instanceof ClosedError) ? new UnavailableError() : closedError;
    for (const p of pending) {
      p.settled = true;
      if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
      p.sink.reject(pendingError);
    }
    this.#pushQueue?.end();
    const listeners = this.#closeListeners;
    this.#closeListeners = undefined;
    if (listeners) for (const listener of listeners) listener(error);
    for (const plugin of this.#plugins) {
      try {
        plugin.connClosed?.(this.#conn, this.endpoint, error);
      } catch (thrown) {
        this.logger.warn('connClosed plugin threw', { plugin: plugin.name, error: thrown });
      }
    }
  }
}

/**
 * File transfer needs node:fs, node:net and node:tls, so it loads on first use, from a specifier a bundler does not
 * follow: a browser build of the Client (where raw TCP does not exist) stays free of Node APIs.
 */
const FILE_TRANSFER_MODULE = './file-transfer.js';
function loadFileTransfer(): Promise<typeof import('./file-transfer.js')> {
  return import(FILE_TRANSFER_MODULE) as Promise<typeof import('./file-transfer.js')>;
}

/** A heartbeat payload as the Go client sends it: msgpack int64 of the current time in nanoseconds. */
function heartbeatPayload(): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = 0xd3;
  new DataView(out.buffer).setBigInt64(1, BigInt(Date.now()) * 1_000_000n);
  return out;
}
