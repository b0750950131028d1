/**
 * What every server-side connection is, whatever it speaks (binary rpcx, HTTP/1.1, HTTP/2 for gRPC): an id unique
 * across all kinds (so /connections lists each once), its transport Conn, when it opened and how many requests it
 * read. Its addresses and closed state are the Conn's. ServerConnection and FrontConnection build on it.
 */
import type { Conn } from '../transport/transport.js';

let nextId = 1;

export abstract class ConnectionBase<C extends Conn = Conn> {
  readonly id = nextId++;
  /** `rpcx`, `http` or `grpc`. */
  abstract readonly protocol: string;
  readonly conn: C;
  /** Milliseconds since the epoch. */
  readonly openedAt = Date.now();
  /** Requests received on this connection. */
  requests = 0;

  constructor(conn: C) {
    this.conn = conn;
  }

  get network(): string {
    return this.conn.network;
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  get localAddress(): string {
    return this.conn.localAddress;
  }

  get closed(): boolean {
    return this.conn.closed;
  }
}
