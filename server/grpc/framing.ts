/**
 * gRPC's Length-Prefixed-Message: one byte compressed flag, four bytes big-endian length, the message. A reader
 * collects DATA chunks (which may split or join messages anyway) and hands whole messages out; a message over the
 * limit is refused before it is buffered.
 */
import zlib from 'node:zlib';
import { CompressionError, MessageTooLargeError } from '../../errors.js';

export const FRAME_HEADER_LENGTH = 5;

export class MessageReader {
  readonly #limit: number;
  #pending: Buffer | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Adds a chunk and returns the messages it completed (flag byte and bytes). Throws MessageTooLargeError. */
  push(chunk: Buffer): Array<{ compressed: boolean; bytes: Buffer }> {
    let buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    const messages: Array<{ compressed: boolean; bytes: Buffer }> = [];
    while (buffer.length >= FRAME_HEADER_LENGTH) {
      const length = buffer.readUInt32BE(1);
      if (length > this.#limit) throw new MessageTooLargeError(length, this.#limit);
      const end = FRAME_HEADER_LENGTH + length;
      if (buffer.length < end) break;
      messages.push({ compressed: buffer[0] !== 0, bytes: buffer.subarray(FRAME_HEADER_LENGTH, end) });
      buffer = buffer.subarray(end);
    }
    this.#pending = buffer.length > 0 ? buffer : undefined;
    return messages;
  }

  /** Bytes of an unfinished message are left (the stream ended mid-message). */
  get partial(): boolean {
    return this.#pending !== undefined;
  }
}

/** One message with its prefix, uncompressed. */
export function frameMessage(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + payload.length);
  frame[0] = 0;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, FRAME_HEADER_LENGTH);
  return frame;
}

/** Encodings a client may compress with (`grpc-encoding`); we always answer uncompressed. */
export const ACCEPT_ENCODING = 'identity,gzip,deflate';

/** Inflates a compressed message (`grpc-encoding` gzip or deflate), bounded by `limit`. */
export function inflateMessage(encoding: string | undefined, bytes: Buffer, limit: number): Buffer {
  try {
    if (encoding === 'gzip') return zlib.gunzipSync(bytes, { maxOutputLength: limit });
    if (encoding === 'deflate') return zlib.inflateSync(bytes, { maxOutputLength: limit });
  } catch (error) {
    throw new CompressionError(`grpc: ${encoding} message does not inflate within ${limit} bytes: ${(error as Error).message}`);
  }
  throw new CompressionError(`grpc: compressed message with unsupported grpc-encoding ${encoding ?? '(none)'}`);
}
