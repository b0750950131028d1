/**
 * Bump allocation of short-lived byte ranges from shared slabs, for quiche to write into: outgoing packets, and stream
 * bytes read for delivery. quiche writes into `space()`, `take(n)` cuts the n written bytes off as their own view,
 * and the next range starts after them. A fresh slab replaces the current one once its free space is smaller than
 * asked for. A slab is only rewound by an owner that knows every view is done with (sent datagrams); views given to
 * readers, who may keep them, are never overwritten.
 *
 * One allocation per slab instead of one per packet or chunk: every ArrayBuffer counts as external memory, and their
 * churn is what made V8 run full mark-compacts several times a second.
 */
export class Slab {
  readonly #size: number;
  #buffer: Buffer;
  #offset = 0;

  /** `size` bounds what one view can keep alive, as a TCP socket's 64 KiB read buffers do. */
  constructor(size: number) {
    this.#size = size;
    this.#buffer = Buffer.allocUnsafe(size);
  }

  /** Free space of at least `min` bytes (and at most `max`), valid until the next `take` or `space`. */
  space(min: number, max = min): Buffer {
    if (this.#size - this.#offset < min) {
      this.#buffer = Buffer.allocUnsafe(this.#size);
      this.#offset = 0;
    }
    return this.#buffer.subarray(this.#offset, Math.min(this.#size, this.#offset + max));
  }

  /** The first `length` bytes of the last `space`, as a view of their own. */
  take(length: number): Buffer {
    const view = this.#buffer.subarray(this.#offset, this.#offset + length);
    // Eight-byte alignment keeps every view usable for typed-array access.
    this.#offset = Math.min(this.#size, this.#offset + ((length + 7) & ~7));
    return view;
  }

  /** Starts over at the front of the current slab: only when no view taken from it (or earlier) is in use any more. */
  rewind(): void {
    this.#offset = 0;
  }
}
