/**
 * `http`: rpcx over an HTTP CONNECT handshake. The client sends `CONNECT /_rpcx_ HTTP/1.0` and a blank line; the
 * server answers `HTTP/1.0 200 Connected to rpcx` and a blank line; from then on both sides speak binary rpcx on the
 * socket. Any other method on `/_rpcx_` gets 405, other paths 404. Exactly as rpcx's Go client and server do it.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { DialError, HandshakeError } from '../errors.js';
import { RPCX_PATH } from '../protocol/constants.js';
import { classifyRequestHead, CONNECT_ANSWER, CONNECT_REQUEST, MAX_CONNECT_HEAD, parseConnectAnswer } from './connect-handshake.js';
import { splitHostPort } from './networks.js';
import { SocketConn } from './socket-conn.js';
import { listenServer, tlsClientOptions, tlsServerOptions, waitConnected } from './tcp.js';
import type { Transport } from './transport.js';

/** How long a server waits for an incoming connection's request head. */
const REQUEST_HEAD_TIMEOUT_MS = 10_000;

export const httpConnectTransport: Transport = {
  networks: ['http'],

  async listen(network, address, options, onConn) {
    const { host, port } = splitHostPort(address);
    // Node's HTTP parser refuses CONNECT with a path (and Go sends bare LFs), so the request line is read here:
    // rpcx's CONNECT is answered directly, anything else goes to an ordinary HTTP server for its 405/404.
    const fallback = http.createServer((req, res) => {
      const status = req.url === RPCX_PATH ? 405 : 404;
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(status === 405 ? '405 must CONNECT\n' : '404 page not found\n');
    });
    fallback.on('clientError', (_error, socket) => socket.destroy());
    const accept = (socket: net.Socket): void => {
      readRequestHead(socket).then(
        ({ isConnect, received, headEnd }) => {
          if (!isConnect) {
            socket.unshift(received);
            fallback.emit('connection', socket);
            socket.resume();
            return;
          }
          socket.write(CONNECT_ANSWER);
          onConn(new SocketConn(network, socket, undefined, undefined, received.subarray(headEnd), options.highWaterMark));
        },
        () => socket.destroy(),
      );
    };
    const server = options.tls ? tls.createServer(tlsServerOptions(options.tls), accept) : net.createServer({ noDelay: true }, accept);
    return listenServer(network, server, { host, port });
  },

  async dial(network, address, options) {
    const { host, port } = splitHostPort(address);
    const socket = options.tls ? tls.connect({ host, port, ...tlsClientOptions(options.tls, host) }) : net.connect({ host, port, noDelay: true });
    const target = `${network}@${address}`;
    await waitConnected(socket, options, target, options.tls ? 'secureConnect' : 'connect');
    socket.write(CONNECT_REQUEST);
    const head = await readHandshake(socket, target, options.connectTimeoutMs ?? 10_000);
    return new SocketConn(network, socket, undefined, undefined, head, options.highWaterMark);
  },
};

/** Reads the server's answer to CONNECT; resolves with any bytes that came after it. */
function readHandshake(socket: net.Socket, target: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new DialError(`rpcx: ${target}: no answer to CONNECT within ${timeoutMs} ms`)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (error: DialError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(new DialError(`rpcx: ${target}: ${error.message}`, error));
    const onClose = (): void => fail(new DialError(`rpcx: ${target} closed during the CONNECT handshake`));
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const answer = parseConnectAnswer(received);
      switch (answer.kind) {
        case 'partial':
          return;
        case 'oversized':
          return fail(new DialError(`rpcx: ${target}: CONNECT answer over ${MAX_CONNECT_HEAD} bytes`));
        case 'refused':
          return fail(new DialError(`rpcx: ${target}: unexpected HTTP response "${answer.statusLine}"`));
        case 'connected':
          cleanup();
          socket.pause();
          resolve(received.subarray(answer.headEnd));
      }
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/**
 * Reads an incoming request's head. `isConnect` when it is rpcx's CONNECT (then `headEnd` is where the binary stream
 * starts); otherwise resolves as soon as the first bytes show it is something else, with what was read.
 */
function readRequestHead(socket: net.Socket): Promise<{ isConnect: boolean; received: Buffer; headEnd: number }> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new HandshakeError(`rpcx: no CONNECT request head within ${REQUEST_HEAD_TIMEOUT_MS} ms`)), REQUEST_HEAD_TIMEOUT_MS);
    const finish = (error: Error | undefined, result?: { isConnect: boolean; received: Buffer; headEnd: number }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', finish);
      socket.pause();
      if (error) reject(error);
      else resolve(result!);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const head = classifyRequestHead(received);
      switch (head.kind) {
        case 'other':
          return finish(undefined, { isConnect: false, received, headEnd: 0 });
        case 'connect':
          return finish(undefined, { isConnect: true, received, headEnd: head.headEnd });
        case 'oversized':
          return finish(new HandshakeError(`rpcx: CONNECT request head over ${MAX_CONNECT_HEAD} bytes`));
        case 'partial':
          return;
      }
    };
    socket.on('data', onData);
    socket.once('error', finish);
  });
}
