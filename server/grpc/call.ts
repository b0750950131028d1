/**
 * One unary gRPC call as the Dispatcher sees it: a DispatchTarget whose reply becomes the gRPC message and whose
 * errors become grpc-status codes (status.ts). The deadline from `grpc-timeout` is enforced here too: when it passes
 * before the handler answers, the client gets DEADLINE_EXCEEDED at once and the handler's signal fires; a client
 * that cancels (RST_STREAM) aborts the handler's signal as well.
 */
import { AbortedError, TimeoutError } from '../../errors.js';
import { MetaKey } from '../../protocol/constants.js';
import type { Message } from '../../protocol/message.js';
import type { CallContext } from '../context.js';
import type { DispatchTarget } from '../dispatcher.js';
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

  constructor(connection: GrpcConnection, responder: GrpcResponder, timeoutMs: number | undefined) {
    super(connection);
    this.#responder = responder;
    if (timeoutMs !== undefined) this.#timer = setTimeout(() => this.#deadline(), timeoutMs);
    responder.stream.once('close', () => this.#streamClosed());
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

  respond(reply: Message): void {
    this.#clearTimer();
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
  }

  #streamClosed(): void {
    this.#clearTimer();
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
