/**
 * A `Conn` over a Node `net.Socket` (or `tls.TLSSocket`): the shape shared by tcp, unix, TLS and HTTP CONNECT.
 * Pausing pauses the socket, so the kernel's receive buffer fills and TCP's window stops the peer.
 */
import type { Socket } from 'node:net';
import { ConnBase } from './conn-base.js';
import { joinHostPort } from './networks.js';

/** The SocketConn a socket belongs to, so that one listener function serves every socket (see below). */
const owner = Symbol('rpcx.socketConn');
type OwnedSocket = Socket & { [owner]: SocketConn };

export class SocketConn extends ConnBase {
  readonly #socket: Socket;
  #listening = false;
  #head: Uint8Array | undefined;
  /** The write callback used past the high-water mark; made on first need (most connections never get there). */
  #afterWrite: (() => void) | undefined;

  // The socket's listeners are shared functions that find their SocketConn on the socket (`this` is the emitter),
  // rather than closures per connection: with ten thousand idle client connections the closures and their contexts
  // were a measurable share of the heap.
  static readonly #onError = function (this: OwnedSocket, error: Error): void {
    this[owner].noteError(error);
  };
  static readonly #onClose = function (this: OwnedSocket): void {
    this[owner].closedWith(undefined);
  };
  static readonly #onDrain = function (this: OwnedSocket): void {
    this[owner].drained();
  };
  static readonly #onData = function (this: OwnedSocket, chunk: Buffer): void {
    this[owner].received(chunk);
  };

  /**
   * `head`: bytes already read from the socket before it became a Conn (after an HTTP CONNECT handshake, say);
   * they are delivered first. The socket is not read until onData is set.
   */
  constructor(network: string, socket: Socket, remoteAddress?: string, localAddress?: string, head?: Uint8Array, highWaterMark?: number) {
    // The local address is read now, not when first asked: once the socket is closed Node can no longer tell it, and a
    // postConnClose plugin (like Go's conn.LocalAddr() after Close) must still see it.
    super(network, remoteAddress ?? describe(socket.remoteAddress, socket.remotePort), localAddress ?? describe(socket.localAddress, socket.localPort), highWaterMark);
    this.#socket = socket;
    if (head && head.length > 0) this.#head = head;
    socket.setNoDelay?.(true);
    (socket as OwnedSocket)[owner] = this;
    socket.on('error', SocketConn.#onError);
    socket.on('close', SocketConn.#onClose);
    socket.on('drain', SocketConn.#onDrain);
  }

  override get closed(): boolean {
    return super.closed || this.#socket.destroyed;
  }

  /** The underlying socket, for transports that need it (TLS peer certificates, for example). */
  get socket(): Socket {
    return this.#socket;
  }

  get writableLength(): number {
    return this.#socket.writableLength;
  }

  /** Nothing left in the socket's write queue: the last write went to the kernel at once and its buffer is free. */
  writeReleased(): boolean {
    return this.#socket.writableLength === 0;
  }

  protected send(data: Uint8Array): void {
    // Past our mark Node may not emit 'drain' (its own mark can be higher): the write's callback reports instead.
    if (this.#socket.writableLength + data.byteLength >= this.highWaterMark) this.#socket.write(data, (this.#afterWrite ??= () => this.drained()));
    else this.#socket.write(data);
  }

  protected readingChanged(reading: boolean): void {
    if (!reading) {
      this.#socket.pause();
      return;
    }
    if (!this.#listening) {
      this.#listening = true;
      const head = this.#head;
      this.#head = undefined;
      if (head) this.received(head);
      this.#socket.on('data', SocketConn.#onData);
      if (this.paused) return;
    }
    this.#socket.resume();
  }

  end(): void {
    this.#socket.end();
  }

  destroy(error?: Error): void {
    if (error) this.noteError(error);
    this.#socket.destroy();
  }
}

function describe(host: string | undefined, port: number | undefined): string {
  return host === undefined ? '' : joinHostPort(host, port!);
}
