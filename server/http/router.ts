/**
 * The HTTP side of a sniffed port: sockets the sniffer found speaking HTTP are handed to one internal `http.Server`
 * (never listening itself) that routes each request:
 *
 *   a CORS preflight (OPTIONS), when CORS is configured        → answered by cors.ts
 *   header `X-JSONRPC-2.0: true`                             → JSON-RPC 2.0
 *   GET/HEAD of a builtin page with no `X-RPCX-*` header     → /status /connections /metrics /rpcz /health /dashboard
 *   anything else                                            → the rpcx HTTP gateway
 *
 * Requests become rpcx Messages and go through the same Dispatcher as binary calls.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { SocketConn } from '../../transport/socket-conn.js';
import { CorsPolicy, type CorsOptions } from './cors.js';
import { HttpConnection, type FrontendHost } from './http-connection.js';
import { handleGateway } from './gateway.js';
import { hasRpcxHeader, pathOf, send } from './helpers.js';
import { handleJsonRpc } from './jsonrpc.js';
import { isPagePath } from './pages.js';

/** The HTTP front end of one Server. */
export class HttpFrontend {
  readonly #host: FrontendHost;
  readonly #server: http.Server;
  readonly #connections = new Map<Socket, HttpConnection>();
  /** The CORS policy built from the options it was built from (rebuilt when setCORS gives new ones). */
  #cors: { options: CorsOptions; policy: CorsPolicy } | undefined;

  constructor(host: FrontendHost) {
    this.#host = host;
    // Node's own timeouts do not apply to sockets handed in with emit('connection'): HttpConnection enforces them.
    this.#corsPolicy(); // bad CORS options fail here, when the server starts serving HTTP
    this.#server = http.createServer({ keepAliveTimeout: host.limits.httpKeepAliveTimeoutMs }, (req, res) => this.#route(req, res));
    this.#server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable || error.code === 'ECONNRESET') socket.destroy();
      else socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  #corsPolicy(): CorsPolicy | undefined {
    const options = this.#host.cors();
    if (!options) return undefined;
    if (this.#cors?.options !== options) this.#cors = { options, policy: new CorsPolicy(options) };
    return this.#cors.policy;
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
    connection.requestHead();
    if (req.complete) connection.requestReceived();
    else req.once('end', () => connection.requestReceived());
    res.once('finish', () => connection.responseFinished());
    if (connection.draining) res.setHeader('Connection', 'close');
    const refuse = (error: unknown): void => send(res, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, (error as Error).message ?? String(error));
    let before: Promise<void> | void = undefined;
    try {
      if (host.plugins.preReadRequest.length !== 0) before = host.plugins.runPreReadRequest(connection);
    } catch (error) {
      refuse(error);
      return;
    }
    const cors = this.#corsPolicy();
    const run = (): Promise<void> | void => {
      if (cors && (host.jsonRpc || host.gateway) && CorsPolicy.isPreflight(req)) return cors.preflight(req, res);
      if (host.jsonRpc && req.headers['x-jsonrpc-2.0'] === 'true') {
        cors?.decorate(req, res);
        return handleJsonRpc(req, res, connection, host);
      }
      if (host.pages && (req.method === 'GET' || req.method === 'HEAD')) {
        const path = pathOf(req.url);
        if (isPagePath(path) && !hasRpcxHeader(req)) return host.servePage(path, req, res, connection);
      }
      if (host.gateway) {
        cors?.decorate(req, res);
        return handleGateway(req, res, connection, host);
      }
      send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
    };
    const start = (): void => {
      try {
        const pending = run();
        if (pending) pending.catch((error: unknown) => this.#failed(res, error));
      } catch (error) {
        this.#failed(res, error);
      }
    };
    // An async preReadRequest hook: the request is handled once it has resolved.
    if (before) before.then(start, refuse);
    else start();
  }

  #failed(res: http.ServerResponse, error: unknown): void {
    this.#host.logger.warn('HTTP request failed', { error });
    if (!res.headersSent) send(res, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, 'internal error\n');
    else res.destroy();
  }
}
