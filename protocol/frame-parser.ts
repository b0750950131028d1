/**
 * Incremental frame parser: feed it the chunks a connection receives, in order, and it hands out whole Messages.
 * Frames that lie inside one chunk are decoded in place (no copy). A frame split across chunks costs about its own
 * size: its 16 header bytes gather in a small fixed buffer; once the header tells the length, the bytes are copied
 * into one buffer that grows (doubling, never past the frame's length) as they arrive, so a peer that declares a
 * large frame and drips it pays for what it sent, not for what it declared. No chunk is kept.
 *
 * What unfinished frames hold is bounded per connection (`maxUnfinishedBytes`) and, through a shared `ByteBudget`,
 * across a whole server. The first bad byte (wrong magic, a length over the limit, a malformed section) or a budget
 * overrun throws a ProtocolError and poisons the parser: the caller closes that connection and no other.
 */
import { BadMagicError, FrameTooLargeError, LimitExceededError, ProtocolError } from '../errors.js';
import { DEFAULT_MAX_FRAME_LENGTH, HEADER_LENGTH, MAGIC } from './constants.js';
import { Message } from './message.js';
import { allocBytes } from './utf8.js';

/** The smallest buffer an unfinished frame starts with (or its length, when shorter). */
const MIN_FRAME_BUFFER = 4096;

/** A byte count shared by many parsers (a server's bound on unfinished frames across all its connections). */
export class ByteBudget {
  readonly limit: number;
  used = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  /** Takes `bytes` if they fit; false otherwise. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  release(bytes: number): void {
    this.used -= bytes;
  }
}

export interface FrameParserOptions {
  /** A frame longer than this (header included) is a protocol error (default 64 MiB). */
  maxFrameLength?: number;
  /** Bytes this parser may hold for an unfinished frame (default: maxFrameLength). */
  maxUnfinishedBytes?: number;
  /** Shared with other parsers: the total they may hold for unfinished frames. */
  budget?: ByteBudget;
}

export class FrameParser {
  readonly maxFrameLength: number;
  readonly maxUnfinishedBytes: number;
  readonly #budget: ByteBudget | undefined;
  readonly #onMessage: (message: Message) => void;
  /** Header bytes of an unfinished frame whose length is not known yet. */
  /** A header split across chunks is gathered here; made the first time one is (an idle connection never needs it). */
  #header: Uint8Array | undefined;
  #headerFill = 0;
  /** The unfinished frame once its length is known: `#frame` holds its first `#frameFill` bytes. */
  #frame: Uint8Array | undefined;
  #frameFill = 0;
  #expected = 0;
  /** Bytes charged to the budget for the unfinished frame (its buffer's capacity). */
  #charged = 0;
  /** performance.now() when the unfinished frame's first byte arrived; 0 when no frame is unfinished. */
  #startedAt = 0;
  #failed: ProtocolError | undefined;

  constructor(onMessage: (message: Message) => void, options: FrameParserOptions | number = {}) {
    const resolved = typeof options === 'number' ? { maxFrameLength: options } : options;
    this.#onMessage = onMessage;
    this.maxFrameLength = resolved.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.maxUnfinishedBytes = resolved.maxUnfinishedBytes ?? this.maxFrameLength;
    this.#budget = resolved.budget;
  }

  /** Bytes received for a frame not yet complete. */
  get buffered(): number {
    return this.#frame !== undefined ? this.#frameFill : this.#headerFill;
  }

  /** Bytes of memory held for the unfinished frame. */
  get held(): number {
    return this.#charged;
  }

  /** When the unfinished frame started arriving (performance.now()), or 0 when none is. */
  get unfinishedSince(): number {
    return this.#startedAt;
  }

