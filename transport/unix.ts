/**
 * `unix`: a Unix domain socket at a path. The socket file is removed on close, and a stale file left by a crashed
 * server (nobody accepts on it) is removed before listening, so a restart is never blocked by it.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { ConfigError } from '../errors.js';
import { SocketConn } from './socket-conn.js';
import { listenServer, waitConnected } from './tcp.js';
import type { Transport } from './transport.js';

export const unixTransport: Transport = {
  networks: ['unix'],

  async listen(network, path, options, onConn) {
    await removeStaleSocket(path);
    const server = net.createServer((socket) => onConn(new SocketConn(network, socket, 'unix:' + path, path, undefined, options.highWaterMark)));
    const listener = await listenServer(network, server, { path });
    return {
      network,
      address: path,
      async close() {
        await listener.close();
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      },
    };
  },

  async dial(network, path, options) {
    const socket = net.connect({ path });
    await waitConnected(socket, options, `${network}@${path}`, 'connect');
    return new SocketConn(network, socket, path, 'unix:' + path, undefined, options.highWaterMark);
  },
};

async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new ConfigError(`rpcx: ${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new ConfigError(`rpcx: another server is listening on ${path}`);
  unlinkSync(path);
}
