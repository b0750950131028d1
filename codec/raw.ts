/** Serialize type 0: the payload is the caller's bytes, untouched. Strings are sent as UTF-8. */
import { CodecError } from '../errors.js';
import { SerializeType } from '../protocol/constants.js';
import { utf8Encode } from '../protocol/utf8.js';
import type { Codec } from './codec.js';

export const rawCodec: Codec = {
  type: SerializeType.None,
  name: 'raw',
  encode(value) {
    if (value instanceof Uint8Array) return value;
    if (typeof value === 'string') return utf8Encode(value);
    if (value === undefined || value === null) return new Uint8Array(0);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    throw new CodecError(`rpcx: raw serialization takes bytes or a string, got ${typeof value}`);
  },
  decode(bytes) {
    return bytes;
  },
};
