/**
 * UDP endpoints: one `node:dgram` socket per listener (many connections, routed by destination connection id) or per
 * dialed connection. Both batch their work per event-loop turn: datagrams go to quiche as they arrive, and every
 * connection that received or wrote something is flushed once, from a single `setImmediate`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { Conn } from '../transport.js';
import type { BuiltConfig, ResolvedSettings } from './config.js';
import { QuicConnection, type ConnectionHost } from './connection.js';
import { PacketType, quiche, type HostPort } from './native.js';
import { Slab } from './slab.js';

/** Length of the connection ids we issue (quiche's maximum). Short-header packets are routed by this many bytes. */
export const CID_LEN = 20;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Every endpoint cuts its outgoing packets from this one slab (a few full-size loopback datagrams), so an idle
 * connection holds no send buffer of its own. Each flush hands its last datagram to dgram with `flushSent` as the
 * callback; dgram sends a socket's datagrams in order, so when no flush's callback is outstanding, every datagram cut
 * from the slab is out and the slab is rewound: outgoing packets reuse one buffer instead of a fresh one per 256 KiB.
 * (A callback that never came would only stop the rewinding; fresh slabs would take over.)
 */
const sendSlab = new Slab(256 * 1024);
let flushesInFlight = 0;
const flushSent = (): void => {
  if (--flushesInFlight === 0) sendSlab.rewind();
};
const RETRY_TOKEN_LIFETIME_MS = 10_000;
/** A server connection that has not completed its handshake by then is dropped (even with the idle timeout off). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Larger kernel buffers absorb bursts (a flow-control window's worth of datagrams); the kernel may cap them. */
export function enlargeSocketBuffers(socket: dgram.Socket): void {
  try {
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // Capped or refused: the default buffer still works.
  }
  try {
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // As above.
  }
}

/** The per-turn flush shared by both endpoint kinds. */
abstract class UdpEndpoint implements ConnectionHost {
  readonly network: string;
  readonly local: HostPort;
  readonly localAddress: string;
  readonly sendSlab = sendSlab;
  protected readonly socket: dgram.Socket;
  #dirty: QuicConnection[] = [];
  #scheduled = false;

  constructor(network: string, socket: dgram.Socket) {
    this.network = network;
    this.socket = socket;
    const bound = socket.address();
    this.local = { host: bound.address, port: bound.port };
    this.localAddress = formatHostPort(bound.address, bound.port);
  }

  schedule(conn: QuicConnection): void {
    if (conn.queued) return;
    conn.queued = true;
    this.#dirty.push(conn);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Two immediates queued together run in the same check phase with the microtask queue drained in between.
    setImmediate(this.#runIncoming);
    setImmediate(this.#runOutgoing);
  }

  readonly #runIncoming = (): void => {
    const list = this.#dirty;
    for (let i = 0; i < list.length; i++) list[i]!.processIncoming();
  };

  readonly #runOutgoing = (): void => {
    this.#scheduled = false;
    const list = this.#dirty;
    this.#dirty = [];
    for (const conn of list) {
      conn.queued = false;
      conn.flushOutgoing();
    }
  };

  /** Sends a flush's last datagram, counted until dgram is done with it (see sendSlab). */
  protected sendLast(data: Uint8Array, to?: HostPort): void {
    if (to) this.socket.send(data, to.port, to.host, flushSent);
    else this.socket.send(data, flushSent);
    // Counted once send() has returned: dgram calls back asynchronously, and a send that threw never calls back.
    flushesInFlight++;
  }

  abstract transmit(data: Uint8Array, to: HostPort, last: boolean): void;
  abstract release(conn: QuicConnection): void;
}

/** A dialed connection's socket: connected to the server, carrying that one connection. */
export class ClientEndpoint extends UdpEndpoint {
  #conn: QuicConnection | undefined;
  #closed = false;

