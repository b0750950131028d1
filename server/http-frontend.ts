/**
 * The HTTP side of a sniffed port: sockets the sniffer found speaking HTTP are handed to one internal `http.Server`
 * (never listening itself) that routes each request:
 *
 *   header `X-JSONRPC-2.0: true`                             → JSON-RPC 2.0
 *   GET/HEAD of a builtin page with no `X-RPCX-*` header     → /status /connections /metrics /rpcz /health /dashboard
 *   anything else                                            → the rpcx HTTP gateway
 *
 * Requests become rpcx Messages and go through the same Dispatcher as binary calls.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { Message } from '../protocol/message.js';
import type { SocketConn } from '../transport/socket-conn.js';
import { CallTracker } from './call-tracker.js';
import type { CallContext } from './context.js';
import type { Dispatcher, DispatchTarget } from './dispatcher.js';
import { handleGateway } from './gateway.js';
import { handleJsonRpc } from './jsonrpc.js';
import { isPagePath } from './pages.js';
import type { ConnectionInfo, PluginContainer } from './plugins.js';
import { nextConnectionId } from './server-connection.js';

/** What the front end needs from its Server. */
export interface FrontendHost {
  readonly dispatcher: Dispatcher;
  readonly plugins: PluginContainer;
  readonly logger: Logger;
  /** Largest request body accepted (413 above). */
  readonly maxBodyLength: number;
  readonly gateway: boolean;
  readonly jsonRpc: boolean;
  readonly pages: boolean;
  /** Serves a builtin page. */
  servePage(path: string, req: http.IncomingMessage, res: http.ServerResponse): void;
  connectionClosed(connection: HttpConnection, error?: Error): void;
}

/** One socket speaking HTTP (keep-alive: many requests). */
export class HttpConnection implements ConnectionInfo {
  readonly id = nextConnectionId();
  readonly protocol = 'http';
  readonly conn: SocketConn;
  readonly socket: Socket;
  readonly openedAt = Date.now();
  requests = 0;
  /** Set when the server shuts down: calls are refused and responses close the connection. */
  draining = false;
  // The idle wake-up waits for setImmediate so the last response is written before waiters close the socket.
  readonly #calls = new CallTracker(setImmediate);

  constructor(conn: SocketConn, socket: Socket) {
    this.conn = conn;
    this.socket = socket;
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
class HttpCallTarget implements DispatchTarget {
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
    throw new Error('rpcx: server push is not available to HTTP callers');
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

/** Reads a request body up to `limit` bytes; rejects with `BodyTooLarge` past it. */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new BodyTooLarge(limit));
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        req.removeAllListeners('data');
        req.pause();
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    req.once('error', reject);
  });
}

export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

/** Writes a complete response with a body. */
export function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array = ''): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers }, JSON.stringify(value));
}

/** The HTTP front end of one Server. */
export class HttpFrontend {
  readonly #host: FrontendHost;
  readonly #server: http.Server;
  readonly #connections = new Map<Socket, HttpConnection>();

  constructor(host: FrontendHost) {
    this.#host = host;
    this.#server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => this.#route(req, res));
    this.#server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable || error.code === 'ECONNRESET') return socket.destroy();
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  get connections(): IterableIterator<HttpConnection> {
    return this.#connections.values();
  }

  /** Takes over a socket the sniffer found speaking HTTP. */
  accept(conn: SocketConn, socket: Socket): HttpConnection {
    const connection = new HttpConnection(conn, socket);
    this.#connections.set(socket, connection);
    conn.onClose((error) => {
      this.#connections.delete(socket);
      connection.closedNow();
      this.#host.connectionClosed(connection, error);
    });
    this.#server.emit('connection', socket);
    return connection;
  }

  #route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const host = this.#host;
    const connection = this.#connections.get(req.socket as Socket);
    if (!connection) {
      res.destroy();
      return;
    }
    connection.requests++;
    if (connection.draining) res.setHeader('Connection', 'close');
    try {
      if (host.plugins.preReadRequest.length !== 0) host.plugins.runPreReadRequest(connection);
    } catch (error) {
      send(res, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, (error as Error).message ?? String(error));
      return;
    }
    const run = (): Promise<void> | void => {
      if (host.jsonRpc && req.headers['x-jsonrpc-2.0'] === 'true') return handleJsonRpc(req, res, connection, host);
      if (host.pages && (req.method === 'GET' || req.method === 'HEAD')) {
        const path = pathOf(req.url);
        if (isPagePath(path) && !hasRpcxHeader(req)) return host.servePage(path, req, res);
      }
      if (host.gateway) return handleGateway(req, res, connection, host);
      send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
    };
    try {
      const pending = run();
      if (pending) pending.catch((error: unknown) => this.#failed(res, error));
    } catch (error) {
      this.#failed(res, error);
    }
  }

  #failed(res: http.ServerResponse, error: unknown): void {
    this.#host.logger.warn('HTTP request failed', { error });
    if (!res.headersSent) send(res, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, 'internal error\n');
    else res.destroy();
  }
}

export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function hasRpcxHeader(req: http.IncomingMessage): boolean {
  for (const name in req.headers) if (name.startsWith('x-rpcx-')) return true;
  return false;
}