  /** Starts the unfinished frame's clock again (reading was paused by us, not slowed by the peer). */
  restartClock(): void {
    if (this.#startedAt !== 0) this.#startedAt = performance.now();
  }

  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    try {
      let at = 0;
      const end = chunk.length;
      while (at < end) {
        if (this.#frame !== undefined) {
          at = this.#fillFrame(chunk, at);
          continue;
        }
        if (this.#headerFill === 0) {
          at = this.#consumeWhole(chunk, at);
          if (at === end) break;
          if (chunk[at] !== MAGIC) throw new BadMagicError(chunk[at]!);
          this.#startedAt = performance.now();
        }
        const take = Math.min(HEADER_LENGTH - this.#headerFill, end - at);
        const header = (this.#header ??= new Uint8Array(HEADER_LENGTH));
        header.set(chunk.subarray(at, at + take), this.#headerFill);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < HEADER_LENGTH) break;
        this.#startFrame(this.#frameLength(header, 0), end - at);
      }
    } catch (error) {
      this.#failed = error instanceof ProtocolError ? error : new ProtocolError(String(error));
      this.#reset();
      throw this.#failed;
    }
  }

  /** Releases what an unfinished frame holds (the connection is gone). */
  dispose(): void {
    this.#reset();
    this.#failed ??= new ProtocolError('rpcx: parser disposed');
  }

  /** Decodes every whole frame from `at` on; returns where the first incomplete one starts. */
  #consumeWhole(bytes: Uint8Array, at: number): number {
    const end = bytes.length;
    while (end - at >= HEADER_LENGTH) {
      const length = this.#frameLength(bytes, at);
      if (end - at < length) break;
      const message = Message.decodeRange(bytes, at, at + length);
      at += length;
      this.#onMessage(message);
    }
    return at;
  }

  /** The header is complete: make the frame's buffer, sized for what is here now and growing to the length. */
  #startFrame(length: number, available: number): void {
    const capacity = Math.min(length, Math.max(MIN_FRAME_BUFFER, HEADER_LENGTH + available));
    this.#charge(capacity);
    const frame = allocBytes(capacity);
    frame.set(this.#header!, 0);
    this.#frame = frame;
    this.#frameFill = HEADER_LENGTH;
    this.#expected = length;
    this.#headerFill = 0;
    if (length === HEADER_LENGTH) this.#finishFrame();
  }

  #fillFrame(chunk: Uint8Array, at: number): number {
    const take = Math.min(this.#expected - this.#frameFill, chunk.length - at);
    const needed = this.#frameFill + take;
    let frame = this.#frame!;
    if (needed > frame.length) {
      const capacity = Math.min(this.#expected, Math.max(frame.length * 2, needed));
      this.#charge(capacity - frame.length);
      const grown = allocBytes(capacity);
      grown.set(frame.subarray(0, this.#frameFill), 0);
      frame = this.#frame = grown;
    }
    frame.set(chunk.subarray(at, at + take), this.#frameFill);
    this.#frameFill = needed;
    if (needed === this.#expected) this.#finishFrame();
    return at + take;
  }

  #finishFrame(): void {
    const frame = this.#frame!;
    this.#reset();
    this.#onMessage(Message.decode(frame));
  }

  #charge(bytes: number): void {
    if (this.#charged + bytes > this.maxUnfinishedBytes) {
      throw new LimitExceededError('maxUnfinishedBytesPerConnection', `an unfinished frame would hold more than ${this.maxUnfinishedBytes} bytes`);
    }
    if (this.#budget !== undefined && !this.#budget.reserve(bytes)) {
      throw new LimitExceededError('maxUnfinishedBytes', `unfinished frames across the server would hold more than ${this.#budget.limit} bytes`);
    }
    this.#charged += bytes;
  }

  #reset(): void {
    if (this.#charged > 0) this.#budget?.release(this.#charged);
    this.#charged = 0;
    this.#frame = undefined;
    this.#frameFill = 0;
    this.#expected = 0;
    this.#headerFill = 0;
    this.#startedAt = 0;
  }

  /** Whole frame length from the header at `at`, validated against magic and the limit. */
  #frameLength(bytes: Uint8Array, at: number): number {
    if (bytes[at] !== MAGIC) throw new BadMagicError(bytes[at]!);
    const body = ((bytes[at + 12]! << 24) >>> 0) + (bytes[at + 13]! << 16) + (bytes[at + 14]! << 8) + bytes[at + 15]!;
    const length = HEADER_LENGTH + body;
    if (length > this.maxFrameLength) throw new FrameTooLargeError(length, this.maxFrameLength);
    return length;
  }
}
