/**
 * A codec turns values into payload bytes and back for one serialize type. Codecs are found by number, the same
 * number the frame carries, so a custom one is a `registerCodec` call away.
 */
import { CodecError } from '../errors.js';

export interface Codec {
  /** The serialize type number on the wire (0-15). */
  readonly type: number;
  readonly name: string;
  /** `schema` is codec-specific: a protobufjs Type for protobuf, unused elsewhere. */
  encode(value: unknown, schema?: unknown): Uint8Array;
  decode(bytes: Uint8Array, schema?: unknown): unknown;
}

const codecs = new Map<number, Codec>();

export function registerCodec(codec: Codec): void {
  if (!Number.isInteger(codec.type) || codec.type < 0 || codec.type > 15) {
    throw new CodecError(`rpcx: serialize type must be 0-15, got ${codec.type}`);
  }
  codecs.set(codec.type, codec);
}

export function getCodec(type: number): Codec {
  const codec = codecs.get(type);
  if (!codec) throw new CodecError(`rpcx: no codec for serialize type ${type}`);
  return codec;
}

export function hasCodec(type: number): boolean {
  return codecs.has(type);
}

/** Runs a codec call, turning whatever it throws into a CodecError. */
export function encodeWith(codec: Codec, value: unknown, schema?: unknown): Uint8Array {
  try {
    return codec.encode(value, schema);
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`rpcx: ${codec.name} encode failed: ${(error as Error).message}`, error);
  }
}

export function decodeWith(codec: Codec, bytes: Uint8Array, schema?: unknown): unknown {
  try {
    return codec.decode(bytes, schema);
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`rpcx: ${codec.name} decode failed: ${(error as Error).message}`, error);
  }
}
