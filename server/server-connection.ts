/**
 * One accepted connection: bytes in through the FrameParser, requests to the Dispatcher, replies out through the
 * batching FrameWriter. A protocol error closes this connection only.
 *
 * Backpressure: the connection is not read while its queued replies are past the high-water mark (until the Conn
 * drains) or while it runs `maxConcurrentCallsPerConnection` calls (until one finishes), so a peer that sends
 * requests and never reads the replies costs a bounded amount of memory; the network's flow control slows it down.
 */
import { getCodec, encodeWith } from '../codec/codec.js';
import { CONNECTION_CLOSING_TEXT, LimitExceededError, ProtocolError } from '../errors.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../logger.js';
import { MessageType, SerializeType } from '../protocol/constants.js';
import { FrameParser, type ByteBudget } from '../protocol/frame-parser.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { Message } from '../protocol/message.js';
import type { Conn } from '../transport/transport.js';
import { CallTracker } from './call-tracker.js';
import { ConnectionBase } from './connection-base.js';
import type { CallContext, PushOptions } from './context.js';
import { errorReply, type DispatchTarget, type Dispatcher } from './dispatcher.js';
import type { ConnectionInfo, PluginContainer } from './plugins.js';

export interface ServerConnectionOptions {
  limits: Limits;
  /** The server-wide bound on bytes held for unfinished frames. */
  unfinishedBudget?: ByteBudget;
  logger: Logger;
  /** Reports a protocol error that closed the connection (the server rate-limits these log lines). */
  protocolError?: (remote: string, error: ProtocolError) => void;
  /** Plugins whose preReadRequest hook runs per received chunk. */
  plugins?: PluginContainer;
  /** Bytes already read from the connection (by the protocol sniffer), handled before anything else. */
  head?: Uint8Array;
}

/** Reasons to stop reading a connection (bits of #pausedFor). */
const OUTBOUND_FULL = 1;
const TOO_MANY_CALLS = 2;
const PLUGIN_PENDING = 4;

export class ServerConnection extends ConnectionBase implements DispatchTarget, ConnectionInfo {
  readonly protocol = 'rpcx';
  readonly #dispatcher: Dispatcher;
  readonly #parser: FrameParser;
  readonly #writer: FrameWriter;
  readonly #logger: Logger;
  // The idle wake-up waits a microtask so the last call's reply is queued first (it is written right after).
  readonly #calls = new CallTracker(queueMicrotask);
  #closing = false;
  /** Auth refused a request: answer what is already here as unavailable, close once earlier calls replied. */
  #refusing = false;
  readonly #limits: Limits;
  /** Why reading is paused: bit 1 replies queued past the high-water mark, bit 2 too many calls running. */
  #pausedFor = 0;
  /** Requests parsed while reading was paused, dispatched in order on resume (made when the first one waits). */
  #backlog: Message[] | undefined;
  readonly #plugins: PluginContainer | undefined;
  readonly #protocolError: ((remote: string, error: ProtocolError) => void) | undefined;
  /** performance.now() of the last complete frame (or the connection's start), for the idle timeout. */
  #lastFrameAt = performance.now();
  #pushSeq = 0;
  /** performance.now() when the chunk being parsed arrived. */
  #receivedAt = 0;
  /** Set when the server starts shutting down: new requests are refused, in-flight ones finish. */
  draining = false;

