/** Registers the networks that ship with rpcx-ts. Importing this module is enough to use them by name. */
import { httpConnectTransport } from './http-connect.js';
import { kcpTransport } from './kcp.js';
import { quicTransport } from './quic.js';
import { registerTransport } from './networks.js';
import { reuseportTransport } from './reuseport.js';
import { tcpTransport } from './tcp.js';
import { unixTransport } from './unix.js';
import { webTransportTransport } from './webtransport.js';
import { wsTransport } from './ws.js';

registerTransport(tcpTransport);
registerTransport(unixTransport);
registerTransport(reuseportTransport);
registerTransport(httpConnectTransport);
registerTransport(wsTransport);
registerTransport(kcpTransport);
registerTransport(quicTransport);
registerTransport(webTransportTransport);
