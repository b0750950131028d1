/**
 * Batches outgoing frames: every Message queued during one turn of the event loop is encoded into one buffer and
 * handed to the sink in a single write, so a burst of replies or calls costs one syscall, not one per frame.
 * A large backlog is flushed early so memory stays bounded.
 */
import type { Message } from './message.js';
import { allocBytes } from './utf8.js';

/** Flush at once when this many bytes are queued, without waiting for the end of the turn. */
const EARLY_FLUSH_BYTES = 256 * 1024;

/** Flushes `writer` after the current turn's I/O and microtasks (setImmediate on Node; a macrotask in browsers). */
const deferFlush: (writer: FrameWriter) => void =
  typeof setImmediate === 'function' ? (writer) => setImmediate(flushWriter, writer) : (writer) => setTimeout(flushWriter, 0, writer);

/** The deferred callback, shared by every writer (a closure per writer would cost every connection its size). */
function flushWriter(writer: FrameWriter): void {
  writer.flush();
}

export class FrameWriter {
  readonly #sink: (bytes: Uint8Array) => void;
  #queue: Message[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  #closed = false;

  constructor(sink: (bytes: Uint8Array) => void) {
    this.#sink = sink;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  write(message: Message): void {
    if (this.#closed) return;
    const length = message.encodedLength();
    // A large frame goes out on its own without being copied into a batch.
    if (length >= EARLY_FLUSH_BYTES) {
      this.flush();
      const out = allocBytes(length);
      message.encodeInto(out, 0);
      this.#sink(out);
      return;
    }
    this.#queue.push(message);
    this.#queuedBytes += length;
    if (this.#queuedBytes >= EARLY_FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      deferFlush(this);
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#queue.length === 0) return;
    const queue = this.#queue;
    const out = allocBytes(this.#queuedBytes);
    this.#queue = [];
    this.#queuedBytes = 0;
    let at = 0;
    for (let i = 0; i < queue.length; i++) {
      // encodedLength() ran at enqueue; encodeInto reuses the lengths it measured.
      at = queue[i]!.encodeInto(out, at);
    }
    this.#sink(out);
  }

  /** Drops anything still queued; later writes are ignored. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}
