/**
 * A `Conn` over a Node `net.Socket` (or `tls.TLSSocket`): the shape shared by tcp, unix, TLS and HTTP CONNECT.
 */
import type { Socket } from 'node:net';
import type { Conn } from './transport.js';

export class SocketConn implements Conn {
  readonly network: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly #socket: Socket;
  #closed = false;
  #closeListener: ((error?: Error) => void) | undefined;
  #closeError: Error | undefined;
  #head: Uint8Array | undefined;

  /**
   * `head`: bytes already read from the socket before it became a Conn (after an HTTP CONNECT handshake, say);
   * they are delivered first.
   */
  constructor(network: string, socket: Socket, remoteAddress?: string, localAddress?: string, head?: Uint8Array) {
    this.network = network;
    this.#socket = socket;
    this.remoteAddress = remoteAddress ?? describe(socket.remoteAddress, socket.remotePort);
    this.localAddress = localAddress ?? describe(socket.localAddress, socket.localPort);
    if (head && head.length > 0) {
      this.#head = head;
      // Hold socket data back until onData is set, so the head stays first.
      socket.pause();
    }
    socket.setNoDelay?.(true);
    socket.on('error', (error) => {
      this.#closeError ??= error;
    });
    socket.on('close', () => {
      this.#closed = true;
      const listener = this.#closeListener;
      this.#closeListener = undefined;
      listener?.(this.#closeError);
    });
  }

  get closed(): boolean {
    return this.#closed || this.#socket.destroyed;
  }

  /** The underlying socket, for transports that need it (TLS peer certificates, for example). */
  get socket(): Socket {
    return this.#socket;
  }

  write(data: Uint8Array): boolean {
    if (this.closed) return true;
    return this.#socket.write(data);
  }

  /** Nothing left in the socket's write queue: the last write went to the kernel at once and its buffer is free. */
  writeReleased(): boolean {
    return this.#socket.writableLength === 0;
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    const head = this.#head;
    this.#head = undefined;
    if (head) listener(head);
    this.#socket.on('data', listener);
    this.#socket.resume();
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => listener(this.#closeError));
    else this.#closeListener = listener;
  }

  onDrain(listener: () => void): void {
    this.#socket.on('drain', listener);
  }

  end(): void {
    this.#socket.end();
  }

  destroy(error?: Error): void {
    if (error) this.#closeError ??= error;
    this.#socket.destroy();
  }
}

function describe(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return '';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
