/**
 * One unary gRPC call as the Dispatcher sees it: a DispatchTarget whose reply becomes the gRPC message and whose
 * errors become grpc-status codes (status.ts). The deadline from `grpc-timeout` is enforced here too: when it passes
 * before the handler answers, the client gets DEADLINE_EXCEEDED at once and the handler's signal fires; a client
 * that cancels (RST_STREAM) aborts the handler's signal as well.
 */
import { AbortedError, TimeoutError } from '../../errors.js';
import { MetaKey } from '../../protocol/constants.js';
import type { Message } from '../../protocol/message.js';
import { streamFrame, StreamFrame } from '../../protocol/stream-frames.js';
import type { CallContext } from '../context.js';
import type { Dispatcher, DispatchTarget } from '../dispatcher.js';
import { FrontCallTarget } from '../front-connection.js';
import type { GrpcConnection } from './connection.js';
import type { GrpcResponder } from './responder.js';
import { GrpcStatus, statusOfError, statusOfText } from './status.js';

const DEADLINE_TEXT = 'grpc: the deadline passed before the call finished';

export class GrpcCall extends FrontCallTarget implements DispatchTarget {
  readonly protocol = 'grpc';
  readonly #responder: GrpcResponder;
  #ctx: CallContext | undefined;
  #error: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Set for a server-streaming method: the typed stream (docs/streams.md) this call drives as its client. */
  #stream: { dispatcher: Dispatcher; seq: number; serializeType: number } | undefined;

  constructor(connection: GrpcConnection, responder: GrpcResponder, timeoutMs: number | undefined) {
    super(connection);
    this.#responder = responder;
    if (timeoutMs !== undefined) this.#timer = setTimeout(() => this.#deadline(), timeoutMs);
    // A stream closes once: 'on' spares the wrapper once() would allocate per call.
    responder.stream.on('close', () => this.#streamClosed());
  }

  override get closed(): boolean {
    return this.#responder.stream.closed;
  }

  override track(ctx: CallContext): void {
    this.#ctx = ctx;
    super.track(ctx);
  }
  override untrack(ctx: CallContext): void {
    this.#ctx = undefined;
    super.untrack(ctx);
  }
  failedWith(error: Error): void {
    this.#error = error;
  }

  /**
   * The call is a server-streaming method, opened as a typed stream with id `seq`: its `msg` frames become gRPC
   * messages, each handing one credit back once HTTP/2 has taken it (so a slow gRPC reader pauses the generator), and
   * its `end` frame the status. A client that cancels, or a deadline that passes, cancels the stream.
   */
  openStream(dispatcher: Dispatcher, seq: number, serializeType: number): void {
    this.#stream = { dispatcher, seq, serializeType };
  }

  respond(reply: Message): void {
    const frame = this.#stream === undefined ? undefined : reply.metadata[MetaKey.Stream];
    if (frame === StreamFrame.Msg) {
      // One credit back per message HTTP/2 takes: a gRPC reader that stops reading stops the generator.
      if (this.#responder.send(reply.payload)) this.#toStream(StreamFrame.Credit, 1);
      else this.#responder.stream.once('drain', () => this.#toStream(StreamFrame.Credit, 1));
      return;
    }
    if (frame === StreamFrame.Credit) return; // credit for messages from the client: a server stream takes none
    this.#clearTimer();
    if (frame === StreamFrame.End && !reply.isError) {
      this.#responder.finish(GrpcStatus.OK);
      return;
    }
    if (!reply.isError) {
      this.#responder.unary(reply.payload, reply.metadata);
      return;
    }
    const text = reply.metadata[MetaKey.Error] ?? 'rpcx: unknown error';
    const code = this.#error !== undefined && this.#error.message === text ? statusOfError(this.#error) : statusOfText(text);
    this.#responder.finish(code, text, reply.metadata);
  }

  authFailed(text: string): void {
    this.#clearTimer();
    this.#responder.finish(GrpcStatus.UNAUTHENTICATED, text);
  }

  /** The request never reached the dispatcher (bad frame, too large, ...). */
  refuse(code: (typeof GrpcStatus)[keyof typeof GrpcStatus], text: string): void {
    this.#clearTimer();
    this.#responder.finish(code, text);
  }

  #deadline(): void {
    this.#timer = undefined;
    this.#responder.finish(GrpcStatus.DEADLINE_EXCEEDED, DEADLINE_TEXT);
    this.#ctx?.abort(new TimeoutError(DEADLINE_TEXT));
    this.#toStream(StreamFrame.Cancel);
  }

  /** A client frame into the typed stream this call drives. */
  #toStream(kind: StreamFrame, credit?: number): void {
    const stream = this.#stream;
    if (stream === undefined || (kind === StreamFrame.Credit && this.#responder.done)) return;
    stream.dispatcher.dispatch(streamFrame(true, stream.seq, kind, stream.serializeType, undefined, credit), this);
  }

  #streamClosed(): void {
    this.#clearTimer();
    // A stream that already ended drops the cancel; one still running (the client went away) stops its generator.
    this.#toStream(StreamFrame.Cancel);
    // Closed before the answer went out: the client cancelled or the connection dropped.
    if (this.#ctx !== undefined && !this.#responder.stream.headersSent) this.#ctx.abort(new AbortedError('grpc: the client cancelled the call'));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