  constructor(network: string, socket: dgram.Socket, remote: HostPort) {
    super(network, socket);
    socket.on('message', (data) => this.#conn?.receive(data, remote.host, remote.port));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A connected UDP socket learns of ICMP port-unreachable as ECONNREFUSED: nobody listens there.
      if (error.code === 'ECONNREFUSED') this.#conn?.destroyConnection(error);
    });
  }

  attach(conn: QuicConnection): void {
    this.#conn = conn;
  }

  transmit(data: Uint8Array, _to: HostPort, last: boolean): void {
    if (this.#closed) return;
    if (last) this.sendLast(data);
    else this.socket.send(data);
  }

  release(): void {
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn = undefined;
    // Let this turn's sends (the CONNECTION_CLOSE) leave before the handle goes.
    setImmediate(() => this.socket.close());
  }
}

/** A listener's socket: routes datagrams to connections by connection id and accepts new ones. */
export class ServerEndpoint extends UdpEndpoint {
  readonly #conns = new Map<string, QuicConnection>();
  readonly #configFor: (ip: string) => BuiltConfig;
  readonly #settings: ResolvedSettings;
  readonly #onConn: (conn: Conn) => void;
  readonly #tokenKey = randomBytes(32);
  #accepting = true;
  #socketClosed = false;
  #socketClosedP: Promise<void>;

  constructor(
    network: string,
    socket: dgram.Socket,
    configFor: (ip: string) => BuiltConfig,
    settings: ResolvedSettings,
    onConn: (conn: Conn) => void,
  ) {
    super(network, socket);
    this.#configFor = configFor;
    this.#settings = settings;
    this.#onConn = onConn;
    this.#socketClosedP = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', this.#onMessage);
    // Send failures (a vanished client) are recovered by QUIC itself; nothing to do here.
    socket.on('error', () => {});
  }

