/**
 * Batches outgoing frames: every Message queued during one turn of the event loop goes to the sink in a single write,
 * so a burst of replies or calls costs one syscall, not one per frame. A large backlog is flushed early so memory stays
 * bounded.
 *
 * A message is encoded when it is queued, straight into the writer's batch buffer: what happens to the Message object
 * afterwards (a plugin replacing its payload, say) cannot change or break the bytes already queued, and no buffer is
 * allocated per frame.
 *
 * The sink's write returns false when the connection's outbound queue passed its high-water mark (Conn.write); the
 * writer then calls `onFull` once per such write, so its owner can stop producing (stop reading requests) until drain.
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
  /** false: the sink's queue is past its high-water mark (the writer calls onFull). */
  write(bytes: Uint8Array): boolean | void;
  /** True when the bytes of the last write are no longer referenced, so the batch buffer can be reused. */
  writeReleased?(): boolean;
}

/**
 * Batch buffers whose bytes the sink released, reused by the next writer that starts a batch. Most writes to a socket
 * complete synchronously, so the same memory serves batch after batch instead of a fresh buffer per flush (whose
 * external memory otherwise drives V8 into a full GC every few hundred milliseconds under load). A writer holds a
 * buffer only from its first frame of a turn to its flush; the pool keeps as many as were busy at once, up to a few.
 */
const batchPool: Uint8Array[] = [];
const BATCH_POOL_MAX = 16;
/** Only batches at least this large are pooled: a pooled batch should hold a busy connection's turn without growing. */
const BATCH_MIN = 64 * 1024;
/**
 * When more connections write in one turn than the pool can serve (ten thousand clients dialling and making their
 * first call, a server answering them), the writers past the pool's size start with a batch this small, doubling as
 * frames come: a 64 KiB batch each would be that much memory per connection for one small frame, malloc'd and freed
 * again, and it fragmented the process heap by kilobytes per connection. A small batch Node carves from its shared
 * slab. The first few writers of a turn still get full-size batches, which the pool keeps for the next turn.
 */
const BATCH_FIRST = 2 * 1024;
/** Buffers larger than this are not kept (batches flush at EARLY_FLUSH_BYTES, plus one frame smaller than that). */
const BATCH_MAX = 2 * EARLY_FLUSH_BYTES;

function takeBatch(atLeast: number): Uint8Array {
  const pooled = batchPool.pop();
  if (pooled !== undefined && pooled.length >= atLeast) return pooled;
  return allocBytes(Math.max(atLeast, dueWriters.length < BATCH_POOL_MAX ? BATCH_MIN : BATCH_FIRST));
}

export class FrameWriter {
  readonly #sink: FrameSink;
  readonly #onFull: (() => void) | undefined;
  /** The batch being filled this turn: frames are encoded into it as they are queued. */
  #batch: Uint8Array | undefined;
  #queuedBytes = 0;
  #scheduled = false;
  #closed = false;

  constructor(sink: FrameSink, onFull?: () => void) {
    this.#sink = sink;
    this.#onFull = onFull;
  }

  /** Bytes encoded and not yet handed to the sink. */
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
      this.#hand(out);
      return;
    }
    const end = this.#queuedBytes + length;
    let batch = this.#batch;
    if (batch === undefined) batch = this.#batch = takeBatch(length);
    else if (end > batch.length) {
      const bigger = allocBytes(Math.max(end, batch.length * 2));
      bigger.set(batch.subarray(0, this.#queuedBytes));
      batch = this.#batch = bigger;
    }
    this.#queuedBytes = message.encodeInto(batch, this.#queuedBytes);
    if (this.#queuedBytes >= EARLY_FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      deferFlush(this);
    }
  }

  flush(): void {
    this.#scheduled = false;
    const size = this.#queuedBytes;
    const batch = this.#batch;
    if (size === 0 || batch === undefined) return;
    this.#batch = undefined;
    this.#queuedBytes = 0;
    const sink = this.#sink;
    const poolable = batch.length >= BATCH_MIN && batch.length <= BATCH_MAX && batchPool.length < BATCH_POOL_MAX;
    if (poolable && sink.writeReleased === undefined) {
      // A sink that keeps what it is given until later (ws, QUIC and WebTransport queue writes) gets an exact copy
      // and the batch goes back to the pool: a fresh 64 KiB batch per flush for a turn's few frames is the external
      // memory that drove V8 into full GCs several times a second, where the copy costs a memcpy of what was queued.
      const out = allocBytes(size);
      out.set(batch.subarray(0, size));
      batchPool.push(batch);
      this.#hand(out);
      return;
    }
    this.#hand(batch.length === size ? batch : batch.subarray(0, size));
    if (poolable && sink.writeReleased?.() === true) batchPool.push(batch);
  }

  #hand(bytes: Uint8Array): void {
    if (this.#sink.write(bytes) === false) this.#onFull?.();
  }

  /** Drops anything still queued; later writes are ignored. */
  close(): void {
    this.#closed = true;
    this.#batch = undefined;
    this.#queuedBytes = 0;
  }
}
