/**
 * Incremental frame parser: feed it the chunks a connection receives, in order, and it hands out whole Messages.
 * Frames that lie inside one chunk are decoded in place (no copy); a frame split across chunks is gathered once
 * its length is known and copied exactly once. The first bad byte (wrong magic, a length over the limit, a malformed
 * section) throws a ProtocolError and poisons the parser: the caller closes that connection and no other.
 */
import { BadMagicError, FrameTooLargeError, ProtocolError } from '../errors.js';
import { DEFAULT_MAX_FRAME_LENGTH, HEADER_LENGTH, MAGIC } from './constants.js';
import { Message } from './message.js';
import { allocBytes } from './utf8.js';

export class FrameParser {
  readonly maxFrameLength: number;
  readonly #onMessage: (message: Message) => void;
  /** Chunks of an incomplete frame, oldest first. */
  #pending: Uint8Array[] = [];
  #pendingLength = 0;
  /** Length of the incomplete frame once its header has arrived, else -1. */
  #expected = -1;
  #failed: ProtocolError | undefined;

  constructor(onMessage: (message: Message) => void, maxFrameLength = DEFAULT_MAX_FRAME_LENGTH) {
    this.#onMessage = onMessage;
    this.maxFrameLength = maxFrameLength;
  }

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.#pendingLength;
  }

  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    try {
      if (this.#pendingLength === 0) {
        this.#consume(chunk);
        return;
      }
      if (this.#expected < 0) {
        if (this.#pendingLength + chunk.length < HEADER_LENGTH) {
          this.#pending.push(chunk);
          this.#pendingLength += chunk.length;
          this.#checkMagic(this.#pending[0]!);
          return;
        }
        this.#expected = this.#frameLength(this.#gather(HEADER_LENGTH, chunk), 0);
      }
      const need = this.#expected - this.#pendingLength;
      if (chunk.length < need) {
        this.#pending.push(chunk);
        this.#pendingLength += chunk.length;
        return;
      }
      // Only the split frame is copied; the rest of the chunk is decoded in place.
      const frame = this.#gather(this.#expected, chunk);
      this.#pending = [];
      this.#pendingLength = 0;
      this.#expected = -1;
      this.#onMessage(Message.decode(frame));
      this.#consume(chunk.subarray(need));
    } catch (error) {
      this.#failed = error instanceof ProtocolError ? error : new ProtocolError(String(error));
      this.#pending = [];
      this.#pendingLength = 0;
      throw this.#failed;
    }
  }

  /** The first `length` bytes of the held pieces followed by `chunk` (which supplies what the pieces lack), copied. */
  #gather(length: number, chunk: Uint8Array): Uint8Array {
    const out = allocBytes(length);
    let at = 0;
    for (const piece of this.#pending) {
      const take = Math.min(piece.length, length - at);
      out.set(take === piece.length ? piece : piece.subarray(0, take), at);
      at += take;
      if (at === length) return out;
    }
    out.set(chunk.subarray(0, length - at), at);
    return out;
  }

  /** Decodes every whole frame in `bytes` and keeps the tail. */
  #consume(bytes: Uint8Array): void {
    let at = 0;
    const end = bytes.length;
    while (end - at >= HEADER_LENGTH) {
      const length = this.#frameLength(bytes, at);
      if (end - at < length) break;
      const message = Message.decode(bytes.subarray(at, at + length));
      at += length;
      this.#onMessage(message);
    }
    this.#pending = [];
    this.#pendingLength = 0;
    this.#expected = -1;
    if (at < end) {
      const tail = bytes.subarray(at);
      this.#checkMagic(tail);
      this.#pending.push(tail);
      this.#pendingLength = tail.length;
      if (tail.length >= HEADER_LENGTH) this.#expected = this.#frameLength(tail, 0);
    }
  }

  #checkMagic(bytes: Uint8Array): void {
    if (bytes.length > 0 && bytes[0] !== MAGIC) throw new BadMagicError(bytes[0]!);
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
