/**
 * Compress type 1: gzip through Node's zlib, with the inflated size capped (gzip bombs). Registered on import.
 * The server inflates with `decompressAsync`: a zlib stream whose work runs on libuv's thread pool, so a large or
 * hostile payload never blocks the event loop, and which is torn down as soon as the output passes the size or ratio
 * cap, before the whole bomb is inflated.
 */
import { CompressionError, LimitExceededError } from '../errors.js';
import { checkRatio, registerCompressor } from './compression.js';
import { CompressType } from './constants.js';
import { nodeZlib } from '../lazy-builtins.js';

/** Output chunk size of the inflating stream: the unit of work between two checks of the caps. */
const INFLATE_CHUNK = 64 * 1024;

function tooLarge(maxLength: number): LimitExceededError {
  return new LimitExceededError('maxInflatedLength', `gzip payload inflates past ${maxLength} bytes`);
}

registerCompressor(CompressType.Gzip, {
  compress: (payload) => nodeZlib().gzipSync(payload),
  decompress(payload, maxLength) {
    try {
      return nodeZlib().gunzipSync(payload, { maxOutputLength: maxLength });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxLength);
      throw new CompressionError(`rpcx: bad gzip payload: ${(error as Error).message}`);
    }
  },
  decompressAsync(payload, limits) {
    return new Promise((resolve, reject) => {
      const inflater = nodeZlib().createGunzip({ chunkSize: INFLATE_CHUNK });
      const parts: Buffer[] = [];
      let total = 0;
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        inflater.destroy();
        reject(error);
      };
      inflater.on('data', (chunk: Buffer) => {
        if (settled) return;
        total += chunk.length;
        if (total > limits.maxLength) return fail(tooLarge(limits.maxLength));
        try {
          // Against the input consumed so far, not the whole payload: a bomb is caught after its first MiB of output
          // instead of after maxLength.
          checkRatio(total, Math.max(1, inflater.bytesWritten), limits.maxRatio);
        } catch (error) {
          return fail(error as Error);
        }
        parts.push(chunk);
      });
      inflater.on('end', () => {
        if (settled) return;
        settled = true;
        resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, total));
      });
      inflater.on('error', (error) => fail(new CompressionError(`rpcx: bad gzip payload: ${error.message}`)));
      inflater.end(payload);
    });
  },
});
