/** `ws`/`wss` dialing for browsers: the platform's WebSocket, nothing else. Listening is for servers (transport/ws.ts). */
import { ConfigError } from '../errors.js';
import type { Transport } from './transport.js';
import { openWebSocket, WebSocketConn, webSocketUrl, type WebSocketConstructor } from './websocket-conn.js';

export const browserWebSocketTransport: Transport = {
  networks: ['ws', 'wss'],
  listen() {
    throw new ConfigError('rpcx: browsers cannot listen');
  },
  async dial(network, address, options) {
    const Ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new ConfigError('rpcx: no WebSocket in this environment');
    const socket = await openWebSocket(Ctor, webSocketUrl(network as 'ws' | 'wss', address), options.connectTimeoutMs ?? 10_000, options.signal);
    return new WebSocketConn(network, socket, address);
  },
};
