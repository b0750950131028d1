/** One HTTP/2 session speaking gRPC: what plugins and /connections see, and its share of graceful shutdown. */
import type { ServerHttp2Session } from 'node:http2';
import { FrontConnection } from '../front-connection.js';

export class GrpcConnection extends FrontConnection {
  readonly protocol = 'grpc';
  session: ServerHttp2Session | undefined;
  /** The first reply of the connection announced `grpc-accept-encoding` (clients keep it per channel). */
  acceptEncodingSent = false;
  #drainListeners: Array<() => void> = [];

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

  /** HTTP/2 sessions time out on their own (GrpcLimits.idleTimeoutMs); the server's HTTP/1.1 sweep has nothing to do. */
  checkTimeouts(_now: number, _limits: unknown): void {}

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
