/**
 * Batches outgoing frames: every Message queued during one turn of the event loop is encoded into one buffer and
 * handed to the sink in a single write, so a burst of replies or calls costs one syscall, not one per frame.
 * A large backlog is flushed early so memory stays bounded.
 */
import type { Message } from './message.js';
import { allocBytes } from './utf8.js';

/** Flush at once when this many bytes are queued, without waiting for the end of the turn. */
const EARLY_FLUSH_BYTES = 256 * 1024;

/**
 * Writers with frames queued this turn, flushed together after the turn's I/O and microtasks (setImmediate on Node; a
 * macrotask in browsers): one scheduled callback per turn however many connections wrote, not one per connection.
 */
let dueWriters: FrameWriter[] = [];
const scheduleFlushAll: () => void =
  typeof setImmediate === 'function' ? () => setImmediate(flushAll) : () => setTimeout(flushAll, 0);

function deferFlush(writer: FrameWriter): void {
  if (dueWriters.push(writer) === 1) scheduleFlushAll();
}

function flushAll(): void {
  const writers = dueWriters;
  dueWriters = [];
  let i = 0;
  try {
    for (; i < writers.length; i++) writers[i]!.flush();
  } finally {
    // A sink that threw must not leave the other connections' frames unsent: they go in the next round.
    for (i++; i < writers.length; i++) deferFlush(writers[i]!);
  }
}

/** Where a FrameWriter's batches go: a transport connection, or anything with its write. */
export interface FrameSink {
  write(bytes: Uint8Array): unknown;
  /** True when the bytes of the last write are no longer referenced, so the batch buffer can be reused. */
  writeReleased?(): boolean;
}

/**
 * One batch buffer shared by every writer whose sink says when a write has released its bytes. Most writes to a
 * socket complete synchronously, so the same memory serves batch after batch instead of a fresh buffer per flush
 * (whose external memory otherwise drives V8 into a full GC every few hundred milliseconds under load). Only one
 * flush runs at a time, and a writer takes the buffer out while it uses it.
 */
let sharedBatch: Uint8Array | undefined;
const SHARED_BATCH_MIN = 64 * 1024;
/** Batches never exceed this (early flush at EARLY_FLUSH_BYTES, plus one frame smaller than that). */
const SHARED_BATCH_MAX = 2 * EARLY_FLUSH_BYTES;

export class FrameWriter {
  readonly #sink: FrameSink;
  #queue: Message[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  #closed = false;

  constructor(sink: FrameSink) {
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
      this.#sink.write(out);
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
    const size = this.#queuedBytes;
    const sink = this.#sink;
    let batch: Uint8Array | undefined;
    let out: Uint8Array;
    if (sink.writeReleased !== undefined) {
      batch = sharedBatch;
      sharedBatch = undefined;
      if (batch === undefined || batch.length < size) batch = allocBytes(Math.max(size, SHARED_BATCH_MIN));
      out = batch.length === size ? batch : batch.subarray(0, size);
    } else {
      out = allocBytes(size);
    }
    this.#queue = [];
    this.#queuedBytes = 0;
    let at = 0;
    for (let i = 0; i < queue.length; i++) {
      // encodedLength() ran at enqueue; encodeInto reuses the lengths it measured.
      at = queue[i]!.encodeInto(out, at);
    }
    sink.write(out);
    if (batch !== undefined && batch.length <= SHARED_BATCH_MAX && sink.writeReleased!()) sharedBatch = batch;
  }

  /** Drops anything still queued; later writes are ignored. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}
