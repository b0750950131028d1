/**
 * One port, many protocols. On a socket-backed connection (tcp, reuseport, either with TLS) the first bytes decide,
 * once per connection:
 *
 *   0x08 ...                      binary rpcx            → a plain ServerConnection (the chunk is handed over as is)
 *   CONNECT /_rpcx_ HTTP/1.x      rpcx over HTTP CONNECT → "200 Connected to rpcx", then binary rpcx on the socket
 *   anything else                 HTTP                   → Node's HTTP parser (gateway, JSON-RPC 2.0, builtin pages)
 *
 * The binary check is one byte of the first chunk, so binary connections pay nothing after it.
 */
import type { Socket } from 'node:net';
import { LimitExceededError } from '../errors.js';
import { MAGIC } from '../protocol/constants.js';
import { SocketConn } from '../transport/socket-conn.js';
import type { Conn } from '../transport/transport.js';

export const RPCX_CONNECT_PATH = '/_rpcx_';
const CONNECT_PREFIX = Buffer.from(`CONNECT ${RPCX_CONNECT_PATH} HTTP/1.`, 'latin1');
const CONNECTED = 'HTTP/1.0 200 Connected to rpcx\n\n';
/** A CONNECT request head longer than this is not rpcx's. */
const MAX_CONNECT_HEAD = 8192;

export interface SniffHandlers {
  /** Binary rpcx from here on; `head` holds bytes already read (start of the first frame), if any. */
  binary(conn: Conn, head: Uint8Array | undefined): void;
  /** An HTTP connection; the bytes read so far have been pushed back onto the socket. */
  http(conn: SocketConn, socket: Socket): void;
  /** The connection closed before it said anything conclusive. */
  closed(conn: Conn, error?: Error): void;
}

/** True when this connection can be sniffed (it wraps a Node socket). */
export function sniffable(conn: Conn): conn is SocketConn {
  return conn instanceof SocketConn;
}

/**
 * `timeoutMs` (0 = none): a connection that has not shown its protocol by then (silent, or half a CONNECT line) is
 * closed.
 */
export function sniff(conn: SocketConn, handlers: SniffHandlers, timeoutMs = 0): void {
  const socket = conn.socket;
  let received: Buffer | undefined;
  let done = false;
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          finish();
          conn.destroy(new LimitExceededError('httpHeadersTimeoutMs', `no request within ${timeoutMs} ms`));
        }, timeoutMs).unref()
      : undefined;
  const finish = (): void => {
    done = true;
    if (timer) clearTimeout(timer);
    socket.off('data', onData);
  };
  const onData = (chunk: Buffer): void => {
    if (received === undefined && chunk[0] === MAGIC) {
      finish();
      handlers.binary(conn, chunk);
      return;
    }
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    const prefix = Math.min(received.length, CONNECT_PREFIX.length);
    if (received.compare(CONNECT_PREFIX, 0, prefix, 0, prefix) !== 0) {
      // Not rpcx's CONNECT: an HTTP request. Give the bytes back and let the HTTP parser take the socket.
      finish();
      socket.pause();
      socket.unshift(received);
      handlers.http(conn, socket);
      socket.resume();
      return;
    }
    const end = headEnd(received);
    if (end >= 0) {
      finish();
      conn.write(Buffer.from(CONNECTED, 'latin1'));
      handlers.binary(conn, end < received.length ? received.subarray(end) : undefined);
      return;
    }
    if (received.length > MAX_CONNECT_HEAD) {
      finish();
      conn.destroy(new Error('oversized CONNECT request head'));
    }
  };
  socket.on('data', onData);
  conn.onClose((error) => {
    // Replaced by the connection's own close listener once the protocol is known.
    if (!done) handlers.closed(conn, error);
  });
}

/** Offset just past the blank line ending a request head (`\n\n` as Go writes it, or `\r\n\r\n`), or -1. */
function headEnd(bytes: Buffer): number {
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}
