/**
 * `reuseport`: a TCP listener with SO_REUSEPORT, so several processes can listen on one port and the kernel spreads
 * new connections over them. Stopping one process gracefully while another keeps serving is a zero-downtime restart.
 * Clients dial it as plain tcp (`tcp@host:port`; `reuseport@host:port` is accepted too). Needs Node >= 22.12.
 */
import { ConfigError } from '../errors.js';
import { tcpTransport } from './tcp.js';
import type { Transport } from './transport.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const supported = major > 22 || (major === 22 && minor >= 12);

export const reuseportTransport: Transport = {
  networks: ['reuseport'],

  listen(network, address, options, onConn) {
    if (!supported) throw new ConfigError(`rpcx: reuseport needs Node >= 22.12 (this is ${process.version})`);
    return tcpTransport.listen(network, address, { ...options, reusePort: true }, onConn);
  },

  dial(_network, address, options) {
    return tcpTransport.dial('tcp', address, options);
  },
};
