/**
 * One socket speaking HTTP (keep-alive: many requests) and the way its requests go through the Dispatcher: each
 * request becomes an rpcx Message and a DispatchTarget that settles one promise with how the call ended.
 */
import type http from 'node:http';
import type { Limits } from '../../limits.js';
import type { Logger } from '../../logger.js';
import type { Message } from '../../protocol/message.js';
import type { Dispatcher, DispatchTarget } from '../dispatcher.js';
import type { Socket } from 'node:net';
import type { SocketConn } from '../../transport/socket-conn.js';
import { FrontCallTarget, FrontConnection } from '../front-connection.js';
import type { PluginContainer } from '../plugins.js';
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
export class HttpConnection extends FrontConnection {
  readonly protocol: 'http' | 'http-admin';
  /** Came from an admin listener: serves the builtin pages only. */
  readonly admin: boolean;
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
    super(conn, socket);
    this.admin = admin;
    this.protocol = admin ? 'http-admin' : 'http';
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

  /** Closes gracefully once the current response (if any) is written. */
  close(): void {
    if (this.inFlight === 0) this.socket.end();
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
export class HttpCallTarget extends FrontCallTarget implements DispatchTarget {
  readonly protocol: string;
  readonly #oneway: boolean;
  #settle: ((outcome: HttpOutcome) => void) | undefined;

  constructor(connection: HttpConnection, protocol: string, oneway: boolean, settle: (outcome: HttpOutcome) => void) {
    super(connection);
    this.protocol = protocol;
    this.#oneway = oneway;
    this.#settle = settle;
  }

  respond(reply: Message): void {
    this.#done({ kind: 'reply', reply });
  }
  override callStarted(): void {
    super.callStarted();
    if (this.#oneway) this.#done({ kind: 'accepted' });
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

