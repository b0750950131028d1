/**
 * Batches outgoing frames: every Message queued during one turn of the event loop is handed to the sink in a single
 * write, so a burst of replies or calls costs one syscall, not one per frame. A large backlog is flushed early so
 * memory stays bounded.
 *
 * A message is encoded when it is queued: what happens to the Message object afterwards (a plugin replacing its
 * payload, say) cannot change or break the bytes already queued.
 *
 * The sink returns false when the connection's outbound queue passed its high-water mark (Conn.write); the writer
 * then calls `onFull` once per such write, so its owner can stop producing (stop reading requests) until drain.
 */
import type { Message } from './message.js';
import { allocBytes } from './utf8.js';

/** Flush at once when this many bytes are queued, without waiting for the end of the turn. */
const EARLY_FLUSH_BYTES = 256 * 1024;

/** After the current turn's I/O and microtasks (setImmediate on Node; a macrotask in browsers). */
const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

export class FrameWriter {
  readonly #sink: (bytes: Uint8Array) => boolean | void;
  readonly #onFull: (() => void) | undefined;
  /** Encoded frames waiting for the end of the turn. */
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  #closed = false;
  readonly #flushBound = (): void => this.flush();

  constructor(sink: (bytes: Uint8Array) => boolean | void, onFull?: () => void) {
    this.#sink = sink;
    this.#onFull = onFull;
  }

  /** Bytes encoded and not yet handed to the sink. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  write(message: Message): void {
    if (this.#closed) return;
    const frame = message.encode();
    // A large frame goes out on its own without being copied into a batch.
    if (frame.length >= EARLY_FLUSH_BYTES) {
      this.flush();
      this.#hand(frame);
      return;
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#queuedBytes >= EARLY_FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      defer(this.#flushBound);
    }
  }

  flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return;
    let out: Uint8Array;
    if (queue.length === 1) out = queue[0]!;
    else {
      out = allocBytes(this.#queuedBytes);
      let at = 0;
      for (let i = 0; i < queue.length; i++) {
        out.set(queue[i]!, at);
        at += queue[i]!.length;
      }
    }
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#hand(out);
  }

  #hand(bytes: Uint8Array): void {
    if (this.#sink(bytes) === false) this.#onFull?.();
  }

  /** Drops anything still queued; later writes are ignored. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}
