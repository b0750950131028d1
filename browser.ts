/**
 * rpcx-ts for browsers: the Client over WebSockets (`ws@host:port`, `wss@host:port`) and WebTransport
 * (`wt@host:port`: native WebTransport over HTTP/3 where browser and server have it, else the WebSocket mapping of
 * @fails-components/webtransport, loaded on the first `wt` dial), with the raw, JSON and msgpack codecs. Nothing on
 * this path uses a Node API. (Node programs import the package root instead.)
 *
 *   import { Client } from 'rpcx-ts/browser';
 *   const client = await Client.connect('wss@api.example.com:443');
 *   const overWebTransport = await Client.connect('wt@api.example.com:443');
 */
import { registerCodec } from './codec/codec.js';
import { jsonCodec } from './codec/json.js';
import { msgpackCodec } from './codec/msgpack.js';
import { rawCodec } from './codec/raw.js';
import { registerTransport } from './transport/networks.js';
import { browserWebSocketTransport } from './transport/websocket-browser.js';
import { browserWebTransportTransport } from './transport/webtransport-browser.js';

registerCodec(rawCodec);
registerCodec(jsonCodec);
registerCodec(msgpackCodec);
registerTransport(browserWebSocketTransport);
registerTransport(browserWebTransportTransport);

export * from './errors.js';
export { silentLogger, type Logger } from './logger.js';
export { CompressType, SerializeType } from './protocol/constants.js';
export { registerCodec, type Codec } from './codec/codec.js';
export { Client, type ClientOptions, type PushMessage } from './client/client.js';
export type { CallOptions, CallResult } from './client/call-options.js';
export { createProxy, type ServiceProxy } from './client/proxy.js';
