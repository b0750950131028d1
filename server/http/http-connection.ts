/**
 * One socket speaking HTTP (keep-alive: many requests) and the way its requests go through the Dispatcher: each
 * request becomes an rpcx Message and a DispatchTarget that settles one promise with how the call ended.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { UnsupportedError } from '../../errors.js';
import type { Limits } from '../../limits.js';
import type { Logger } from '../../logger.js';
import type { Message } from '../../protocol/message.js';
import type { SocketConn } from '../../transport/socket-conn.js';
import { CallTracker } from '../call-tracker.js';
import type { CallContext } from '../context.js';
import type { Dispatcher, DispatchTarget } from '../dispatcher.js';
import type { ConnectionInfo, PluginContainer } from '../plugins.js';
import { nextConnectionId } from '../server-connection.js';
import type { CorsOptions } from './cors.js';

/** What the front end needs from its Server. */
export interface FrontendHost {
  readonly dispatcher: Dispatcher;
  readonly plugins: PluginContainer;
  readonly logger: Logger;
  /** Largest request body accepted (413 above). */
  readonly maxBodyLength: number;
  readonly gateway: boolean;
  readonly jsonRpc: boolean;
  /** Serve the builtin pages on this (public) port: off when they are turned off or live on an admin listener. */
  readonly pages: boolean;
  /** Header, request and keep-alive timeouts (Node enforces none of them on sockets handed in by the sniffer). */
  readonly limits: Pick<Limits, 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs' | 'httpKeepAliveTimeoutMs' | 'maxBatchLength'>;
  /** Cross-origin access to the gateway and JSON-RPC, as currently set (none when undefined). */
  cors(): CorsOptions | undefined;
  /** Serves a builtin page. */
  servePage(path: string, req: http.IncomingMessage, res: http.ServerResponse, connection: HttpConnection): Promise<void> | void;
  connectionClosed(connection: HttpConnection, error?: Error): void;
}

/** One socket speaking HTTP (keep-alive: many requests). */
export class HttpConnection implements ConnectionInfo {
  readonly id = nextConnectionId();
  readonly protocol: 'http' | 'http-admin';
  /** Came from an admin listener: serves the builtin pages only. */
  readonly admin: boolean;
  readonly conn: SocketConn;
  readonly socket: Socket;
  readonly openedAt = Date.now();
  requests = 0;
  /** Set when the server shuts down: calls are refused and responses close the connection. */
  draining = false;
  // The idle wake-up waits for setImmediate so the last response is written before waiters close the socket.
  readonly #calls = new CallTracker(setImmediate);
  /**
   * Where the connection is in its request cycle, for the timeouts: `head` (a request is arriving: head and body
   * must complete within the header/request timeouts from `#since`), `handling` (the request is in: no timeout),
   * `idle` (between keep-alive requests: the keep-alive timeout, until bytes of a next request arrive).
   */
  #phase: 'head' | 'body' | 'handling' | 'idle' = 'head';
  #since = performance.now();
  /** socket.bytesRead when the connection went idle: more means a next request has started arriving. */
  #bytesAtIdle = 0;

  constructor(conn: SocketConn, socket: Socket, admin = false) {
    this.admin = admin;
    this.protocol = admin ? 'http-admin' : 'http';
    this.conn = conn;
    this.socket = socket;
  }

