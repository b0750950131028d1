/**
 * `ws` and `wss`: rpcx frames in binary WebSocket messages at `/_rpcx_`. The server side uses the `ws` package on a
 * Node http(s) server (`wss` requires TLS options). Node clients dial with the `ws` package (it takes TLS options: a
 * private CA, client certificates, insecure); browsers dial with the platform WebSocket (transport/websocket-browser.ts,
 * the `browser` entry). Both sides go through the same standard-API adapter, transport/websocket-conn.ts.
 * The `ws` package loads on the first ws/wss listen or dial, not with rpcx-ts.
 *
 * Dial option `wsOrigin?: string`: the `Origin` header of the handshake. Go rpcx's ws listener is
 * golang.org/x/net/websocket, whose handshake refuses (403) a request without one; so, like Go rpcx's own client, we
 * send `http://host:port` for `ws` and `https://host:port` for `wss` unless told otherwise. `''` sends none.
 * (Browsers always send their page's origin and do not let scripts change it.)
 */
import http from 'node:http';
import https from 'node:https';
import type { WebSocket as NodeWebSocket } from 'ws';
import { ConfigError } from '../errors.js';
import { DEFAULT_MAX_FRAME_LENGTH, RPCX_PATH } from '../protocol/constants.js';
import { splitHostPort } from './networks.js';
import { listenServer, tlsServerOptions } from './tcp.js';
import type { Transport, TlsOptions } from './transport.js';
import { openWebSocket, WebSocketConn, webSocketUrl, type WebSocketConstructor, type WebSocketLike } from './websocket-conn.js';

export const wsTransport: Transport = {
  networks: ['ws', 'wss'],

  async listen(network, address, options, onConn) {
    if (network === 'wss' && !options.tls) throw new ConfigError('rpcx: wss needs TLS options (cert and key)');
    const slash = address.indexOf('/');
    const path = slash < 0 ? RPCX_PATH : address.slice(slash);
    const { host, port } = splitHostPort(slash < 0 ? address : address.slice(0, slash));
    const { WebSocketServer } = await import('ws');
    const server = options.tls ? https.createServer(tlsServerOptions(options.tls)) : http.createServer();
    // Go rpcx's WebSocket client never sets a payload type, so x/net/websocket sends its binary frames as *text*
    // messages: take every message's raw bytes and skip the UTF-8 check that would reject them.
    const wss = new WebSocketServer({ noServer: true, maxPayload: wsMaxPayload(options), perMessageDeflate: false, skipUTF8Validation: true });
    server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== path) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.binaryType = 'nodebuffer';
        (ws as unknown as { _socket?: { setNoDelay?(v: boolean): void } })._socket?.setNoDelay?.(true);
        const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
        onConn(new WebSocketConn(network, rawBytesSocket(ws), remote, `${req.socket.localAddress}:${req.socket.localPort}`, options.highWaterMark));
      });
    });
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' });
      res.end('426 upgrade to websocket\n');
    });
    const listener = await listenServer(network, server, { host, port });
    return {
      network,
      address: slash < 0 ? listener.address : listener.address + path,
      async close() {
        await listener.close();
        wss.close();
      },
    };
  },

  async dial(network, address, options) {
    const url = webSocketUrl(network as 'ws' | 'wss', address);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const { WebSocket: NodeWebSocket } = await import('ws');
    const origin = handshakeOrigin(network, address, options.wsOrigin);
    // On Node the `ws` package's client (faster than the global WebSocket, and it takes TLS options); browsers use
    // transport/websocket-browser.ts. Both go through the same standard-API adapter.
    const socket = await openWebSocket(NodeWebSocket as unknown as WebSocketConstructor, url, timeoutMs, options.signal, (_C, u) => {
      const ws = new NodeWebSocket(u, {
        ...nodeTlsOptions(options.tls),
        ...(origin ? { origin } : {}),
        perMessageDeflate: false,
        maxPayload: wsMaxPayload(options),
      });
      ws.once('upgrade', (response) => response.socket.setNoDelay(true));
      return ws as unknown as WebSocketLike;
    });
    return new WebSocketConn(network, socket, address, '', options.highWaterMark);
  },
};

/** The Origin header to send: the configured one, or the dialed host as Go rpcx's client sends it. */
function handshakeOrigin(network: string, address: string, configured: unknown): string | undefined {
  if (configured !== undefined) {
    if (typeof configured !== 'string') throw new ConfigError('rpcx: wsOrigin must be a string (an origin such as https://example.com, or "" for none)');
    return configured || undefined;
  }
  const slash = address.indexOf('/');
  return `${network === 'wss' ? 'https' : 'http'}://${slash < 0 ? address : address.slice(0, slash)}`;
}

/**
 * A `ws` server-side socket seen through the standard API, except that messages arrive as their raw bytes whether
 * they came in binary or text frames (the standard API would decode text frames into strings).
 */
function rawBytesSocket(ws: NodeWebSocket): WebSocketLike {
  return {
    get binaryType() {
      return ws.binaryType;
    },
    set binaryType(_value: string) {
      // Fixed to nodebuffer: the raw bytes of every frame.
    },
    get readyState() {
      return ws.readyState;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    send: (data) => ws.send(data),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    close: (code, reason) => ws.close(code, reason),
    addEventListener(type: string, listener: (event: never) => void) {
      if (type === 'message') ws.on('message', (data: Buffer) => (listener as (e: { data: unknown }) => void)({ data }));
      else ws.on(type, listener as (...args: unknown[]) => void);
    },
    removeEventListener(type: string, listener: (event: never) => void) {
      ws.off(type, listener as (...args: unknown[]) => void);
    },
  } as WebSocketLike;
}

/**
 * The largest WebSocket message accepted: `wsMaxPayload` (the server passes its frame limit), else 64 MiB, rpcx's
 * default frame limit. A bigger message closes the WebSocket (close code 1009) before it is buffered.
 */
function wsMaxPayload(options: Record<string, unknown>): number {
  return typeof options.wsMaxPayload === 'number' && options.wsMaxPayload > 0 ? options.wsMaxPayload : DEFAULT_MAX_FRAME_LENGTH;
}

function nodeTlsOptions(tls: TlsOptions | undefined): Record<string, unknown> {
  if (!tls) return {};
  const { insecure, servername, alpn: _alpn, requestCert: _requestCert, ...context } = tls;
  return { ...context, rejectUnauthorized: insecure !== true, ...(servername ? { servername } : {}) };
}
