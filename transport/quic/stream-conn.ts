/**
 * The connection's one bidirectional stream (id 0, opened by the client), exposed as our `Conn`.
 *
 * Writes are buffered here and handed to quiche when the connection flushes (once per event-loop turn); what quiche
 * cannot take yet (flow control) stays here until the peer grants more credit. Reads are pulled from quiche by the
 * connection's flush and delivered to the single data listener.
 */
import { QuicError } from '../../errors.js';
import { ConnBase } from '../conn-base.js';
import type { NativeConnection } from './native.js';
import type { Slab } from './slab.js';

/** The stream rpcx speaks on: the client's first bidirectional stream. */
export const RPCX_STREAM_ID = 0;

const EMPTY = new Uint8Array(0);

/**
 * Small pending writes are copied together (up to this many bytes) and handed to quiche in one `streamSend`. quiche
 * copies what it accepts before the call returns, so one scratch buffer serves every stream.
 */
const COALESCE_LIMIT = 64 * 1024;
const GATHER = Buffer.allocUnsafe(COALESCE_LIMIT);

/**
 * The next bytes to offer quiche, at most `limit` of them: the first pending chunk alone when it is that large or
 * nothing follows it, else the chunks copied together into GATHER (the last one cut at the limit).
 */
function gather(pending: Uint8Array[], head: number, limit: number): Uint8Array {
  const first = pending[head]!;
  if (first.byteLength >= limit || head + 1 === pending.length) return first.byteLength > limit ? first.subarray(0, limit) : first;
  let length = 0;
  for (let i = head; i < pending.length && length < limit; i++) {
    const chunk = pending[i]!;
    const take = Math.min(chunk.byteLength, limit - length);
    GATHER.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), length);
    length += take;
  }
  return GATHER.subarray(0, length);
}

/** Drops `written` bytes from the front of the pending chunks; returns the new head index. */
function dropWritten(pending: Uint8Array[], head: number, written: number): number {
  let left = written;
  while (left > 0) {
    const chunk = pending[head]!;
    if (chunk.byteLength <= left) {
      left -= chunk.byteLength;
      pending[head++] = EMPTY;
    } else {
      pending[head] = chunk.subarray(left);
      left = 0;
    }
  }
  return head;
}
/** A read asks quiche for at least this much room (less is left of a slab: a fresh one) and at most MAX_READ. */
const MIN_READ_SPACE = 4 * 1024;
const MAX_READ = 64 * 1024;

/**
 * Calls a user listener from inside a flush. A throwing listener must not leave the endpoint's per-turn bookkeeping
 * half done, so the exception is caught and rethrown from a fresh task: it is still an uncaught exception, as it would
 * be from a socket's 'data' handler.
 */
export function callListener<T>(listener: ((value: T) => void) | undefined, value: T): void {
  if (!listener) return;
  try {
    listener(value);
  } catch (error) {
    setImmediate(() => {
      throw error;
    });
  }
}

/** What the stream needs from its connection. */
export interface StreamOwner {
  readonly native: NativeConnection;
  /** Asks for a flush (pushes pending writes and sends packets) soon. */
  requestFlush(): void;
  /** Closes the QUIC connection at once (CONNECTION_CLOSE), reporting `error` to the close listener. */
  destroyConnection(error?: Error): void;
  /** Called once the write side has queued its FIN. */
  finQueued(): void;
  /** The stream is read again after a pause: pull what quiche holds (reading had stopped, so had its credit). */
  readAgain(): void;
}

export class QuicStreamConn extends ConnBase {
  readonly #owner: StreamOwner;

  /** Whether quiche knows the stream yet: at once on the client, after the peer's first frame on the server. */
  #opened: boolean;
  /** Writes not yet taken by quiche: `#pending` from index `#head` on. */
  #pending: Uint8Array[] = [];
  #head = 0;
  #pendingBytes = 0;
  /** Whether we have written to the stream (so quiche knows it and reports its capacity). */
  #started = false;
  #wantFin = false;
  #finSent = false;
  #peerFin = false;
  #closed = false;

  constructor(network: string, owner: StreamOwner, opened: boolean, remoteAddress: string, localAddress: string, highWaterMark: number) {
    super(network, remoteAddress, localAddress, highWaterMark);
    this.#owner = owner;
    this.#opened = opened;
  }

  // ---- Conn ----

  override get closed(): boolean {
    return this.#closed;
  }

  get writableLength(): number {
    return this.#pendingBytes;
  }

