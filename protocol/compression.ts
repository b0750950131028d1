/**
 * Payload compression by compress type. Compressors register by number; Node's gzip (compress type 1) is registered
 * by protocol/gzip.ts, which the Node entry imports, so browser builds carry no zlib. Decompression is always bounded:
 * a payload that would inflate past the cap is refused with a CompressionError instead of exhausting memory.
 */
import { CompressionError } from '../errors.js';
import { CompressType, DEFAULT_MAX_DECOMPRESSED_LENGTH } from './constants.js';

export interface Compressor {
  compress(payload: Uint8Array): Uint8Array;
  /** Must throw CompressionError when the output would exceed maxLength. */
  decompress(payload: Uint8Array, maxLength: number): Uint8Array;
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
