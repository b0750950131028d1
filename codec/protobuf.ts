/**
 * Serialize type 2: Protocol Buffers through protobufjs. The schema is the message Type declared per method (server)
 * or per call (client). Bytes already encoded (a Uint8Array) pass through; without a Type, decode hands back bytes.
 */
import protobuf from 'protobufjs';
import { CodecError } from '../errors.js';
import { SerializeType } from '../protocol/constants.js';
import type { Codec } from './codec.js';

export type ProtobufType = protobuf.Type;

export const protobufCodec: Codec = {
  type: SerializeType.ProtoBuffer,
  name: 'protobuf',
  encode(value, schema) {
    if (value instanceof Uint8Array) return value;
    if (!(schema instanceof protobuf.Type)) {
      throw new CodecError('rpcx: protobuf serialization needs a message type (requestType/replyType) for this method');
    }
    const problem = schema.verify(value as Record<string, unknown>);
    if (problem) throw new CodecError(`rpcx: protobuf ${schema.name}: ${problem}`);
    return schema.encode(schema.fromObject(value as Record<string, unknown>)).finish();
  },
  decode(bytes, schema) {
    if (!(schema instanceof protobuf.Type)) return bytes;
    return schema.toObject(schema.decode(bytes), { longs: Number, enums: String, defaults: true });
  },
};
