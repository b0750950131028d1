/**
 * The listener side of a `Conn` for transports whose data arrives as events or stream reads (WebSocket,
 * WebTransport): one data consumer, with chunks that arrive before it is set kept until it is; one close listener,
 * called once with the first error recorded. Browser-safe.
 */
export class ConnEvents {
  #dataListener: ((chunk: Uint8Array) => void) | undefined;
  /** Chunks that arrived before onData was set. */
  #early: Uint8Array[] = [];
  #closeListener: ((error?: Error) => void) | undefined;
  #closed = false;
  #error: Error | undefined;

  get closed(): boolean {
    return this.#closed;
  }

  /** Hands a received chunk to the consumer (or keeps it until there is one). */
  deliver(chunk: Uint8Array): void {
    if (this.#dataListener) this.#dataListener(chunk);
    else this.#early.push(chunk);
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.#dataListener = listener;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) listener(chunk);
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => listener(this.#error));
    else this.#closeListener = listener;
  }

  /** Records why the connection is closing; the first error wins. */
  recordError(error: Error): void {
    this.#error ??= error;
  }

  /** Marks the connection closed and tells the listener, once. */
  close(error?: Error): void {
    if (error) this.recordError(error);
    if (this.#closed) return;
    this.#closed = true;
    const listener = this.#closeListener;
    this.#closeListener = undefined;
    listener?.(this.#error);
  }
}
