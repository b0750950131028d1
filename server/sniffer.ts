/**
 * One port, many protocols. On a socket-backed connection (tcp, reuseport, either with TLS) the first bytes decide,
 * once per connection:
 *
 *   0x08 ...                      binary rpcx            → a plain ServerConnection (the chunk is handed over as is)
 *   CONNECT /_rpcx_ HTTP/1.x      rpcx over HTTP CONNECT → "200 Connected to rpcx", then binary rpcx on the socket
 *   PRI * HTTP/2.0 (the preface)  HTTP/2, h2c            → the gRPC front end (also: TLS that negotiated ALPN `h2`)
 *   anything else                 HTTP                   → Node's HTTP parser (gateway, JSON-RPC 2.0, builtin pages)
 *
 * The binary check is one byte of the first chunk, so binary connections pay nothing after it.
 */
import type { Socket } from 'node:net';
import { HandshakeError, LimitExceededError } from '../errors.js';
import { MAGIC } from '../protocol/constants.js';
import { classifyRequestHead, CONNECT_ANSWER, MAX_CONNECT_HEAD } from '../transport/connect-handshake.js';
import { SocketConn } from '../transport/socket-conn.js';
import type { Conn } from '../transport/transport.js';

export interface SniffHandlers {
  /** Binary rpcx from here on; `head` holds bytes already read (start of the first frame), if any. */
  binary(conn: Conn, head: Uint8Array | undefined): void;
  /** An HTTP connection; the bytes read so far have been pushed back onto the socket. */
  http(conn: SocketConn, socket: Socket): void;
  /**
   * HTTP/2 (gRPC): the client sent the connection preface or negotiated ALPN `h2`. The bytes read so far are back on
   * the socket, which is left paused: the HTTP/2 session reads them from its buffer. Absent: HTTP/2 is not served.
   */
  http2?(conn: SocketConn, socket: Socket): void;
  /** The connection closed before it said anything conclusive. */
  closed(conn: Conn, error?: Error): void;
}

/** True when this connection can be sniffed (it wraps a Node socket). */
export function sniffable(conn: Conn): conn is SocketConn {
  return conn instanceof SocketConn;
}

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * `timeoutMs` (0 = none): a connection that has not shown its protocol by then (silent, or half a CONNECT line) is
 * closed.
 */
export function sniff(conn: SocketConn, handlers: SniffHandlers, timeoutMs = 0): void {
  const socket = conn.socket;
  const http2 = handlers.http2;
  if (http2 !== undefined && (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2') {
    http2(conn, socket);
    return;
  }
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
    if (http2 !== undefined && received[0] === HTTP2_PREFACE[0]) {
      const compared = Math.min(received.length, HTTP2_PREFACE.length);
      if (received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared))) {
        if (compared < HTTP2_PREFACE.length) return; // wait for the rest of the preface
        finish();
        socket.pause();
        socket.unshift(received);
        http2(conn, socket);
        return;
      }
    }
    const head = classifyRequestHead(received);
    switch (head.kind) {
      case 'other':
        // Not rpcx's CONNECT: an HTTP request. Give the bytes back and let the HTTP parser take the socket.
        finish();
        socket.pause();
        socket.unshift(received);
        handlers.http(conn, socket);
        socket.resume();
        return;
      case 'connect':
        finish();
        conn.write(CONNECT_ANSWER);
        handlers.binary(conn, head.headEnd < received.length ? received.subarray(head.headEnd) : undefined);
        return;
      case 'oversized':
        finish();
        conn.destroy(new HandshakeError(`rpcx: CONNECT request head over ${MAX_CONNECT_HEAD} bytes`));
        return;
      case 'partial':
        return;
    }
  };
  socket.on('data', onData);
  conn.onClose((error) => {
    // Replaced by the connection's own close listener once the protocol is known.
    if (!done) handlers.closed(conn, error);
  });
}
