/**
 * Payload compression by compress type. Compressors register by number; Node's gzip (compress type 1) is registered
 * by protocol/gzip.ts, which the Node entry imports, so browser builds carry no zlib. Decompression is always bounded:
 * a payload that would inflate past the cap is refused with a CompressionError instead of exhausting memory.
 */
import { CompressionError, LimitExceededError } from '../errors.js';
import { CompressType, DEFAULT_MAX_DECOMPRESSED_LENGTH } from './constants.js';

/** Bounds on one inflation. */
export interface InflateLimits {
  /** Largest output (LimitExceededError `maxInflatedLength` past it). */
  maxLength: number;
  /** Largest output/input ratio, checked once the output passes INFLATE_RATIO_FLOOR (0 = unchecked). */
  maxRatio: number;
}

/** Below this many inflated bytes the ratio is not checked (small, very repetitive payloads are normal). */
export const INFLATE_RATIO_FLOOR = 1024 * 1024;

export interface Compressor {
  compress(payload: Uint8Array): Uint8Array;
  /** Must throw when the output would exceed maxLength (LimitExceededError) or the data is bad (CompressionError). */
  decompress(payload: Uint8Array, maxLength: number): Uint8Array;
  /** Inflates without blocking the event loop, stopping as soon as a limit is passed. */
  decompressAsync?(payload: Uint8Array, limits: InflateLimits): Promise<Uint8Array>;
}

const compressors = new Map<number, Compressor>();

export function registerCompressor(type: number, compressor: Compressor): void {
  compressors.set(type, compressor);
}

function find(type: number): Compressor {
  const compressor = compressors.get(type);
  if (!compressor) throw new CompressionError(`rpcx: unknown compress type ${type}`);
  return compressor;
}

export function compress(type: number, payload: Uint8Array): Uint8Array {
  return type === CompressType.None ? payload : find(type).compress(payload);
}

export function decompress(type: number, payload: Uint8Array, maxLength = DEFAULT_MAX_DECOMPRESSED_LENGTH): Uint8Array {
  return type === CompressType.None ? payload : find(type).decompress(payload, maxLength);
}

/** As decompress, off the event loop when the compressor can (a compressor without it runs synchronously). */
export async function decompressAsync(type: number, payload: Uint8Array, limits: InflateLimits): Promise<Uint8Array> {
  if (type === CompressType.None) return payload;
  const compressor = find(type);
  if (compressor.decompressAsync) return compressor.decompressAsync(payload, limits);
  const out = compressor.decompress(payload, limits.maxLength);
  checkRatio(out.length, payload.length, limits.maxRatio);
  return out;
}

/** Throws LimitExceededError when `inflated` bytes from `compressed` pass the ratio (past the floor). */
export function checkRatio(inflated: number, compressed: number, maxRatio: number): void {
  if (maxRatio > 0 && inflated > INFLATE_RATIO_FLOOR && inflated > maxRatio * compressed) {
    throw new LimitExceededError('maxInflateRatio', `payload inflates more than ${maxRatio} times its ${compressed} bytes`);
  }
}
