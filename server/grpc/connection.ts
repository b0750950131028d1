/** One HTTP/2 session speaking gRPC: what plugins and /connections see, and its share of graceful shutdown. */
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { SocketConn } from '../../transport/socket-conn.js';
import { FrontConnection } from '../front-connection.js';

export class GrpcConnection extends FrontConnection {
  readonly protocol = 'grpc';
  session: ServerHttp2Session | undefined;
  /** The first reply of the connection announced `grpc-accept-encoding` (clients keep it per channel). */
  acceptEncodingSent = false;
  #drainListeners: Array<() => void> = [];
  readonly #idleTimeoutMs: number;
  /** `requests` when the sweep last looked, and when it last saw the connection busy (performance.now()). */
  #requestsSeen = 0;
  #busyAt = performance.now();

  /** `idleTimeoutMs`: GrpcLimits.idleTimeoutMs (0: never). */
  constructor(conn: SocketConn, socket: Socket, idleTimeoutMs: number) {
    super(conn, socket);
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Runs `listener` when the server starts draining (health watchers announce NOT_SERVING). */
  onDrain(listener: () => void): void {
    if (this.draining) listener();
    else this.#drainListeners.push(listener);
  }

  /** Draining: watchers hear it, GOAWAY goes out (clients open new calls elsewhere), calls in flight finish. */
  protected override drainStarted(): void {
    const listeners = this.#drainListeners;
    this.#drainListeners = [];
    for (const listener of listeners) listener();
    if (this.session && !this.session.closed) this.session.close();
  }

  /**
   * Called by the server's sweep: a connection that started no call and had none running for idleTimeoutMs gets
   * GOAWAY (gRPC's "max connection idle": pings do not count). Not http2's session.setTimeout, which Node refreshes
   * on every frame of every call, a timer update per call the sweep does not need.
   */
  checkTimeouts(now: number, _limits: unknown): void {
    if (this.#idleTimeoutMs <= 0 || this.session === undefined || this.session.closed) return;
    if (this.requests !== this.#requestsSeen || this.inFlight > 0) {
      this.#requestsSeen = this.requests;
      this.#busyAt = now;
    } else if (now - this.#busyAt > this.#idleTimeoutMs) {
      this.session.close();
    }
  }

  /** GOAWAY, then the session ends (and with it the socket) once its streams have. */
  close(): void {
    if (this.session === undefined) this.socket.end();
    else if (!this.session.closed) this.session.close();
  }

  override destroy(): void {
    this.session?.destroy();
    super.destroy();
  }
}
