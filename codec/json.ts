/** Serialize type 1: JSON text in UTF-8, as Go's encoding/json reads and writes it. */
import { SerializeType } from '../protocol/constants.js';
import { utf8Decode, utf8Encode } from '../protocol/utf8.js';
import type { Codec } from './codec.js';

export const jsonCodec: Codec = {
  type: SerializeType.JSON,
  name: 'json',
  encode(value) {
    return utf8Encode(JSON.stringify(value ?? null));
  },
  decode(bytes) {
    if (bytes.length === 0) return null;
    return JSON.parse(utf8Decode(bytes));
  },
};
