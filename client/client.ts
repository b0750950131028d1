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
import type { Limits } from '../limits.js';
import {
  COMPRESS_THRESHOLD,
  CompressType,
  DEFAULT_MAX_DECOMPRESSED_LENGTH,
  DEFAULT_MAX_FRAME_LENGTH,
  MessageType,
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
import { DeadlineQueue } from './deadline-queue.js';
import { explainMismatch, SILENT_CLOSE_HINT } from '../protocol/mismatch.js';
import { clientInstrument, type ClientCall, type ClientPlugin } from './plugins.js';
import { createProxy, type ServiceProxy } from './proxy.js';
import { PushQueue } from './push-queue.js';

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
   * Bounds on what the server can make this client hold (see limits.ts): `maxFrameLength`,
   * `maxUnfinishedBytesPerConnection`, `maxQueuedOutboundBytes` (past it replies are not read until requests drain),
   * `maxInflatedLength`. Server-only fields are ignored.
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

/** One outstanding call. */
class Pending {
  deadline = Infinity;
  settled = false;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** `Service.Method`, for the timeout message (heartbeats leave it empty). */
  name = '';
  constructor(
    readonly seq: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    readonly options: CallOptions,
    readonly withMetadata: boolean,
    /** Set for heartbeats: receives the echo instead of resolve. */
    readonly onHeartbeat?: (reply: Message) => void,
  ) {}
}

export class Client {
  readonly endpoint: string;
  readonly logger: Logger;
  readonly #conn: Conn;
  readonly #options: ClientOptions;
  readonly #serializeType: number;
  readonly #compressType: number;
  readonly #maxDecompressed: number;
  readonly #pending = new Map<number, Pending>();
  readonly #deadlines: DeadlineQueue<Pending>;
  readonly #writer: FrameWriter;
  readonly #parser: FrameParser;
  readonly #plugins: readonly ClientPlugin[];
  #seq = 0;
  #draining = false;
  /** The transport connection itself has closed (not just this client, logically). */
  #connClosed = false;
  /** Whether the server ever sent a byte: a close before that is explained (see explainSilentClose). */
  #received = false;
  #connCloseWaiters: Array<() => void> = [];
  readonly #reservedCache = new Map<number, Metadata>();
  #closedError: Error | undefined;
  #closeListeners: Array<(error?: Error) => void> = [];
  #pushHandlers: Array<(message: PushMessage) => void> = [];
  #pushQueue: PushQueue<PushMessage> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
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
    return new Client(conn, options, `${network}@${address}`);
  }

  /** Wraps an already connected Conn. Most code uses Client.connect. */
  constructor(conn: Conn, options: ClientOptions = {}, endpoint = `${conn.network}@${conn.remoteAddress}`) {
    this.endpoint = endpoint;
    this.#conn = conn;
    this.#options = options;
    this.#plugins = options.plugins ?? [];
    this.logger = options.logger ?? stderrLogger;
    this.#serializeType = options.serializeType ?? SerializeType.MsgPack;
    this.#compressType = options.compressType ?? CompressType.None;
    this.#maxDecompressed = options.limits?.maxInflatedLength ?? options.maxDecompressedLength ?? DEFAULT_MAX_DECOMPRESSED_LENGTH;
    this.#deadlines = new DeadlineQueue<Pending>((pending) => this.#settle(pending, this.#timeoutError(pending)));
    // Backpressure, as on the server: while requests queue past the high-water mark, replies are not read either.
    this.#writer = new FrameWriter(
      (bytes) => conn.write(bytes),
      () => conn.pause(),
    );
    conn.onDrain(() => conn.resume());
    const maxFrameLength = options.limits?.maxFrameLength ?? options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.#parser = new FrameParser((message) => this.#onMessage(message), {
      maxFrameLength,
      maxUnfinishedBytes: options.limits?.maxUnfinishedBytesPerConnection ?? maxFrameLength,
    });
    if (options.onPush) this.#pushHandlers.push(options.onPush);
    conn.onData((chunk) => {
      this.#received = true;
      try {
        this.#parser.push(chunk);
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
      for (const wake of this.#connCloseWaiters.splice(0)) wake();
    });
    if (options.heartbeat) this.#startHeartbeat(options.heartbeat);
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
    return this.#start(service, method, args, options, false) as Promise<T>;
  }

  /** Like call, and also hands back the response metadata. */
  invoke<T = unknown>(service: string, method: string, args: unknown, options: CallOptions = {}): Promise<CallResult<T>> {
    return this.#start(service, method, args, options, true) as Promise<CallResult<T>>;
  }

  /** Oneway: the server runs the method and sends nothing back. Resolves once the request is queued. */
  send(service: string, method: string, args: unknown, options: CallOptions = {}): Promise<void> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    try {
      const message = this.#request(service, method, args, options, this.#seq++);
      message.oneway = true;
      this.#writer.write(message);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A typed proxy: `client.proxy<Arith>('Arith').mul({ A: 1, B: 2 })`. */
  proxy<T>(service: string): ServiceProxy<T> {
    return createProxy<T>(this, service);
  }

  /** Adds a server-push handler. */
  onPush(handler: (message: PushMessage) => void): void {
    this.#pushHandlers.push(handler);
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
    else this.#closeListeners.push(listener);
  }

  /** Sends one heartbeat and resolves with its round-trip time in ms. */
  ping(timeoutMs = 5000): Promise<number> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise<number>((resolve, reject) => {
      const seq = this.#seq++;
      const started = performance.now();
      const pending = new Pending(seq, () => undefined, reject, {}, false, () => {
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
      this.#connCloseWaiters.push(resolve);
      timer = setTimeout(() => {
        this.#conn.destroy();
        resolve();
      }, 1000);
    });
    clearTimeout(timer);
  }

  // ---- internals ----

  #start(service: string, method: string, args: unknown, options: CallOptions, withMetadata: boolean): Promise<unknown> {
    if (this.#plugins.length !== 0) return this.#startObserved(service, method, args, options, withMetadata);
    const instrument = clientInstrument();
    if (instrument !== undefined && instrument.active()) return this.#startObserved(service, method, args, options, withMetadata);
    return this.#issue(service, method, args, options, withMetadata);
  }

  /** A call seen by plugins and instruments: preCall may add metadata, postCall sees how it ended. */
  #startObserved(service: string, method: string, args: unknown, options: CallOptions, withMetadata: boolean): Promise<unknown> {
    const instrument = clientInstrument();
    const hooks: ClientPlugin[] = instrument !== undefined && instrument.active() ? [instrument, ...this.#plugins] : [...this.#plugins];
    const call: ClientCall = { service, method, args, endpoint: this.endpoint, metadata: { ...options.metadata } };
    const after = (reply: unknown, error: Error | undefined): void => {
      for (const hook of hooks) {
        try {
          hook.postCall?.(call, reply, error);
        } catch (thrown) {
          this.logger.warn('postCall plugin threw', { plugin: hook.name, error: thrown });
        }
      }
    };
    try {
      for (const hook of hooks) hook.preCall?.(call);
    } catch (error) {
      const failure = asError(error);
      after(undefined, failure);
      return Promise.reject(failure);
    }
    const metadata = call.metadata;
    let hasMetadata = false;
    for (const _key in metadata) {
      hasMetadata = true;
      break;
    }
    const { metadata: _dropped, ...rest } = options;
    return this.#issue(service, method, args, hasMetadata ? { ...rest, metadata } : rest, withMetadata).then(
      (value) => {
        after(withMetadata ? (value as CallResult<unknown>).value : value, undefined);
        return value;
      },
      (error: Error) => {
        after(undefined, error);
        throw error;
      },
    );
  }

  #issue(service: string, method: string, args: unknown, options: CallOptions, withMetadata: boolean): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
    let message: Message;
    const seq = this.#seq++;
    try {
      message = this.#request(service, method, args, options, seq);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const pending = new Pending(seq, resolve, reject, options, withMetadata);
      pending.name = `${service}.${method}`;
      this.#track(pending, options.timeoutMs ?? this.#options.timeoutMs ?? 0, signal);
      this.#writer.write(message);
    });
  }

  #track(pending: Pending, timeoutMs: number, signal: AbortSignal | undefined): void {
    this.#pending.set(pending.seq, pending);
    if (timeoutMs > 0) {
      pending.deadline = Date.now() + timeoutMs;
      this.#deadlines.add(pending, timeoutMs);
    }
    if (signal) {
      pending.signal = signal;
      pending.onAbort = () => this.#settle(pending, new AbortedError(signal.reason));
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
  }

  #request(service: string, method: string, args: unknown, options: CallOptions, seq: number): Message {
    const serializeType = options.serializeType ?? this.#serializeType;
    let payload = encodeWith(getCodec(serializeType), args, options.requestType);
    const compressType = options.compressType ?? this.#compressType;
    let wireCompress: number = CompressType.None;
    if (compressType !== CompressType.None && payload.length > COMPRESS_THRESHOLD) {
      payload = compress(compressType, payload);
      wireCompress = compressType;
    }
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? 0;
    let metadata = options.metadata;
    if (this.#options.auth !== undefined || timeoutMs > 0) {
      metadata = metadata ? { ...metadata, ...this.#reservedMetadata(timeoutMs) } : this.#reservedMetadata(timeoutMs);
    }
    return new Message({
      type: MessageType.Request,
      serializeType,
      compressType: wireCompress,
      seq,
      servicePath: service,
      serviceMethod: method,
      payload,
      ...(metadata ? { metadata } : {}),
    });
  }

  /**
   * `__AUTH` and `__ServerTimeout` for a timeout value. Calls without metadata of their own share one object per
   * timeout value instead of building one per call (messages never mutate their metadata).
   */
  #reservedMetadata(timeoutMs: number): Metadata {
    let metadata = this.#reservedCache.get(timeoutMs);
    if (!metadata) {
      metadata = {};
      if (this.#options.auth !== undefined) metadata[MetaKey.Auth] = this.#options.auth;
      if (timeoutMs > 0) metadata[MetaKey.ServerTimeout] = String(timeoutMs);
      if (this.#reservedCache.size > 64) this.#reservedCache.clear();
      this.#reservedCache.set(timeoutMs, metadata);
    }
    return metadata;
  }

  #onMessage(message: Message): void {
    if (!message.isResponse) return this.#onPushMessage(message);
    const pending = this.#pending.get(message.seq);
    if (!pending) return; // late reply to a call that timed out or was aborted
    if (pending.onHeartbeat) {
      this.#settle(pending);
      pending.onHeartbeat(message);
      return;
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
    return new TimeoutError(`rpcx: call ${pending.name || 'heartbeat'} to ${this.endpoint} timed out after ${timeoutMs} ms`);
  }

  #settle(pending: Pending, error?: Error, value?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#pending.delete(pending.seq);
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  #onPushMessage(message: Message): void {
    if (this.#pushHandlers.length === 0 && !this.#pushQueue) return;
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
    for (const handler of this.#pushHandlers) {
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
    this.#deadlines.clear();
    this.#writer.close();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    // The server said it is shutting down, then closed: a graceful server answers every call it ran before closing,
    // so calls still waiting were not run and may be retried elsewhere.
    const pendingError = this.#draining && !(error instanceof ClosedError) ? new UnavailableError() : closedError;
    for (const p of pending) {
      p.settled = true;
      if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
      p.reject(pendingError);
    }
    this.#pushQueue?.end();
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener(error);
    for (const plugin of this.#plugins) {
      try {
        plugin.connClosed?.(this.#conn, this.endpoint, error);
      } catch (thrown) {
        this.logger.warn('connClosed plugin threw', { plugin: plugin.name, error: thrown });
      }
    }
  }
}

/** A heartbeat payload as the Go client sends it: msgpack int64 of the current time in nanoseconds. */
function heartbeatPayload(): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = 0xd3;
  new DataView(out.buffer).setBigInt64(1, BigInt(Date.now()) * 1_000_000n);
  return out;
}
