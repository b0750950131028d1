/**
 * The client side of one rpcx-ts typed message stream (docs/streams.md): opens it with an `open` request, hands the
 * server's `msg` frames to an async iterator (granting credit as they are consumed), sends the caller's input as
 * `msg` frames within the server's credit, and stops on the server's `end`, the caller's break or AbortSignal, or the
 * deadline (sending `cancel` so the server stops too).
 */
import { decodeWith, encodeWith, getCodec } from '../codec/codec.js';
import { AbortedError, asError, ProtocolError, remoteError, StreamError, TimeoutError } from '../errors.js';
import { MetaKey } from '../protocol/constants.js';
import type { Message } from '../protocol/message.js';
import { CreditGate, InboundQueue } from '../protocol/stream-flow.js';
import { DEFAULT_STREAM_WINDOW, frameCredit, MAX_STREAM_WINDOW, StreamFrame, type StreamKind } from '../protocol/stream-frames.js';
import type { CallOptions } from './call-options.js';

export interface StreamCallOptions extends Pick<CallOptions, 'signal' | 'metadata' | 'serializeType' | 'requestType' | 'replyType'> {
  /** Deadline of the whole stream in ms (sent as `__ServerTimeout`); 0 or absent: none. */
  timeoutMs?: number;
  /** Messages the server may send ahead of what the caller has consumed (default 64). */
  window?: number;
}

/** The frames of one stream on a connection (implemented by Client). */
export interface StreamChannel {
  send(kind: StreamFrame, payload?: Uint8Array, credit?: number): void;
  /** Forget the stream on the connection (after its end). */
  close(): void;
}

export interface StreamChannelHandler {
  frame(message: Message): void;
  /** The connection closed before the stream ended. */
  closed(error: Error): void;
}

export interface StreamHost {
  readonly serializeType: number;
  openStreamChannel(service: string, method: string, args: unknown, options: CallOptions, window: number, handler: StreamChannelHandler): StreamChannel;
}

type Input = AsyncIterable<unknown> | Iterable<unknown>;

export class ClientStreamCall<T> {
  readonly #kind: StreamKind;
  readonly #options: StreamCallOptions;
  readonly #serializeType: number;
  readonly #messages: InboundQueue<T>;
  readonly #credit = new CreditGate(0);
  readonly #channel: StreamChannel;
  readonly #reply: Promise<unknown>;
  #resolveReply!: (value: unknown) => void;
  #rejectReply!: (error: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Date.now() at the stream's deadline, when it has one. */
  #deadline: number | undefined;
  #onAbort: (() => void) | undefined;
  #done = false;
  /** The server has sent a stream frame: it speaks rpcx-ts streams, so a `cancel` frame is safe to send. */
  #confirmed = false;
  /** Cancelled before the server confirmed: send `cancel` once it does (never to a Go server, see #cancel). */
  #cancelOnConfirm = false;

