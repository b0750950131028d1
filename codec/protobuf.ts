/**
 * Serialize type 2: Protocol Buffers through protobufjs. The schema is the message Type declared per method (server)
 * or per call (client). Bytes already encoded (a Uint8Array) pass through; without a Type, decode hands back bytes.
 *
 * protobufjs loads on the first call that brings a schema: whoever made that Type has loaded it already, so the
 * require below is a cache hit, and a program that never uses protobuf never pays for it.
 */
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import { CodecError } from '../errors.js';
import { SerializeType } from '../protocol/constants.js';
import type { Codec } from './codec.js';

export type ProtobufType = protobuf.Type;

let protobufjs: typeof protobuf | undefined;

/** Whether the schema is a protobufjs message Type (without loading protobufjs for a missing schema). */
function isMessageType(schema: unknown): schema is protobuf.Type {
  if (schema === undefined || schema === null || typeof schema !== 'object') return false;
  protobufjs ??= createRequire(import.meta.url)('protobufjs') as typeof protobuf;
  return schema instanceof protobufjs.Type;
}

export const protobufCodec: Codec = {
  type: SerializeType.ProtoBuffer,
  name: 'protobuf',
  encode(value, schema) {
    if (value instanceof Uint8Array) return value;
    if (!isMessageType(schema)) {
      throw new CodecError('rpcx: protobuf serialization needs a message type (requestType/replyType) for this method');
    }
    const problem = schema.verify(value as Record<string, unknown>);
    if (problem) throw new CodecError(`rpcx: protobuf ${schema.name}: ${problem}`);
    return schema.encode(schema.fromObject(value as Record<string, unknown>)).finish();
  },
  decode(bytes, schema) {
    if (!isMessageType(schema)) return bytes;
    return schema.toObject(schema.decode(bytes), { longs: Number, enums: String, defaults: true });
  },
};