  constructor(conn: Conn, dispatcher: Dispatcher, options: ServerConnectionOptions, onClose: (connection: ServerConnection, error?: Error) => void) {
    super(conn);
    this.#dispatcher = dispatcher;
    this.#logger = options.logger;
    this.#limits = options.limits;
    this.#writer = new FrameWriter(conn, () => this.#pauseFor(OUTBOUND_FULL));
    conn.onDrain(() => this.#resumeFor(OUTBOUND_FULL));
    this.#parser = new FrameParser(
      (message) => {
        this.#lastFrameAt = this.#receivedAt;
        if (this.#closing) return; // closed: nothing can be answered any more
        if (this.#refusing) return this.#answerClosing(message);
        this.requests++;
        // Reading stopped in the middle of a chunk: the rest of its frames wait here (at most one chunk's worth), so
        // the call limit and backpressure hold exactly rather than one chunk late.
        if (this.#pausedFor !== 0) (this.#backlog ??= []).push(message);
        else this.#dispatcher.dispatch(message, this, this.#receivedAt);
      },
      {
        maxFrameLength: options.limits.maxFrameLength,
        maxUnfinishedBytes: options.limits.maxUnfinishedBytesPerConnection,
        ...(options.unfinishedBudget ? { budget: options.unfinishedBudget } : {}),
      },
    );
    // Methods, not closures over the constructor's scope: that scope holds `options` (and with it the sniffed head
    // bytes), which an idle connection would otherwise keep for its whole life.
    this.#plugins = options.plugins;
    this.#protocolError = options.protocolError;
    conn.onData((chunk) => this.#onChunk(chunk));
    conn.onClose((error) => {
      this.#writer.close();
      this.#parser.dispose();
      this.#calls.connectionClosed();
      onClose(this, error);
    });
    if (options.head !== undefined && options.head.length > 0) this.#onChunk(options.head);
  }

  #onChunk(chunk: Uint8Array): void {
    const plugins = this.#plugins;
    if (plugins !== undefined && plugins.preReadRequest.length !== 0) {
      let before: Promise<void> | void;
      try {
        before = plugins.runPreReadRequest(this);
      } catch (error) {
        return this.#fail(error);
      }
      if (before) {
        // An async preReadRequest: later chunks wait (held by the paused Conn) until this one is parsed.
        this.#pauseFor(PLUGIN_PENDING);
        before.then(
          () => {
            this.#parse(chunk);
            this.#resumeFor(PLUGIN_PENDING);
          },
          (error: unknown) => this.#fail(error),
        );
        return;
      }
    }
    this.#parse(chunk);
  }

  #parse(chunk: Uint8Array): void {
    try {
      // One clock read per chunk: every request in it starts its latency here.
      this.#receivedAt = performance.now();
      this.#parser.push(chunk);
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    const protocolError = error instanceof ProtocolError ? error : new ProtocolError(String(error));
    const conn = this.conn;
    if (this.#protocolError) this.#protocolError(conn.remoteAddress, protocolError);
    else this.#logger.warn('closing connection on protocol error', { remote: conn.remoteAddress, code: protocolError.code, error: protocolError.message });
    conn.destroy(protocolError);
  }

  /** Calls started and not yet answered. */
  get inFlight(): number {
    return this.#calls.inFlight;
  }

  get info(): ConnectionInfo {
    return this;
  }

  respond(reply: Message): void {
    this.#writer.write(reply);
  }

  /**
   * The auth function refused a request: send the error, then close the connection (rpcx behaviour) — but only once
   * the calls already running have replied. Requests read meanwhile are answered as unavailable (retryable), not run.
   */
  authFailed(_text: string, reply: Message | undefined): void {
    if (reply) this.respond(reply);
    if (this.#refusing || this.#closing) return;
    this.#refusing = true;
    this.conn.pause();
    void this.idle().then(() => this.close());
  }

  callStarted(): void {
    this.#calls.started();
    if (this.#calls.inFlight >= this.#limits.maxConcurrentCallsPerConnection) this.#pauseFor(TOO_MANY_CALLS);
  }

  callFinished(): void {
    this.#calls.finished();
    if (this.#pausedFor & TOO_MANY_CALLS && this.#calls.inFlight < this.#limits.maxConcurrentCallsPerConnection) this.#resumeFor(TOO_MANY_CALLS);
  }

  /** True while reading is paused by backpressure. */
  get paused(): boolean {
    return this.#pausedFor !== 0;
  }

  #pauseFor(reason: number): void {
    if (this.#pausedFor === 0) this.conn.pause();
    this.#pausedFor |= reason;
  }

  #resumeFor(reason: number): void {
    if ((this.#pausedFor & reason) === 0) return;
    this.#pausedFor &= ~reason;
    if (this.#pausedFor === 0 && !this.#refusing && !this.#closing) {
      const backlog = this.#backlog;
      if (backlog !== undefined) {
        const now = performance.now();
        let i = 0;
        while (i < backlog.length && this.#pausedFor === 0) this.#dispatcher.dispatch(backlog[i++]!, this, now);
        this.#backlog = i < backlog.length ? backlog.slice(i) : undefined;
        if (this.#pausedFor !== 0) return;
      }
      // A frame half-read when reading stopped gets its full time again from here.
      this.#parser.restartClock();
      this.conn.resume();
    }
  }

  #answerClosing(request: Message): void {
    if (request.isResponse || request.oneway) return;
    this.respond(errorReply(request, CONNECTION_CLOSING_TEXT));
  }

  /**
   * Called periodically by the server: closes the connection when a started frame took longer than frameTimeoutMs,
   * or when nothing arrived for idleTimeoutMs (not while calls run or while we stopped reading it ourselves).
   */
  checkTimeouts(now: number): void {
    if (this.#closing || this.conn.closed || this.#pausedFor !== 0) return;
    const limits = this.#limits;
    const since = this.#parser.unfinishedSince;
    if (limits.frameTimeoutMs > 0 && since !== 0 && now - since > limits.frameTimeoutMs) {
      this.#timedOut(new LimitExceededError('frameTimeoutMs', `a frame was not completed within ${limits.frameTimeoutMs} ms`));
      return;
    }
    if (limits.idleTimeoutMs > 0 && since === 0 && this.#calls.inFlight === 0 && now - this.#lastFrameAt > limits.idleTimeoutMs) {
      this.#timedOut(new LimitExceededError('idleTimeoutMs', `no frame for ${limits.idleTimeoutMs} ms`));
    }
  }

  #timedOut(error: LimitExceededError): void {
    this.#logger.debug('closing connection', { remote: this.conn.remoteAddress, error: error.message });
    this.#closing = true;
    this.#writer.flush();
    this.#writer.close();
    this.conn.destroy(error);
  }

  cancelCall(seq: number): void {
    this.#calls.cancel(seq);
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

  /** Flushes queued replies and closes the connection gracefully (what arrives from now on is not run). */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    // Keep reading (what arrives is ignored): the network must see the peer's own end (a QUIC FIN, a WebSocket close
    // frame) to finish closing.
    this.conn.resume();
    // Requests read but not yet started: answered as unavailable (retryable), not dropped.
    const backlog = this.#backlog;
    this.#backlog = undefined;
    if (backlog !== undefined) for (const request of backlog) this.#answerClosing(request);
    this.#writer.flush();
    this.#writer.close();
    this.conn.end();
  }

  destroy(error?: Error): void {
    this.conn.destroy(error);
  }
}