  constructor(host: StreamHost, kind: StreamKind, service: string, method: string, args: unknown, input: Input | undefined, options: StreamCallOptions) {
    this.#kind = kind;
    this.#options = options;
    this.#serializeType = options.serializeType ?? host.serializeType;
    const window = Math.min(Math.max(1, Math.floor(options.window ?? DEFAULT_STREAM_WINDOW)), MAX_STREAM_WINDOW);
    this.#messages = new InboundQueue<T>(
      window,
      (credit) => this.#channel.send(StreamFrame.Credit, undefined, credit),
      () => this.#cancel(new AbortedError('stream consumer stopped')),
    );
    this.#reply = new Promise((resolve, reject) => {
      this.#resolveReply = resolve;
      this.#rejectReply = reject;
    });
    this.#reply.catch(() => undefined);
    const signal = options.signal;
    if (signal?.aborted) throw new AbortedError(signal.reason);
    const callOptions: CallOptions = { serializeType: this.#serializeType };
    if (options.metadata) callOptions.metadata = options.metadata;
    if (options.requestType) callOptions.requestType = options.requestType;
    if (options.timeoutMs && options.timeoutMs > 0) callOptions.timeoutMs = options.timeoutMs;
    this.#channel = host.openStreamChannel(service, method, kind === 'server' ? args : null, callOptions, window, {
      frame: (message) => this.#frame(message),
      closed: (error) => this.#finish(error),
    });
    if (signal) {
      this.#onAbort = () => this.#cancel(new AbortedError(signal.reason));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (callOptions.timeoutMs !== undefined) {
      this.#deadline = Date.now() + callOptions.timeoutMs;
      this.#timer = setTimeout(() => this.#cancel(new TimeoutError('rpcx: stream deadline passed')), callOptions.timeoutMs);
    }
    if (input !== undefined) void this.#sendInput(input);
  }

  /** The server's messages (server and bidi streams). */
  get messages(): AsyncIterableIterator<T> {
    return this.#messages;
  }

  /** The reply of a client-streaming call. */
  get reply(): Promise<unknown> {
    return this.#reply;
  }

  #frame(message: Message): void {
    const kind = message.metadata[MetaKey.Stream];
    if (this.#done) {
      // Only still listening to learn whether a cancel may be sent.
      if (kind !== undefined && kind !== StreamFrame.End) this.#channel.send(StreamFrame.Cancel);
      this.#channel.close();
      return;
    }
    if (kind !== undefined) this.#confirmed = true;
    if (kind === undefined) {
      // A plain reply: the server (a Go rpcx one, say) ran the method as a unary call or refused it.
      const text = message.metadata[MetaKey.Error];
      return this.#finish(message.isError && text !== undefined ? remoteError(text) : new StreamError('rpcx: the server answered a stream with a plain reply (it does not speak rpcx-ts streams)'));
    }
    switch (kind) {
      case StreamFrame.Msg: {
        let value: T;
        try {
          value = decodeWith(getCodec(message.serializeType), message.payload, this.#options.replyType) as T;
        } catch (error) {
          return this.#cancel(asError(error));
        }
        if (this.#kind === 'client' || !this.#messages.push(value)) this.#cancel(new ProtocolError('rpcx: the server sent stream messages beyond its credit'));
        return;
      }
      case StreamFrame.Credit:
        this.#credit.grant(frameCredit(message));
        return;
      case StreamFrame.End: {
        if (message.isError) {
          // The server's copy of the deadline (`__ServerTimeout`) may end the stream before our own timer runs.
          if (this.#deadline !== undefined && Date.now() >= this.#deadline) return this.#finish(new TimeoutError('rpcx: stream deadline passed'));
          return this.#finish(remoteError(message.metadata[MetaKey.Error] ?? 'rpcx: stream failed'));
        }
        if (this.#kind === 'client') {
          try {
            this.#resolveReply(decodeWith(getCodec(message.serializeType), message.payload, this.#options.replyType));
          } catch (error) {
            return this.#finish(asError(error));
          }
        }
        return this.#finish();
      }
      default:
        return this.#cancel(new ProtocolError(`rpcx: unknown stream frame ${JSON.stringify(kind)}`));
    }
  }

  async #sendInput(input: Input): Promise<void> {
    const codec = getCodec(this.#serializeType);
    try {
      for await (const value of input) {
        await this.#credit.take();
        if (this.#done) return;
        this.#channel.send(StreamFrame.Msg, encodeWith(codec, value, this.#options.requestType));
      }
      if (!this.#done) this.#channel.send(StreamFrame.End);
    } catch (error) {
      if (!this.#done) this.#cancel(asError(error));
    }
  }

  /** Stops the stream from this side: tells the server, then ends with `error`. */
  /**
   * Stops the stream from this side. The `cancel` frame goes out only once the server has shown it speaks streams
   * (it answers every open with a `credit` frame at once): a Go rpcx server would run a stray frame as a call, and
   * with auth configured would close the connection over it.
   */
  #cancel(error: Error): void {
    if (this.#done) return;
    if (this.#confirmed) this.#channel.send(StreamFrame.Cancel);
    else this.#cancelOnConfirm = true;
    this.#finish(error);
  }

  #finish(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#cancelOnConfirm) this.#channel.close();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onAbort) this.#options.signal!.removeEventListener('abort', this.#onAbort);
    this.#credit.fail(error ?? new StreamError('rpcx: stream ended'));
    if (error) {
      this.#messages.fail(error);
      this.#rejectReply(error);
    } else {
      this.#messages.end();
      this.#rejectReply(new StreamError('rpcx: the stream ended without a reply'));
    }
  }
}

/** A stream that could not even open (closed client, aborted signal): its iterator throws `error`. */
export function failedStream<T>(error: unknown): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    next: () => Promise.reject(asError(error)),
    return: () => Promise.resolve({ value: undefined, done: true }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
