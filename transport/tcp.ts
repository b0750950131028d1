/**
 * `tcp`: plain TCP, or TLS when the listen/dial options carry `tls`.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { nodeTls } from '../lazy-builtins.js';
import { explainTlsDialFailure } from '../protocol/mismatch.js';
import { DialError } from '../errors.js';
import { joinHostPort, splitHostPort } from './networks.js';
import { SocketConn } from './socket-conn.js';
import type { Conn, DialOptions, Listener, TlsOptions, Transport } from './transport.js';

export const tcpTransport: Transport = {
  networks: ['tcp'],

  async listen(network, address, options, onConn) {
    const { host, port } = splitHostPort(address);
    const server = options.tls
      ? nodeTls().createServer(tlsServerOptions(options.tls), (socket) => onConn(new SocketConn(network, socket, undefined, undefined, undefined, options.highWaterMark)))
      : net.createServer({ noDelay: true }, (socket) => onConn(new SocketConn(network, socket, undefined, undefined, undefined, options.highWaterMark)));
    return listenServer(network, server, { host, port, reusePort: options.reusePort === true });
  },

  async dial(network, address, options) {
    const { host, port } = splitHostPort(address);
    const socket = options.tls
      ? nodeTls().connect({ host, port, ...tlsClientOptions(options.tls, host) })
      : net.connect({ host, port, noDelay: true });
    await waitConnected(socket, options, `${network}@${address}`, options.tls ? 'secureConnect' : 'connect');
    // Dialled by IPv4 literal, the peer is what was dialled: no getpeername, no peername object kept on the socket.
    const remote = net.isIPv4(host) && address === `${host}:${port}` ? address : undefined;
    return new SocketConn(network, socket, remote, undefined, undefined, options.highWaterMark);
  },
};

export function tlsServerOptions(options: TlsOptions): tls.TlsOptions {
  const { insecure: _insecure, servername: _servername, alpn, alpnCallback, requestCert, ...context } = options;
  return {
    ...context,
    requestCert: requestCert === true,
    rejectUnauthorized: requestCert === true,
    ...(alpnCallback ? { ALPNCallback: alpnCallback } : alpn ? { ALPNProtocols: alpn } : {}),
  };
}

export function tlsClientOptions(options: TlsOptions, host: string): tls.ConnectionOptions {
  const { insecure, servername, alpn, alpnCallback: _alpnCallback, requestCert: _requestCert, ...context } = options;
  const name = servername ?? (net.isIP(host) ? undefined : host);
  return {
    ...context,
    rejectUnauthorized: insecure !== true,
    ...(name ? { servername: name } : {}),
    ...(alpn ? { ALPNProtocols: alpn } : {}),
    // An IP address is verified against the certificate's IP SANs.
    checkServerIdentity: insecure ? () => undefined : nodeTls().checkServerIdentity,
  };
}

export interface NetListenSpec {
  host?: string;
  port?: number;
  path?: string;
  reusePort?: boolean;
}

/** Binds a `net.Server` and wraps it as a `Listener`. */
export function listenServer(network: string, server: net.Server, spec: NetListenSpec): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    const listenArgs: net.ListenOptions = spec.path !== undefined ? { path: spec.path } : { host: spec.host, port: spec.port };
    if (spec.reusePort) (listenArgs as net.ListenOptions & { reusePort?: boolean }).reusePort = true;
    server.listen(listenArgs, () => {
      server.off('error', onError);
      const bound = server.address();
      const address =
        spec.path !== undefined ? spec.path : typeof bound === 'object' && bound ? joinHostPort(bound.address, bound.port) : String(bound);
      resolve({
        network,
        address,
        // net.Server.close stops accepting at once but calls back only after every accepted socket has closed;
        // accepted connections belong to their owner, so resolve as soon as accepting has stopped.
        close: () => {
          if (server.listening) server.close();
          return Promise.resolve();
        },
      });
    });
  });
}

/** Resolves when the socket connects; rejects with a DialError on error, timeout or abort (destroying the socket). */
export function waitConnected(socket: net.Socket, options: DialOptions, target: string, event: 'connect' | 'secureConnect'): Promise<void> {
  return new Promise((resolve, reject) => {
    const timeoutMs = options.connectTimeoutMs ?? 0;
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      socket.off(event, onConnect);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: DialError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      // OpenSSL's texts span lines; a TLS client meeting a plaintext server gets a one-line explanation instead.
      const reason = (event === 'secureConnect' ? explainTlsDialFailure(error) : undefined) ?? error.message.replace(/\s*\n\s*/g, ' ');
      fail(new DialError(`rpcx: dial ${target} failed: ${reason}`, error));
    };
    const onAbort = (): void => fail(new DialError(`rpcx: dial ${target} aborted`, options.signal?.reason));
    if (options.signal?.aborted) return onAbort();
    socket.once(event, onConnect);
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs > 0) timer = setTimeout(() => fail(new DialError(`rpcx: dial ${target} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
}

export type { Conn };
