/** Registers the networks that ship with rpcx-ts. Importing this module is enough to use them by name. */
import { registerTransport } from './registry.js';
import { tcpTransport } from './tcp.js';
import { unixTransport } from './unix.js';

registerTransport(tcpTransport);
registerTransport(unixTransport);
