/**
 * The seam between the RPC layer and the networks. A transport knows how to listen and dial for one network name
 * (`tcp`, `unix`, `kcp`, ...) and hands out `Conn`s: ordered, reliable byte streams. Nothing above this file knows
 * which network a connection runs on; adding a network is one file implementing `Transport` plus one registration.
 */
import type { SecureContextOptions } from 'node:tls';

/** One ordered, reliable, bidirectional byte stream. */
export interface Conn {
  /** The network name this connection was made on (`tcp`, `unix`, ...). */
  readonly network: string;
  /** The peer, as `host:port` (or the socket path for unix). */
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** True once the connection is closed in either direction; no more data will arrive and writes are dropped. */
  readonly closed: boolean;
  /** Bytes accepted by write() that the network has not taken yet. */
  readonly writableLength: number;
  /**
   * Writes bytes. Returns false once the bytes queued and not yet sent pass the connection's high-water mark: the
   * caller should stop producing (and stop reading requests that would produce more) until the drain listener runs.
   * Writes are still accepted and buffered.
   */
  write(data: Uint8Array): boolean;
  /**
   * Optional: true when the bytes of the last write are no longer referenced (the transport handed them on
   * synchronously), so the caller may reuse that buffer for the next write. Transports that cannot tell omit it.
   */
  writeReleased?(): boolean;
  /**
   * Sets the single consumer of incoming bytes. Chunk boundaries carry no meaning. Bytes that arrived before are
   * delivered first.
   */
  onData(listener: (chunk: Uint8Array) => void): void;
  /**
   * Stops delivering incoming bytes and stops reading them from the network, so the peer is slowed down by the
   * network's own flow control (TCP window, KCP and QUIC windows, a paused WebSocket). Bytes already read are held.
   */
  pause(): void;
  /** Delivers held bytes and reads again. */
  resume(): void;
  /** Called once when the connection closes, with the error that closed it, if any. */
  onClose(listener: (error?: Error) => void): void;
  /** Called once after a write returned false, when the queued bytes have fallen back under the high-water mark. */
  onDrain(listener: () => void): void;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes at once, dropping unsent bytes. */
  destroy(error?: Error): void;
}

/** TLS settings, shared by every TLS-capable network (tcp+TLS, quic, wss). */
export interface TlsOptions extends SecureContextOptions {
  /** Server: demand and verify client certificates (mutual TLS). */
  requestCert?: boolean;
  /** Client: skip certificate verification (tests only). */
  insecure?: boolean;
  /** Client: the name to verify the server certificate against (defaults to the dialed host). */
  servername?: string;
  /** ALPN protocols to offer or accept. */
  alpn?: string[];
  /**
   * Server: picks the ALPN protocol from the client's offer instead of `alpn` (return one of `protocols`; undefined
   * refuses the handshake).
   */
  alpnCallback?: (offer: { servername: string; protocols: string[] }) => string | undefined;
}

export interface ListenOptions {
  tls?: TlsOptions;
  /** Outbound bytes queued on a connection past which its write() returns false (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Connections this listener may hold; networks that can refuse before a connection costs anything (kcp) do it
   * there. The Server passes its `maxConnectionsPerListener`.
   */
  maxConnections?: number;
  /** Network-specific settings (for example KCP's key and FEC shards), read only by that network's transport. */
  [setting: string]: unknown;
}

export interface DialOptions {
  tls?: TlsOptions;
  /** Outbound bytes queued on the connection past which its write() returns false (default 1 MiB). */
  highWaterMark?: number;
  /** Milliseconds to wait for the connection to be established. */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  [setting: string]: unknown;
}

/** A bound listener. */
export interface Listener {
  readonly network: string;
  /** The bound address, with the real port when port 0 was asked for. */
  readonly address: string;
  /** Stops accepting. Connections already accepted are left to their owner. */
  close(): Promise<void>;
  /**
   * Optional: resolves once nothing holds the listener's address any more. A listener whose accepted connections
   * share its socket (QUIC over one UDP socket) releases the port only after the last of them is gone, which is
   * after close(); a server awaits this at the end of its shutdown, so a restart on the same port can bind it.
   */
  released?(): Promise<void>;
}

export interface Transport {
  /** The network names this transport serves (e.g. `['tcp']`, or `['ws', 'wss']`). */
  readonly networks: readonly string[];
  listen(network: string, address: string, options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener>;
  dial(network: string, address: string, options: DialOptions): Promise<Conn>;
}
