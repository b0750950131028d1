/**
 * Registers the networks that ship with rpcx-ts. Importing this module is enough to use them by name.
 *
 * tcp, unix and reuseport are loaded with it. The others (http, ws/wss, kcp, quic, wt) pull in node:http, the ws
 * package, crypto, native QUIC and HTTP/2 libraries: each is loaded on its first listen or dial, so a process that
 * only speaks tcp does not carry them (about 14 MB of resident memory on Node 24).
 */
import { registerTransport } from './networks.js';
import { reuseportTransport } from './reuseport.js';
import { tcpTransport } from './tcp.js';
import type { Transport } from './transport.js';
import { unixTransport } from './unix.js';

/** A transport whose module is imported the first time one of its networks is listened on or dialled. */
function loadedOnUse(networks: readonly string[], load: () => Promise<Transport>): Transport {
  let loading: Promise<Transport> | undefined;
  const transport = (): Promise<Transport> => {
    loading ??= load();
    // A failed import (a missing optional dependency) is retried on the next use rather than remembered.
    loading.catch(() => (loading = undefined));
    return loading;
  };
  return {
    networks,
    async listen(network, address, options, onConn) {
      return (await transport()).listen(network, address, options, onConn);
    },
    async dial(network, address, options) {
      return (await transport()).dial(network, address, options);
    },
  };
}

registerTransport(tcpTransport);
registerTransport(unixTransport);
registerTransport(reuseportTransport);
registerTransport(loadedOnUse(['http'], async () => (await import('./http-connect.js')).httpConnectTransport));
registerTransport(loadedOnUse(['ws', 'wss'], async () => (await import('./ws.js')).wsTransport));
registerTransport(loadedOnUse(['kcp'], async () => (await import('./kcp.js')).kcpTransport));
registerTransport(loadedOnUse(['quic'], async () => (await import('./quic.js')).quicTransport));
registerTransport(loadedOnUse(['wt'], async () => (await import('./webtransport.js')).webTransportTransport));
