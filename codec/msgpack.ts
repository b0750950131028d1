/**
 * Serialize type 3: MessagePack, the Go client's default. Go's msgpack encodes a struct as a map keyed by field
 * name, so records/extensions are off and maps decode to plain objects; that reads Go's bytes and writes bytes Go
 * reads back.
 */
import { Packr } from 'msgpackr';
import { SerializeType } from '../protocol/constants.js';
import type { Codec } from './codec.js';

// variableMapSize: small objects get fixmap headers, byte-identical to Go's encoding of the same struct.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, int64AsType: 'number' });

export const msgpackCodec: Codec = {
  type: SerializeType.MsgPack,
  name: 'msgpack',
  encode(value) {
    return packr.pack(value ?? null);
  },
  decode(bytes) {
    if (bytes.length === 0) return null;
    return packr.unpack(bytes);
  },
};