  /** The router saw a request's head: from here its body must arrive within the request timeout. */
  requestHead(): void {
    if (this.#phase === 'idle') this.#since = performance.now();
    this.#phase = 'body';
  }

  /** The request (head and body) is in; the handler runs without a timeout of ours. */
  requestReceived(): void {
    this.#phase = 'handling';
  }

  /** A response is written: the connection waits for the next keep-alive request. */
  responseFinished(): void {
    this.#phase = 'idle';
    this.#since = performance.now();
    this.#bytesAtIdle = this.socket.bytesRead;
  }

  /** Called periodically by the server: closes the connection when its current phase took too long. */
  checkTimeouts(now: number, limits: FrontendHost['limits']): void {
    if (this.closed) return;
    if (this.#phase === 'idle' && this.socket.bytesRead > this.#bytesAtIdle) {
      // A next request started arriving (roughly now: the sweep period is the error).
      this.#phase = 'head';
      this.#since = now;
    }
    const elapsed = now - this.#since;
    let exceeded: string | undefined;
    if (this.#phase === 'idle' && limits.httpKeepAliveTimeoutMs > 0 && elapsed > limits.httpKeepAliveTimeoutMs) exceeded = 'keep-alive';
    else if (this.#phase === 'head' && limits.httpHeadersTimeoutMs > 0 && elapsed > limits.httpHeadersTimeoutMs) exceeded = 'headers';
    else if ((this.#phase === 'head' || this.#phase === 'body') && limits.httpRequestTimeoutMs > 0 && elapsed > limits.httpRequestTimeoutMs) exceeded = 'request';
    if (exceeded === undefined) return;
    if (exceeded !== 'keep-alive' && this.socket.writable) {
      // As Node's own HTTP server answers a request that did not arrive in time.
      this.socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
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

  /** Closes gracefully once the current response (if any) is written. */
  close(): void {
    if (this.inFlight === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** @internal the socket closed. */
  closedNow(): void {
    this.#calls.connectionClosed();
  }
}

/** How the dispatcher settled one HTTP-borne request. */
export type HttpOutcome =
  | { kind: 'reply'; reply: Message }
  | { kind: 'unauthorized'; text: string }
  /** A oneway call started (its handler runs; nothing more will come). */
  | { kind: 'accepted' }
  | { kind: 'oneway-failed'; text: string };

/** The dispatcher's view of one HTTP-borne request. */
export class HttpCallTarget implements DispatchTarget {
  readonly #connection: HttpConnection;
  readonly protocol: string;
  readonly #oneway: boolean;
  #settle: ((outcome: HttpOutcome) => void) | undefined;

  constructor(connection: HttpConnection, protocol: string, oneway: boolean, settle: (outcome: HttpOutcome) => void) {
    this.#connection = connection;
    this.protocol = protocol;
    this.#oneway = oneway;
    this.#settle = settle;
  }

  get network(): string {
    return this.#connection.network;
  }
  get remoteAddress(): string {
    return this.#connection.remoteAddress;
  }
  get localAddress(): string {
    return this.#connection.localAddress;
  }
  get closed(): boolean {
    return this.#connection.closed;
  }
  get draining(): boolean {
    return this.#connection.draining;
  }
  get info(): ConnectionInfo {
    return this.#connection;
  }

  push(): void {
    throw new UnsupportedError('rpcx: server push is not available to HTTP callers');
  }
  track(ctx: CallContext): void {
    this.#connection.track(ctx);
  }
  untrack(ctx: CallContext): void {
    this.#connection.untrack(ctx);
  }
  respond(reply: Message): void {
    this.#done({ kind: 'reply', reply });
  }
  callStarted(): void {
    this.#connection.callStarted();
    if (this.#oneway) this.#done({ kind: 'accepted' });
  }
  callFinished(): void {
    this.#connection.callFinished();
  }
  authFailed(text: string): void {
    this.#done({ kind: 'unauthorized', text });
  }
  onewayFailed(text: string): void {
    this.#done({ kind: 'oneway-failed', text });
  }

  #done(outcome: HttpOutcome): void {
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.(outcome);
  }
}

/** Runs one request through the dispatcher and resolves with how it ended. */
export function dispatchHttp(dispatcher: Dispatcher, connection: HttpConnection, request: Message, protocol: string): Promise<HttpOutcome> {
  return new Promise((resolve) => dispatcher.dispatch(request, new HttpCallTarget(connection, protocol, request.oneway, resolve)));
}

