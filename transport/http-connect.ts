/**
 * `http`: rpcx over an HTTP CONNECT handshake. The client sends `CONNECT /_rpcx_ HTTP/1.0` and a blank line; the
 * server answers `HTTP/1.0 200 Connected to rpcx` and a blank line; from then on both sides speak binary rpcx on the
 * socket. Any other method on `/_rpcx_` gets 405, other paths 404. Exactly as rpcx's Go client and server do it.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { DialError } from '../errors.js';
import { splitHostPort } from './networks.js';
import { SocketConn } from './socket-conn.js';
import { listenServer, tlsClientOptions, tlsServerOptions, waitConnected } from './tcp.js';
import type { Transport } from './transport.js';

export const RPCX_HTTP_PATH = '/_rpcx_';
const CONNECTED = '200 Connected to rpcx';

export const httpConnectTransport: Transport = {
  networks: ['http'],

  async listen(network, address, options, onConn) {
    const { host, port } = splitHostPort(address);
    // Node's HTTP parser refuses CONNECT with a path (and Go sends bare LFs), so the request line is read here:
    // rpcx's CONNECT is answered directly, anything else goes to an ordinary HTTP server for its 405/404.
    const fallback = http.createServer((req, res) => {
      const status = req.url === RPCX_HTTP_PATH ? 405 : 404;
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
          socket.write(`HTTP/1.0 ${CONNECTED}\n\n`);
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
    socket.write(`CONNECT ${RPCX_HTTP_PATH} HTTP/1.0\n\n`);
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
      const end = headerEnd(received);
      if (end < 0) {
        if (received.length > 8192) fail(new DialError(`rpcx: ${target}: oversized CONNECT answer`));
        return;
      }
      const statusLine = received.subarray(0, received.indexOf(0x0a)).toString('latin1').trim();
      const status = statusLine.replace(/^HTTP\/1\.[01] /, '');
      if (status !== CONNECTED) return fail(new DialError(`rpcx: ${target}: unexpected HTTP response "${statusLine}"`));
      cleanup();
      socket.pause();
      resolve(received.subarray(end.valueOf()));
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

const CONNECT_LINE = Buffer.from(`CONNECT ${RPCX_HTTP_PATH} HTTP/1.`);

/**
 * Reads an incoming request's head. `isConnect` when it is rpcx's CONNECT (then `headEnd` is where the binary stream
 * starts); otherwise resolves as soon as the first bytes show it is something else, with what was read.
 */
function readRequestHead(socket: net.Socket): Promise<{ isConnect: boolean; received: Buffer; headEnd: number }> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('request head timeout')), 10_000);
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
      const prefix = Math.min(received.length, CONNECT_LINE.length);
      if (!received.subarray(0, prefix).equals(CONNECT_LINE.subarray(0, prefix))) {
        return finish(undefined, { isConnect: false, received, headEnd: 0 });
      }
      const end = headerEnd(received);
      if (end >= 0) return finish(undefined, { isConnect: true, received, headEnd: end });
      if (received.length > 8192) finish(new Error('oversized request head'));
    };
    socket.on('data', onData);
    socket.once('error', finish);
  });
}

/** Offset just past the blank line ending the header (accepting `\n\n` and `\r\n\r\n`), or -1. */
function headerEnd(bytes: Buffer): number {
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}
