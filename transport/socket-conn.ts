/**
 * A `Conn` over a Node `net.Socket` (or `tls.TLSSocket`): the shape shared by tcp, unix, TLS and HTTP CONNECT.
 * Pausing pauses the socket, so the kernel's receive buffer fills and TCP's window stops the peer.
 */
import type { Socket } from 'node:net';
import { ConnBase } from './conn-base.js';

export class SocketConn extends ConnBase {
  readonly #socket: Socket;
  #listening = false;
  #head: Uint8Array | undefined;
  readonly #afterWrite = (): void => this.drained();

  /**
   * `head`: bytes already read from the socket before it became a Conn (after an HTTP CONNECT handshake, say);
   * they are delivered first. The socket is not read until onData is set.
   */
  constructor(network: string, socket: Socket, remoteAddress?: string, localAddress?: string, head?: Uint8Array, highWaterMark?: number) {
    super(network, remoteAddress ?? describe(socket.remoteAddress, socket.remotePort), localAddress ?? describe(socket.localAddress, socket.localPort), highWaterMark);
    this.#socket = socket;
    if (head && head.length > 0) this.#head = head;
    socket.setNoDelay?.(true);
    socket.on('error', (error) => this.noteError(error));
    socket.on('close', () => this.closedWith(undefined));
    socket.on('drain', this.#afterWrite);
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
    if (this.#socket.writableLength + data.byteLength >= this.highWaterMark) this.#socket.write(data, this.#afterWrite);
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
      this.#socket.on('data', (chunk: Buffer) => this.received(chunk));
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
  if (host === undefined) return '';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
