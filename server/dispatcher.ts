/**
 * Turns one request Message into at most one reply Message: finds the method, decodes the argument with the
 * request's codec, runs the handler with its CallContext and encodes what it returns (or the error it throws) in the
 * same serialize type. Unknown services and methods answer rpcx's exact error texts; the connection stays open.
 */
import { decodeWith, encodeWith, getCodec } from '../codec/codec.js';
import { SHUTTING_DOWN_TEXT, UNKNOWN_METHOD_PREFIX, UNKNOWN_SERVICE_PREFIX } from '../errors.js';
import type { Logger } from '../logger.js';
import { COMPRESS_THRESHOLD, CompressType, MetaKey, StatusType } from '../protocol/constants.js';
import { compress, decompress } from '../protocol/compression.js';
import type { Message } from '../protocol/message.js';
import { CallContext, type CallConnection } from './context.js';
import type { MethodEntry, ServiceRegistry } from './service-registry.js';

export interface DispatcherOptions {
  maxDecompressedLength: number;
  logger: Logger;
}

/** Receives the dispatcher's replies and call lifecycle. */
export interface DispatchTarget extends CallConnection {
  /** True while the server shuts down: new calls are refused (not run) with a retryable error. */
  readonly draining: boolean;
  respond(reply: Message): void;
  callStarted(): void;
  callFinished(): void;
}

export class Dispatcher {
  readonly #registry: ServiceRegistry;
  readonly #options: DispatcherOptions;

  constructor(registry: ServiceRegistry, options: DispatcherOptions) {
    this.#registry = registry;
    this.#options = options;
  }

  dispatch(request: Message, target: DispatchTarget): void {
    if (request.isResponse) return; // a reply to a server push: nothing waits for it
    if (request.heartbeat) {
      const reply = request.reply();
      reply.compressType = request.compressType;
      reply.payload = request.payload;
      target.respond(reply);
      return;
    }
    if (target.draining) return this.#fail(request, target, SHUTTING_DOWN_TEXT);
    const service = this.#registry.get(request.servicePath);
    if (!service) return this.#fail(request, target, UNKNOWN_SERVICE_PREFIX + request.servicePath);
    const entry = service.methods.get(request.serviceMethod);
    if (!entry) return this.#fail(request, target, UNKNOWN_METHOD_PREFIX + request.serviceMethod);

    let args: unknown;
    try {
      const payload = decompress(request.compressType, request.payload, this.#options.maxDecompressedLength);
      args = decodeWith(getCodec(request.serializeType), payload, entry.requestType);
    } catch (error) {
      return this.#fail(request, target, messageOf(error));
    }

    const ctx = new CallContext(request, target);
    target.callStarted();
    let result: unknown;
    try {
      result = entry.handler(args, ctx);
    } catch (error) {
      this.#finish(ctx, target);
      return this.#fail(request, target, messageOf(error));
    }
    if (result instanceof Promise) {
      result.then(
        (value) => {
          this.#finish(ctx, target);
          this.#succeed(request, target, entry, ctx, value);
        },
        (error) => {
          this.#finish(ctx, target);
          this.#fail(request, target, messageOf(error), ctx);
        },
      );
    } else {
      this.#finish(ctx, target);
      this.#succeed(request, target, entry, ctx, result);
    }
  }

  #finish(ctx: CallContext, target: DispatchTarget): void {
    ctx.finish();
    target.callFinished();
  }

  #succeed(request: Message, target: DispatchTarget, entry: MethodEntry, ctx: CallContext, value: unknown): void {
    if (request.oneway) return;
    const reply = request.reply();
    let payload: Uint8Array;
    try {
      payload = encodeWith(getCodec(request.serializeType), value, entry.replyType);
    } catch (error) {
      return this.#fail(request, target, messageOf(error), ctx);
    }
    // As rpcx: answer compressed only when the request was, and only past the threshold.
    if (request.compressType !== CompressType.None && payload.length > COMPRESS_THRESHOLD) {
      payload = compress(request.compressType, payload);
      reply.compressType = request.compressType;
    }
    reply.payload = payload;
    const metadata = ctx.takeResponseMetadata();
    if (metadata) reply.metadata = metadata;
    target.respond(reply);
  }

  #fail(request: Message, target: DispatchTarget, text: string, ctx?: CallContext): void {
    if (request.oneway) {
      this.#options.logger.debug('oneway call failed', { service: request.servicePath, method: request.serviceMethod, error: text });
      return;
    }
    const reply = request.reply();
    reply.status = StatusType.Error;
    const metadata = ctx?.takeResponseMetadata() ?? {};
    metadata[MetaKey.Error] = text;
    reply.metadata = metadata;
    target.respond(reply);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
