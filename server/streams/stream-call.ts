/**
 * The server side of one rpcx-ts typed message stream (docs/streams.md): runs the streaming method, sends what it
 * yields as `msg` frames within the client's credit, feeds the client's `msg` frames to its input iterator (granting
 * credit as it consumes them), and ends the stream with one `end` frame: normal, with a client-streaming reply, or
 * with the error. The call's ctx.signal fires on the client's cancel, its deadline or the connection's end, and
 * stops the method.
 */
import { decodeWith, encodeWith, getCodec } from '../../codec/codec.js';
import { AbortedError, asError, messageOf, ProtocolError, StreamError } from '../../errors.js';
import { MetaKey, StatusType } from '../../protocol/constants.js';
import type { Message } from '../../protocol/message.js';
import { CreditGate, InboundQueue } from '../../protocol/stream-flow.js';
import { decompressAsync, type InflateLimits } from '../../protocol/compression.js';
import { CompressType } from '../../protocol/constants.js';
import { DEFAULT_STREAM_WINDOW, frameCredit, streamCompressType, StreamFrame, streamFrame } from '../../protocol/stream-frames.js';
import type { CallContext } from '../context.js';
import type { DispatchTarget } from '../dispatcher.js';
import type { MethodEntry } from '../service-registry.js';

/** Open streams per connection, by stream id (the open request's seq). */
const openStreams = new WeakMap<DispatchTarget, Map<number, StreamCall>>();

/** How many typed streams one connection may have open at once, unless the server says otherwise. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 256;
/** The start of the error text of a stream refused for that limit (followed by `<limit>)`). */
export const TOO_MANY_STREAMS_PREFIX = 'rpcx: too many open streams on this connection (limit ';

/** Streams open on `target` now. */
export function openStreamCount(target: DispatchTarget): number {
  return openStreams.get(target)?.size ?? 0;
}

/** Routes a client's stream frame (`msg`, `end`, `cancel`, `credit`) to its stream; frames of ended streams are dropped. */
export function streamFrameReceived(request: Message, target: DispatchTarget, kind: string): void {
  openStreams.get(target)?.get(request.seq)?.frame(request, kind);
}

/** How a stream ended: its error, or a client stream's reply. */
export type StreamDone = (error: Error | undefined, reply: unknown) => void;

/**
 * Starts the streaming method of `entry` for an `open` request; `done` runs once when the stream is over. `ctx.stream`,
 * when set, counts the messages.
 */
export function startStream(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, args: unknown, limits: InflateLimits, done: StreamDone): void {
  let streams = openStreams.get(target);
  if (!streams) openStreams.set(target, (streams = new Map()));
  const existing = streams.get(request.seq);
  if (existing) existing.end(new ProtocolError('rpcx: a stream was reopened with the id of an open one'));
  const call = new StreamCall(request, target, entry, ctx, limits, () => streams.delete(request.seq), done);
  streams.set(request.seq, call);
  call.start(args);
}

class StreamCall {
  readonly #request: Message;
  readonly #target: DispatchTarget;
  readonly #entry: MethodEntry;
  readonly #ctx: CallContext;
  readonly #forget: () => void;
  readonly #done: StreamDone;
  /** Messages the client lets us send. */
  readonly #credit: CreditGate;
  /** The client's messages (client and bidi streams). */
  readonly #input: InboundQueue<unknown> | undefined;
  #iterator: AsyncIterator<unknown> | undefined;
  #ended = false;
  /** The compress type of this stream's messages (the open's). */
  readonly #compressType: number;
  readonly #limits: InflateLimits;
  /** The client's messages and end still in order behind a compressed message being inflated. */
  #inflating: Promise<void> | undefined;

  constructor(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, limits: InflateLimits, forget: () => void, done: StreamDone) {
    this.#request = request;
    this.#compressType = streamCompressType(request);
    this.#limits = limits;
    this.#target = target;
    this.#entry = entry;
    this.#ctx = ctx;
    this.#forget = forget;
    this.#done = done;
    this.#credit = new CreditGate(frameCredit(request, DEFAULT_STREAM_WINDOW));
    if (entry.stream !== 'server') {
      // The handler stopping early needs no frame: its end (or the error it throws) ends the stream.
      this.#input = new InboundQueue<unknown>(DEFAULT_STREAM_WINDOW, (credit) => this.#send(StreamFrame.Credit, undefined, credit), () => undefined);
    }
    // Reading the signal registers the call with its connection: a dropped connection aborts it too.
    const signal = ctx.signal;
    if (signal.aborted) queueMicrotask(() => this.end(reasonOf(signal.reason)));
    else signal.addEventListener('abort', () => this.end(reasonOf(signal.reason)), { once: true });
  }

