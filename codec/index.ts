/** The built-in codecs, registered on import. */
import { registerCodec } from './codec.js';
import { jsonCodec } from './json.js';
import { msgpackCodec } from './msgpack.js';
import { protobufCodec } from './protobuf.js';
import { rawCodec } from './raw.js';

registerCodec(rawCodec);
registerCodec(jsonCodec);
registerCodec(protobufCodec);
registerCodec(msgpackCodec);

export { decodeWith, encodeWith, getCodec, hasCodec, registerCodec, type Codec } from './codec.js';
export { jsonCodec, msgpackCodec, protobufCodec, rawCodec };
export type { ProtobufType } from './protobuf.js';
