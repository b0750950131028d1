/**
 * The KCP client side: a UDP socket per dial, connected to the server (so only its datagrams are read), and a session
 * with a random conversation id. KCP has no handshake: the session is usable as soon as the socket is bound; a server
 * that never answers shows up as a dead link (or idle timeout) on the first write.
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { DialError } from '../../errors.js';
import { joinHostPort } from '../networks.js';
import type { DialOptions } from '../transport.js';
import { KcpSocketError } from '../../errors.js';
import { applySocketBuffers, type KcpSettings } from './options.js';
import { openDatagram } from './packet.js';
import { KcpSession } from './session.js';

export function randomConv(): number {
  return crypto.randomBytes(4).readUInt32LE(0);
}

export async function dialKcp(network: string, host: string, port: number, settings: KcpSettings, options: DialOptions): Promise<KcpSession> {
  const target = `${network}@${joinHostPort(host, port)}`;
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: DialError): void => {
      cleanup();
      try {
        socket.close();
      } catch {
        // already closed
      }
      reject(error);
    };
    const onError = (error: Error): void => fail(new DialError(`rpcx: dial ${target} failed: ${error.message}`, error));
    const onAbort = (): void => fail(new DialError(`rpcx: dial ${target} aborted`, options.signal?.reason));
    if (options.signal?.aborted) return onAbort();
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = options.connectTimeoutMs ?? 0;
    if (timeoutMs > 0) timer = setTimeout(() => fail(new DialError(`rpcx: dial ${target} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.connect(port, host, () => {
      cleanup();
      resolve();
    });
  });

  applySocketBuffers(socket, settings.socketBufferBytes);
  const remote = socket.remoteAddress();
  const local = socket.address();
  let open = true;
  const session = new KcpSession(
    network,
    randomConv(),
    settings,
    {
      send: (datagram) => {
        if (open) socket.send(datagram);
      },
      released: () => {
        open = false;
        socket.close();
      },
    },
    joinHostPort(remote.address, remote.port),
    joinHostPort(local.address, local.port),
  );
  const crypt = session.pipeline.crypt;
  socket.on('message', (msg) => {
    const body = openDatagram(crypt, msg);
    if (body) session.handleBody(body);
  });
  socket.on('error', (error) => session.destroy(new KcpSocketError(`rpcx: kcp socket error: ${error.message}`, error)));
  return session;
}