  start(args: unknown): void {
    // Sent at once for every stream (0 for server streams): it also tells the client this server speaks streams.
    this.#send(StreamFrame.Credit, undefined, this.#input ? DEFAULT_STREAM_WINDOW : 0);
    let result: unknown;
    try {
      result = this.#entry.handler(this.#input ?? args, this.#ctx);
    } catch (error) {
      return this.end(asError(error));
    }
    if (this.#entry.stream === 'client') {
      Promise.resolve(result).then(
        (value) => this.end(undefined, value),
        (error: unknown) => this.end(asError(error)),
      );
      return;
    }
    const iterable = result as AsyncIterable<unknown> | null;
    if (iterable === null || typeof iterable !== 'object' || typeof iterable[Symbol.asyncIterator] !== 'function') {
      return this.end(new StreamError(`rpcx: ${this.#entry.service}.${this.#entry.method} must return an async iterable (write it as an async generator)`));
    }
    this.#iterator = iterable[Symbol.asyncIterator]();
    void this.#pump();
  }

  /** Sends what the method yields, one message per credit. */
  async #pump(): Promise<void> {
    const iterator = this.#iterator!;
    const codec = getCodec(this.#request.serializeType);
    try {
      while (!this.#ended) {
        await this.#credit.take();
        const next = await iterator.next();
        if (this.#ended) return;
        if (next.done) return this.end();
        this.#send(StreamFrame.Msg, encodeWith(codec, next.value, this.#entry.replyType));
        if (this.#ctx.stream) this.#ctx.stream.messagesSent++;
      }
    } catch (error) {
      this.end(asError(error));
    }
  }

  frame(request: Message, kind: string): void {
    switch (kind) {
      case StreamFrame.Msg:
        if (!this.#input) return this.end(new ProtocolError(`rpcx: ${this.#entry.service}.${this.#entry.method} takes no client messages`));
        if (request.compressType !== CompressType.None || this.#inflating) return this.#inflateInOrder(request);
        return this.#message(request.payload, request.serializeType);
      case StreamFrame.End:
        if (this.#inflating) return this.#inflateInOrder(request);
        this.#input?.end();
        return;
      case StreamFrame.Cancel:
        // Through the signal, so the handler sees why it stops.
        this.#ctx.abort(new AbortedError('stream cancelled by the client'));
        return;
      case StreamFrame.Credit:
        this.#credit.grant(frameCredit(request));
        return;
      default:
        return this.end(new ProtocolError(`rpcx: unknown stream frame ${JSON.stringify(kind)}`));
    }
  }

  #message(payload: Uint8Array, serializeType: number): void {
    let value: unknown;
    try {
      value = decodeWith(getCodec(serializeType), payload, this.#entry.requestType);
    } catch (error) {
      return this.end(asError(error));
    }
    if (!this.#input!.push(value)) return this.end(new ProtocolError('rpcx: the client sent stream messages beyond its credit'));
    if (this.#ctx.stream) this.#ctx.stream.messagesReceived++;
  }

  /**
   * A compressed message is inflated off the event loop, capped by the server's inflate limits (maxInflatedLength,
   * maxInflateRatio) as a call's payload is; the messages and the end behind it wait their turn, so order holds.
   * What waits is bounded by the credit the client was given.
   */
  #inflateInOrder(request: Message): void {
    const next = (this.#inflating ?? Promise.resolve())
      .then(async () => {
        if (this.#ended) return;
        if (request.metadata[MetaKey.Stream] === StreamFrame.End) return this.#input?.end();
        const payload = await decompressAsync(request.compressType, request.payload, this.#limits);
        if (!this.#ended) this.#message(payload, request.serializeType);
      })
      .catch((error: unknown) => this.end(asError(error)));
    this.#inflating = next;
    void next.then(() => {
      if (this.#inflating === next) this.#inflating = undefined;
    });
  }

  /** Ends the stream once: stops the method, tells the client (unless the connection is gone) and reports. */
  end(error?: Error, reply?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#forget();
    const stopped = error ?? new AbortedError('stream ended');
    this.#credit.fail(stopped);
    this.#input?.fail(stopped);
    this.#iterator?.return?.().catch(() => undefined);
    if (!this.#target.closed) {
      let payload: Uint8Array | undefined;
      if (error === undefined && this.#entry.stream === 'client') {
        try {
          payload = encodeWith(getCodec(this.#request.serializeType), reply, this.#entry.replyType);
        } catch (encodeError) {
          error = asError(encodeError);
        }
      }
      let frame: Message;
      try {
        frame = streamFrame(false, this.#request.seq, StreamFrame.End, this.#request.serializeType, payload, undefined, this.#compressType);
      } catch (compressError) {
        error = asError(compressError);
        frame = streamFrame(false, this.#request.seq, StreamFrame.End, this.#request.serializeType);
      }
      if (error !== undefined) {
        frame.status = StatusType.Error;
        frame.metadata[MetaKey.Error] = messageOf(error);
        this.#target.failedWith?.(error); // gRPC maps the error's code to its status
      }
      this.#target.respond(frame);
    }
    this.#done(error, error === undefined ? reply : undefined);
  }

  #send(kind: StreamFrame, payload?: Uint8Array, credit?: number): void {
    if (!this.#target.closed) this.#target.respond(streamFrame(false, this.#request.seq, kind, this.#request.serializeType, payload, credit, this.#compressType));
  }
}

function reasonOf(reason: unknown): Error {
  return reason instanceof Error ? reason : new AbortedError(reason);
}
