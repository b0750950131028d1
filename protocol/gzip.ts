/** Compress type 1: gzip through Node's zlib, with the inflated size capped (gzip bombs). Registered on import. */
import { gunzipSync, gzipSync } from 'node:zlib';
import { CompressionError } from '../errors.js';
import { registerCompressor } from './compression.js';
import { CompressType } from './constants.js';

registerCompressor(CompressType.Gzip, {
  compress: (payload) => gzipSync(payload),
  decompress(payload, maxLength) {
    try {
      return gunzipSync(payload, { maxOutputLength: maxLength });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new CompressionError(`rpcx: gzip payload inflates past the limit of ${maxLength} bytes`);
      }
      throw new CompressionError(`rpcx: bad gzip payload: ${(error as Error).message}`);
    }
  },
});