  get connectionCount(): number {
    return new Set(this.#conns.values()).size;
  }

  transmit(data: Uint8Array, to: HostPort, last = false): void {
    if (this.#socketClosed) return;
    if (last) this.sendLast(data, to);
    else this.socket.send(data, to.port, to.host);
  }

  release(conn: QuicConnection): void {
    for (const key of conn.keys) if (this.#conns.get(key) === conn) this.#conns.delete(key);
    this.#maybeCloseSocket();
  }

  /** Stops accepting connections; the socket closes once the last accepted connection is gone. */
  async close(): Promise<void> {
    if (!this.#accepting) return;
    this.#accepting = false;
    // Connections still in their handshake were never handed out: they go now.
    for (const conn of new Set(this.#conns.values())) {
      if (conn.state === 'handshake') conn.destroyConnection();
    }
    this.#maybeCloseSocket();
    if (this.#conns.size === 0) await this.#socketClosedP;
  }

  closed(): void {
    if (!this.#accepting) queueMicrotask(() => this.#maybeCloseSocket());
  }

  /** Resolves once the UDP socket is closed (after close() and the last connection's release). */
  released(): Promise<void> {
    return this.#socketClosedP;
  }

  #maybeCloseSocket(): void {
    if (this.#accepting || this.#socketClosed) return;
    // Once the listener is closed, connections already reported closed (quiche draining them) do not hold the
    // socket: a server restarting on the same port must be able to bind it.
    for (const conn of new Set(this.#conns.values())) if (conn.state === 'closed') conn.forceRelease();
    // (forceRelease re-enters through release() and may have closed the socket already.)
    if (this.#conns.size > 0 || this.#socketClosed) return;
    this.#socketClosed = true;
    setImmediate(() => this.socket.close());
  }

  readonly #onMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
    const key = routingKey(data);
    if (key === undefined) return;
    const conn = this.#conns.get(key);
    if (conn) {
      conn.receive(data, rinfo.address, rinfo.port);
      return;
    }
    // Only a long-header packet can start a connection.
    if ((data[0]! & 0x80) === 0 || !this.#accepting) return;
    this.#accept(data, rinfo);
  };

  #accept(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const binding = quiche();
    let header;
    try {
      header = binding.Header.fromSlice(data, CID_LEN);
    } catch {
      return;
    }
    const remote: HostPort = { host: rinfo.address, port: rinfo.port };
    // RFC 9000 §14.1: a datagram under 1200 bytes cannot start a connection and is dropped, whatever its version; in
    // particular it gets no Version Negotiation, which would let a spoofed source use us as a reflector.
    if (data.length < binding.MIN_CLIENT_INITIAL_LEN) return;
    if (!binding.versionIsSupported(header.version)) {
      const out = Buffer.allocUnsafe(binding.MAX_DATAGRAM_SIZE);
      const length = binding.negotiateVersion(header.scid, header.dcid, out);
      this.transmit(out.subarray(0, length), remote);
      return;
    }
    if (header.ty !== PacketType.Initial) return;

    let scid: Uint8Array;
    let odcid: Uint8Array | null = null;
    if (this.#settings.retry) {
      const token = header.token;
      if (!token || token.length === 0) {
        const newScid = randomBytes(CID_LEN);
        const out = Buffer.allocUnsafe(binding.MAX_DATAGRAM_SIZE);
        const length = binding.retry(header.scid, header.dcid, newScid, this.#mintToken(header.dcid, remote), header.version, out);
        this.transmit(out.subarray(0, length), remote);
        return;
      }
      odcid = this.#validateToken(token, remote) ?? null;
      if (!odcid || header.dcid.length !== CID_LEN) return;
      scid = header.dcid;
    } else {
      scid = randomBytes(CID_LEN);
    }

    const built = this.#configFor(rinfo.address);
    let native;
    try {
      native = binding.Connection.accept(scid, odcid, this.local, remote, built.config);
    } catch {
      return;
    }
    const conn = new QuicConnection({
      role: 'server',
      native,
      host: this,
      remote,
      settings: this.#settings,
      alpn: built.alpn,
      datagramSize: built.datagramSize,
      requireClientCert: built.verifyPeer,
      onEstablished: (established) => {
        if (this.#accepting) this.#onConn(established.stream);
        else established.destroyConnection();
      },
      onHandshakeFailed: () => {},
    });
    const scidKey = Buffer.from(scid).toString('latin1');
    const dcidKey = Buffer.from(header.dcid).toString('latin1');
    conn.keys.push(scidKey);
    if (dcidKey !== scidKey) conn.keys.push(dcidKey);
    for (const key of conn.keys) this.#conns.set(key, conn);
    setTimeout(() => {
      if (conn.state === 'handshake') conn.destroyConnection();
    }, HANDSHAKE_TIMEOUT_MS).unref();
    conn.receive(data, rinfo.address, rinfo.port);
  }

  /** Retry token: issue time, the client's original DCID, and an HMAC binding both to the client's address. */
  #mintToken(odcid: Uint8Array, remote: HostPort): Buffer {
    const head = Buffer.allocUnsafe(9 + odcid.length);
    head.writeDoubleBE(Date.now(), 0);
    head[8] = odcid.length;
    head.set(odcid, 9);
    return Buffer.concat([head, this.#tokenMac(head, remote)]);
  }

  #validateToken(token: Uint8Array, remote: HostPort): Uint8Array | undefined {
    const buf = Buffer.from(token);
    if (buf.length < 9 + 32) return undefined;
    const odcidLength = buf[8]!;
    if (buf.length !== 9 + odcidLength + 32) return undefined;
    const head = buf.subarray(0, 9 + odcidLength);
    const mac = buf.subarray(9 + odcidLength);
    if (!this.#tokenMac(head, remote).equals(mac)) return undefined;
    const age = Date.now() - head.readDoubleBE(0);
    if (age < 0 || age > RETRY_TOKEN_LIFETIME_MS) return undefined;
    return head.subarray(9);
  }

  #tokenMac(head: Buffer, remote: HostPort): Buffer {
    return createHmac('sha256', this.#tokenKey).update(head).update(`${remote.host}|${remote.port}`).digest();
  }
}

/** The destination connection id of a packet, as a map key (latin1 keeps every byte). */
function routingKey(data: Buffer): string | undefined {
  if (data.length < 1 + CID_LEN) return undefined;
  if ((data[0]! & 0x80) === 0) return data.toString('latin1', 1, 1 + CID_LEN);
  const dcidLength = data[5]!;
  if (dcidLength > CID_LEN || data.length < 6 + dcidLength) return undefined;
  return data.toString('latin1', 6, 6 + dcidLength);
}
