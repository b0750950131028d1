/**
 * `quic`: rpcx over QUIC, as rpcx's Go implementation speaks it (quic-go): TLS is mandatory, ALPN `rpcx`, and the
 * rpcx byte stream runs on one bidirectional stream per connection, opened by the client (stream 0).
 *
 * QUIC itself is quiche, through the N-API binding of `@matrixai/quic` (its per-platform package, such as
 * `@matrixai/quic-linux-x64`); the event loop around it (UDP sockets, connection-id routing, per-turn flushing,
 * timers) is ours, in `./quic/`.
 *
 * Settings beyond TLS go in `options.quic` (see `QuicSettings`): idle timeout, keep-alive, datagram size, flow-control
 * windows, congestion control, stateless retry.
 */
import { lookup } from 'node:dns/promises';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError, DialError } from '../errors.js';
import { splitHostPort } from './networks.js';
import type { Conn, DialOptions, Listener, ListenOptions, Transport } from './transport.js';
import { buildConfig, datagramSizeFor, resolveSettings, serverConfigs } from './quic/config.js';
import { QuicConnection } from './quic/connection.js';
import { CID_LEN, ClientEndpoint, ServerEndpoint, enlargeSocketBuffers } from './quic/endpoint.js';
import { quiche } from './quic/native.js';

export type { QuicSettings } from './quic/config.js';
export { RPCX_ALPN } from './quic/config.js';

export const quicTransport: Transport = {
  networks: ['quic'],
  listen: listenQuic,
  dial: dialQuic,
};

async function listenQuic(network: string, address: string, options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
  if (!options.tls) throw new ConfigError('rpcx: the quic network requires TLS: listen options need tls.cert and tls.key');
  const settings = resolveSettings(options.quic, options.highWaterMark);
  const configFor = serverConfigs(options.tls, settings);
  const { host, port } = splitHostPort(address);
  const ip = isIP(host) ? host : (await lookup(host)).address;
  const socket = dgram.createSocket({ type: isIP(ip) === 6 ? 'udp6' : 'udp4', reuseAddr: options.reusePort === true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, ip, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  enlargeSocketBuffers(socket);
  const endpoint = new ServerEndpoint(network, socket, configFor, settings, onConn);
  return {
    network,
    address: endpoint.localAddress,
    close: () => endpoint.close(),
    released: () => endpoint.released(),
  };
}

async function dialQuic(network: string, address: string, options: DialOptions): Promise<Conn> {
  const target = `${network}@${address}`;
  const settings = resolveSettings(options.quic, options.highWaterMark);
  const tls = options.tls ?? {};
  const { host, port } = splitHostPort(address);
  if (options.signal?.aborted) throw new DialError(`rpcx: dial ${target} aborted`, options.signal.reason);

  let ip: string;
  try {
    ip = isIP(host) ? host : (await lookup(host)).address;
  } catch (error) {
    throw new DialError(`rpcx: dial ${target} failed: ${(error as Error).message}`, error);
  }
  // Built once the address is known: a loopback peer gets larger datagrams.
  const built = buildConfig('client', tls, settings, datagramSizeFor(settings, ip));
  const socket = dgram.createSocket(isIP(ip) === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, ip, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw new DialError(`rpcx: dial ${target} failed: ${(error as Error).message}`, error);
  }
  enlargeSocketBuffers(socket);

  const remote = { host: ip, port };
  const endpoint = new ClientEndpoint(network, socket, remote);
  // SNI and name checks: the configured servername, else the dialed host name; an IP literal gets no SNI (TLS forbids
  // it) and is checked against the certificate's IP addresses instead.
  const sni = tls.servername ?? (isIP(host) ? null : host);
  const verifyHost = built.verifyPeer ? (tls.servername ?? host) : undefined;

  return new Promise<Conn>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    let conn: QuicConnection;
    try {
      const native = quiche().Connection.connect(sni, randomBytes(CID_LEN), endpoint.local, remote, built.config);
      conn = new QuicConnection({
        role: 'client',
        native,
        host: endpoint,
        remote,
        settings,
        alpn: built.alpn,
        datagramSize: built.datagramSize,
        ...(verifyHost !== undefined ? { verifyHost } : {}),
        onEstablished: (established) => {
          if (settle()) resolve(established.stream);
        },
        onHandshakeFailed: (error) => {
          if (settle()) reject(new DialError(`rpcx: dial ${target} failed: ${error.message}`, error));
        },
      });
    } catch (error) {
      endpoint.close();
      reject(new DialError(`rpcx: dial ${target} failed: ${(error as Error).message}`, error));
      return;
    }
    const onAbort = (): void => {
      if (!settle()) return;
      conn.destroyConnection();
      reject(new DialError(`rpcx: dial ${target} aborted`, options.signal?.reason));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = options.connectTimeoutMs ?? 0;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        if (!settle()) return;
        conn.destroyConnection();
        reject(new DialError(`rpcx: dial ${target} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }
    endpoint.attach(conn);
    conn.flush();
  });
}

