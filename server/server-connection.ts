/**
 * One accepted connection: bytes in through the FrameParser, requests to the Dispatcher, replies out through the
 * batching FrameWriter. A protocol error closes this connection only.
 */
import { getCodec, encodeWith } from '../codec/codec.js';
import { ProtocolError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MessageType, SerializeType } from '../protocol/constants.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { Message } from '../protocol/message.js';
import type { Conn } from '../transport/transport.js';
import { CallTracker } from './call-tracker.js';
import type { CallContext, PushOptions } from './context.js';
import type { DispatchTarget, Dispatcher } from './dispatcher.js';
import type { ConnectionInfo, PluginContainer } from './plugins.js';

export interface ServerConnectionOptions {
  maxFrameLength: number;
  logger: Logger;
  /** Plugins whose preReadRequest hook runs per received chunk. */
  plugins?: PluginContainer;
  /** Bytes already read from the connection (by the protocol sniffer), handled before anything else. */
  head?: Uint8Array;
}

let nextId = 1;

/** Shared by every connection id (binary and HTTP), so /connections lists unique ids. */
export function nextConnectionId(): number {
  return nextId++;
}

export class ServerConnection implements DispatchTarget, ConnectionInfo {
  readonly id = nextConnectionId();
  readonly protocol = 'rpcx';
  readonly conn: Conn;
  readonly openedAt = Date.now();
  /** Requests received on this connection. */
  requests = 0;
  readonly #dispatcher: Dispatcher;
  readonly #parser: FrameParser;
  readonly #writer: FrameWriter;
  readonly #logger: Logger;
  // The idle wake-up waits a microtask so the last call's reply is queued first (it is written right after).
  readonly #calls = new CallTracker(queueMicrotask);
  #closing = false;
  #pushSeq = 0;
  /** performance.now() when the chunk being parsed arrived. */
  #receivedAt = 0;
  /** Set when the server starts shutting down: new requests are refused, in-flight ones finish. */
  draining = false;

  constructor(conn: Conn, dispatcher: Dispatcher, options: ServerConnectionOptions, onClose: (connection: ServerConnection, error?: Error) => void) {
    this.conn = conn;
    this.#dispatcher = dispatcher;
    this.#logger = options.logger;
    this.#writer = new FrameWriter((bytes) => conn.write(bytes));
    this.#parser = new FrameParser((message) => {
      if (this.#closing) return; // refused (auth) or closing: read no further requests
      this.requests++;
      this.#dispatcher.dispatch(message, this, this.#receivedAt);
    }, options.maxFrameLength);
    const plugins = options.plugins;
    const onChunk = (chunk: Uint8Array): void => {
      try {
        if (plugins !== undefined && plugins.preReadRequest.length !== 0) plugins.runPreReadRequest(this);
        // One clock read per chunk: every request in it starts its latency here.
        this.#receivedAt = performance.now();
        this.#parser.push(chunk);
      } catch (error) {
        const protocolError = error instanceof ProtocolError ? error : new ProtocolError(String(error));
        this.#logger.warn('closing connection on protocol error', { remote: conn.remoteAddress, code: protocolError.code, error: protocolError.message });
        conn.destroy(protocolError);
      }
    };
    conn.onData(onChunk);
    conn.onClose((error) => {
      this.#writer.close();
      this.#calls.connectionClosed();
      onClose(this, error);
    });
    if (options.head !== undefined && options.head.length > 0) onChunk(options.head);
  }

  /** Calls started and not yet answered. */
  get inFlight(): number {
    return this.#calls.inFlight;
  }

  get info(): ConnectionInfo {
    return this;
  }

  get network(): string {
    return this.conn.network;
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  get localAddress(): string {
    return this.conn.localAddress;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  respond(reply: Message): void {
    this.#writer.write(reply);
  }

  /** The auth function refused a request: send the error, then close the connection (rpcx behaviour). */
  authFailed(_text: string, reply: Message | undefined): void {
    if (reply) this.respond(reply);
    this.close();
  }

  callStarted(): void {
    this.#calls.started();
  }

  callFinished(): void {
    this.#calls.finished();
  }

  track(ctx: CallContext): void {
    this.#calls.track(ctx);
  }

  untrack(ctx: CallContext): void {
    this.#calls.untrack(ctx);
  }

  /** Sends a server-push message: a request frame with the oneway bit, which the client hands to its push handler. */
  push(servicePath: string, serviceMethod: string, value: unknown, options: PushOptions = {}): void {
    const serializeType = options.serializeType ?? (value instanceof Uint8Array ? SerializeType.None : SerializeType.MsgPack);
    const message = new Message({
      type: MessageType.Request,
      oneway: true,
      serializeType,
      // Numbered like Go rpcx's SendMessage (its clients route pushes by the request+oneway flags, not by seq).
      seq: ++this.#pushSeq,
      servicePath,
      serviceMethod,
      payload: encodeWith(getCodec(serializeType), value),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    });
    this.#writer.write(message);
  }

  /** Resolves when no call is in flight (or the connection is gone). */
  idle(): Promise<void> {
    return this.#calls.idle(this.closed);
  }

  /**
   * Resolves once no call is in flight and nothing has arrived for `quietMs` (or the connection is gone). A draining
   * server ends a connection only then: a request already on its way is answered "shutting down", so its client
   * moves to another server, instead of being lost with the connection.
   */
  async quiet(quietMs: number): Promise<void> {
    for (;;) {
      await this.idle();
      if (this.closed) return;
      const wait = this.#receivedAt + quietMs - performance.now();
      if (wait <= 0 && this.inFlight === 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(wait))).unref());
    }
  }

  /** Flushes queued replies and closes the connection gracefully. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#writer.flush();
    this.conn.end();
  }

  destroy(error?: Error): void {
    this.conn.destroy(error);
  }
}
