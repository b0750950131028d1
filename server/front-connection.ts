/**
 * What the HTTP/1.1 and HTTP/2 (gRPC) connections share: a sniffed socket whose requests each go through the
 * Dispatcher with a target of their own (many calls per connection, answered independently), one CallTracker for
 * in-flight calls and graceful shutdown, and the ConnectionInfo plugins and /connections see.
 */
import type { Socket } from 'node:net';
import { UnsupportedError } from '../errors.js';
import type { SocketConn } from '../transport/socket-conn.js';
import { CallTracker } from './call-tracker.js';
import type { CallContext } from './context.js';
import type { ConnectionInfo } from './plugins.js';
import { ConnectionBase } from './connection-base.js';

export abstract class FrontConnection extends ConnectionBase<SocketConn> implements ConnectionInfo {
  readonly socket: Socket;
  #draining = false;
  // The idle wake-up waits for setImmediate so the last response is written before waiters close the socket.
  readonly #calls = new CallTracker(setImmediate);

  constructor(conn: SocketConn, socket: Socket) {
    super(conn);
    this.socket = socket;
  }

  /** Set when the server shuts down: calls are refused and the connection closes once its calls are answered. */
  get draining(): boolean {
    return this.#draining;
  }

  set draining(value: boolean) {
    const starts = value && !this.#draining;
    this.#draining = value;
    if (starts) this.drainStarted();
  }

  /** Hook: the server started draining. */
  protected drainStarted(): void {}

  /** Calls started and not yet answered. */
  get inFlight(): number {
    return this.#calls.inFlight;
  }

  track(ctx: CallContext): void {
    this.#calls.track(ctx);
  }

  untrack(ctx: CallContext): void {
    this.#calls.untrack(ctx);
  }

  callStarted(): void {
    this.#calls.started();
  }

  callFinished(): void {
    this.#calls.finished();
  }

  /** Resolves when no call is in flight (or the socket is gone). */
  idle(): Promise<void> {
    return this.#calls.idle(this.closed);
  }

  abstract close(): void;

  destroy(): void {
    this.socket.destroy();
  }

  /** @internal the socket closed. */
  closedNow(): void {
    this.#calls.connectionClosed();
  }
}

/** The part of a per-request DispatchTarget that is its connection's. */
export abstract class FrontCallTarget {
  protected readonly connection: FrontConnection;

  constructor(connection: FrontConnection) {
    this.connection = connection;
  }

  get network(): string {
    return this.connection.network;
  }
  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }
  get localAddress(): string {
    return this.connection.localAddress;
  }
  get closed(): boolean {
    return this.connection.closed;
  }
  get draining(): boolean {
    return this.connection.draining;
  }
  get info(): ConnectionInfo {
    return this.connection;
  }

  push(): void {
    throw new UnsupportedError(`rpcx: server push is not available to ${this.connection.protocol === 'http' ? 'HTTP' : 'gRPC'} callers`);
  }
  track(ctx: CallContext): void {
    this.connection.track(ctx);
  }
  untrack(ctx: CallContext): void {
    this.connection.untrack(ctx);
  }
  callStarted(): void {
    this.connection.callStarted();
  }
  callFinished(): void {
    this.connection.callFinished();
  }
}
