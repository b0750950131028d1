/**
 * What a handler knows about its call: request metadata, writable response metadata, the peer, the auth token and
 * an AbortSignal that fires at the client's deadline (`__ServerTimeout`) or when the connection drops. The signal and
 * the response metadata are made on first use, so a handler that ignores them costs nothing for them.
 */
import { AbortedError, TimeoutError } from '../errors.js';
import { MetaKey } from '../protocol/constants.js';
import type { Message, Metadata } from '../protocol/message.js';
import type { Span } from '@opentelemetry/api';
import type { Observation } from './observability/call-events.js';
import type { StreamKind } from '../protocol/stream-frames.js';

/** The connection-side view a context needs; implemented by ServerConnection. */
export interface CallConnection {
  readonly network: string;
  /** `rpcx` (binary), `http` (the HTTP gateway) or `jsonrpc`; rpcx when absent. */
  readonly protocol?: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly closed: boolean;
  /** Sends a server-push message (request + oneway) to this connection's client. */
  push(servicePath: string, serviceMethod: string, value: unknown, options?: PushOptions): void;
  /** Registers a context whose signal must fire if the connection drops. */
  track(ctx: CallContext): void;
  untrack(ctx: CallContext): void;
}

export interface StreamCounts {
  readonly kind: StreamKind;
  messagesSent: number;
  messagesReceived: number;
}

export interface PushOptions {
  metadata?: Metadata;
  serializeType?: number;
}

export class CallContext {
  readonly request: Message;
  readonly connection: CallConnection;
  /** undefined: `__ServerTimeout` not read yet (most handlers never ask); null: the client sent no deadline. */
  #deadline: number | null | undefined;
  #responseMetadata: Metadata | undefined;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #done = false;
  /** @internal performance.now() when the request arrived (latency is measured from here). */
  startedAt = 0;
  /** @internal set when the call is traced or published on diagnostics channels. */
  observation: Observation | undefined;
  /**
   * Set when the call is a typed message stream (docs/streams.md): its kind and the messages it has sent and
   * received so far. Plugins' postCall hooks and the call events see the final counts.
   */
  stream: StreamCounts | undefined;

  constructor(request: Message, connection: CallConnection) {
    this.request = request;
    this.connection = connection;
  }

  /**
   * Milliseconds since the epoch when the client stops waiting, or undefined when it sent no deadline. Read from
   * `__ServerTimeout` on first use, counted from when the request arrived: parsing it (and reading the clock) for
   * every call cost a measurable share of a small call's server time, and most handlers never look.
   */
  get deadline(): number | undefined {
    if (this.#deadline === undefined) {
      const timeout = this.request.metadata[MetaKey.ServerTimeout];
      const ms = timeout === undefined ? NaN : Number(timeout);
      if (ms > 0) {
        const now = Date.now();
        // Whole milliseconds (the resolution of __ServerTimeout) the request already waited since it arrived: a
        // handler asking late still stops when the client does, and one asking at once gets exactly the timeout.
        const elapsed = this.startedAt > 0 ? Math.max(0, Math.floor(performance.now() - this.startedAt)) : 0;
        this.#deadline = now - elapsed + ms;
      } else this.#deadline = null;
    }
    return this.#deadline ?? undefined;
  }

  get service(): string {
    return this.request.servicePath;
  }

  get method(): string {
    return this.request.serviceMethod;
  }

  /** Request metadata (read-only view of what the client sent). */
  get metadata(): Readonly<Metadata> {
    return this.request.metadata;
  }

  /** The auth token the client sent in `__AUTH`. */
  get auth(): string | undefined {
    return this.request.metadata[MetaKey.Auth];
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  get network(): string {
    return this.connection.network;
  }

  /** How the call arrived: `rpcx` (binary), `http` (gateway) or `jsonrpc`. */
  get protocol(): string {
    return this.connection.protocol ?? 'rpcx';
  }

  /** The OpenTelemetry server span of this call, when a tracer provider is registered. */
  get span(): Span | undefined {
    return this.observation?.span;
  }

  get serializeType(): number {
    return this.request.serializeType;
  }

  /** Metadata to send back with the reply. */
  get responseMetadata(): Metadata {
    this.#responseMetadata ??= {};
    return this.#responseMetadata;
  }

  /** @internal whether the handler set any response metadata. */
  takeResponseMetadata(): Metadata | undefined {
    return this.#responseMetadata;
  }

  /** Fires at the client's deadline or when the connection closes. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#done) return controller.signal;
      if (this.connection.closed) {
        controller.abort(new AbortedError('connection closed'));
        return controller.signal;
      }
      this.connection.track(this);
      const deadline = this.deadline;
      if (deadline !== undefined) {
        const left = deadline - Date.now();
        if (left <= 0) controller.abort(new TimeoutError('rpcx: the client deadline passed'));
        else this.#timer = setTimeout(() => controller.abort(new TimeoutError('rpcx: the client deadline passed')), left);
      }
    }
    return this.#controller.signal;
  }

  /** @internal the connection dropped. */
  abort(reason: Error): void {
    this.#controller?.abort(reason);
  }

  /** @internal the call finished: release the timer and tracking. */
  finish(): void {
    this.#done = true;
    if (this.#controller) {
      if (this.#timer) clearTimeout(this.#timer);
      this.connection.untrack(this);
    }
  }
}