  protected send(data: Uint8Array): void {
    if (this.#wantFin) return;
    this.#pending.push(data);
    this.#pendingBytes += data.byteLength;
    this.#owner.requestFlush();
  }

  /** Paused, the stream is not read: quiche's receive window is not replenished and the peer runs out of credit. */
  protected readingChanged(reading: boolean): void {
    if (reading) this.#owner.readAgain();
  }

  end(): void {
    if (this.#closed || this.#wantFin) return;
    this.#wantFin = true;
    this.#owner.requestFlush();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#owner.destroyConnection(error);
  }

  // ---- driven by the connection ----

  get opened(): boolean {
    return this.#opened;
  }

  /** True once both directions have sent their FIN (ours queued, the peer's read). */
  get bothFinished(): boolean {
    return this.#finSent && this.#peerFin;
  }

  get finSent(): boolean {
    return this.#finSent;
  }

  get hasPendingWrites(): boolean {
    return this.#pendingBytes > 0 || (this.#wantFin && !this.#finSent);
  }

  /**
   * Reads everything quiche holds for the stream and delivers it. Returns false if the stream failed (reset by the
   * peer), in which case the connection has been destroyed.
   */
  pull(native: NativeConnection, slab: Slab): void {
    if (this.#closed || this.#peerFin) return;
    while (this.reading) {
      let result: [number, boolean] | null;
      const space = slab.space(MIN_READ_SPACE, MAX_READ);
      try {
        result = native.streamRecv(RPCX_STREAM_ID, space);
      } catch (error) {
        const message = (error as Error).message;
        // The peer has not opened the stream yet (server side): nothing to read.
        if (message.startsWith('InvalidStreamState')) return;
        this.#owner.destroyConnection(new QuicError(`rpcx: quic stream failed: ${message}`, { cause: error }));
        return;
      }
      if (result === null) return;
      this.#opened = true;
      const [length, fin] = result;
      if (length > 0) {
        this.#deliver(slab.take(length));
        if (this.#closed) return;
      }
      if (fin) {
        this.#peerFin = true;
        // As a TCP socket without half-open: the peer's end ends ours once our writes are out.
        this.end();
        return;
      }
      if (length < space.length) return;
    }
  }

  /** Hands pending writes (and the FIN) to quiche, as far as flow control allows; emits drain when emptied. */
  push(native: NativeConnection): void {
    if (this.#closed || !this.#opened) return;
    this.#pushOnce(native);
    if (this.needDrain && !this.#closed) {
      callListener(() => this.drained(), undefined);
      // What the drain listener wrote goes out with this flush.
      if (this.#pendingBytes > 0 && !this.#closed) this.#pushOnce(native);
    }
  }

  #pushOnce(native: NativeConnection): void {
    try {
      const pending = this.#pending;
      while (this.#pendingBytes > 0) {
        // Offer no more than quiche will take now (flow and congestion control), so nothing is gathered twice.
        // (Before our first write the stream does not exist yet in quiche, which then reports no capacity at all.)
        const capacity = this.#started ? native.streamCapacity(RPCX_STREAM_ID) : COALESCE_LIMIT;
        if (capacity <= 0) break;
        this.#started = true;
        const chunk = gather(pending, this.#head, Math.min(capacity, COALESCE_LIMIT));
        const written = native.streamSend(RPCX_STREAM_ID, chunk, false) ?? 0;
        if (written <= 0) break;
        this.#pendingBytes -= written;
        this.#head = dropWritten(pending, this.#head, written);
        if (written < chunk.byteLength) break;
      }
      if (this.#head === pending.length) {
        pending.length = 0;
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > pending.length) {
        // Flow control holds writes back while more arrive: drop the consumed front now and then.
        pending.splice(0, this.#head);
        this.#head = 0;
      }
      if (this.#wantFin && !this.#finSent && this.#pendingBytes === 0) {
        native.streamSend(RPCX_STREAM_ID, EMPTY, true);
        this.#finSent = true;
        this.#owner.finQueued();
      }
    } catch (error) {
      this.#owner.destroyConnection(new QuicError(`rpcx: quic stream write failed: ${(error as Error).message}`, { cause: error }));
    }
  }

  /** Marks the Conn closed (no more data, writes dropped) and reports it to the close listener once. */
  markClosed(error: Error | undefined, async: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#head = 0;
    this.#pendingBytes = 0;
    if (async) this.closedWith(error, true);
    else callListener((e: Error | undefined) => this.closedWith(e), error);
  }

  #deliver(chunk: Uint8Array): void {
    callListener((c: Uint8Array) => this.received(c), chunk);
  }
}
