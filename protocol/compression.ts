/**
 * Payload compression (compress type 1 = gzip). Decompression is always bounded: a payload that would inflate past
 * the cap is refused with a CompressionError instead of exhausting memory (gzip bombs).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { CompressionError } from '../errors.js';
import { CompressType, DEFAULT_MAX_DECOMPRESSED_LENGTH } from './constants.js';

export function compress(type: number, payload: Uint8Array): Uint8Array {
  switch (type) {
    case CompressType.None:
      return payload;
    case CompressType.Gzip:
      return gzipSync(payload);
    default:
      throw new CompressionError(`rpcx: unknown compress type ${type}`);
  }
}

export function decompress(type: number, payload: Uint8Array, maxLength = DEFAULT_MAX_DECOMPRESSED_LENGTH): Uint8Array {
  switch (type) {
    case CompressType.None:
      return payload;
    case CompressType.Gzip:
      try {
        return gunzipSync(payload, { maxOutputLength: maxLength });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') {
          throw new CompressionError(`rpcx: gzip payload inflates past the limit of ${maxLength} bytes`);
        }
        throw new CompressionError(`rpcx: bad gzip payload: ${(error as Error).message}`);
      }
    default:
      throw new CompressionError(`rpcx: unknown compress type ${type}`);
  }
}
