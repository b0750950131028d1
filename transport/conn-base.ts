/**
 * What every `Conn` has in common, owned here once: the single data, close and drain listeners; pause()/resume()
 * with the chunks that arrive while paused (or before anyone listens) held in order; write() reporting back-pressure
 * once the bytes it accepted and the network has not yet taken pass the high-water mark; 'drain' once they fall back
 * under it; the close reported exactly once.
 *
 * A network file extends `ConnBase` and supplies only what is particular to it: how bytes are sent (`send`), how
 * many are still queued (`writableLength`), how to stop and restart its source of incoming bytes (`readingChanged`),
 * and how to end or destroy. It reports back through `received`, `drained` and `closedWith`.
 */
import type { Conn } from './transport.js';

/** Default high-water mark of a connection's outbound queue: past it write() returns false. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

export abstract class ConnBase implements Conn {
  readonly network: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly highWaterMark: number;
  #dataListener: ((chunk: Uint8Array) => void) | undefined;
  /** Chunks received while paused or before onData: delivered first, in order (undefined: none). */
  #held: Uint8Array[] | undefined;
  #paused = false;
  #closed = false;
  #closeListener: ((error?: Error) => void) | undefined;
  #closeError: Error | undefined;
  #closeReported = false;
  #drainListener: (() => void) | undefined;
  #needDrain = false;

  constructor(network: string, remoteAddress: string, localAddress: string, highWaterMark = DEFAULT_HIGH_WATER_MARK) {
    this.network = network;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
    this.highWaterMark = highWaterMark;
  }

  // ------------------------------------------------------------ what a network supplies

  /** Bytes accepted by write() that the network has not yet taken. */
  abstract get writableLength(): number;
  /** Queues bytes for the network (never called once closed). */
  protected abstract send(data: Uint8Array): void;
  /** Stops (false) or (re)starts (true) the source of incoming bytes; called on pause, resume and the first onData. */
  protected abstract readingChanged(reading: boolean): void;
  abstract end(): void;
  abstract destroy(error?: Error): void;

  /** Whether the outbound queue is past the high-water mark (a network may measure it its own way). */
  protected get full(): boolean {
    return this.writableLength >= this.highWaterMark;
  }

  // ------------------------------------------------------------ Conn

  get closed(): boolean {
    return this.#closed;
  }

  /** True between pause() and resume(). */
  get paused(): boolean {
    return this.#paused;
  }

  /** True when someone listens and the connection is not paused: a network should read only then. */
  protected get reading(): boolean {
    return this.#dataListener !== undefined && !this.#paused && !this.#closed;
  }

  /** True when a write returned false and 'drain' has not been reported yet. */
  get needDrain(): boolean {
    return this.#needDrain;
  }

  write(data: Uint8Array): boolean {
    if (this.closed) return true;
    if (data.byteLength > 0) this.send(data);
    if (this.full) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.#dataListener = listener;
    this.#flushHeld();
    if (!this.#paused && !this.#closed) this.readingChanged(true);
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.#closeReported) queueMicrotask(() => listener(this.#closeError));
    else this.#closeListener = listener;
  }

  onDrain(listener: () => void): void {
    this.#drainListener = listener;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (!this.#closed) this.readingChanged(false);
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#flushHeld();
    if (!this.#paused && !this.#closed && this.#dataListener) this.readingChanged(true);
  }

  // ------------------------------------------------------------ reported by the network

  /** Incoming bytes: delivered now, or held while paused or unclaimed. */
  protected received(chunk: Uint8Array): void {
    if (this.#dataListener !== undefined && !this.#paused && this.#held === undefined) this.#dataListener(chunk);
    else (this.#held ??= []).push(chunk);
  }

  /** The network took bytes off the queue: reports 'drain' when a write had returned false and it is now below. */
  protected drained(): void {
    if (!this.#needDrain || this.full) return;
    this.#needDrain = false;
    this.#drainListener?.();
  }

  /** The connection is closed: marks it, drops held input and reports the close once (now, or in a microtask). */
  protected closedWith(error: Error | undefined, async = false): void {
    if (error) this.#closeError ??= error;
    if (this.#closed) return;
    this.#closed = true;
    this.#held = undefined;
    const report = (): void => {
      this.#closeReported = true;
      const listener = this.#closeListener;
      this.#closeListener = undefined;
      listener?.(this.#closeError);
    };
    if (async) queueMicrotask(report);
    else report();
  }

  /** Records the error to report when the close comes (a socket's 'error' precedes its 'close'). */
  protected noteError(error: Error): void {
    this.#closeError ??= error;
  }

  #flushHeld(): void {
    const listener = this.#dataListener;
    if (listener === undefined) return;
    const held = this.#held;
    if (held === undefined) return;
    while (held.length > 0 && !this.#paused && !this.#closed) listener(held.shift()!);
    // Made again only when something has to wait (most connections never hold anything).
    if (held.length === 0 && this.#held === held) this.#held = undefined;
  }
}
