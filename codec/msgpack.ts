/**
 * Serialize type 3: MessagePack, the Go client's default. Go's msgpack encodes a struct as a map keyed by field
 * name, so records/extensions are off and maps decode to plain objects; that reads Go's bytes and writes bytes Go
 * reads back.
 *
 * One difference needs care: msgpackr writes an integer beyond 32 bits as a float64, which Go refuses to decode into
 * an int64 field (IDs, timestamps). Such integers are handed to msgpackr as BigInts, which it writes as int64/uint64.
 * Non-integral numbers go out as float64: Go reads them into float64 fields but refuses them for float32 fields
 * (JavaScript numbers carry no width; send those as protobuf, or give the Go side float64 fields).
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
    return packr.pack(widenLargeIntegers(value ?? null));
  },
  decode(bytes) {
    if (bytes.length === 0) return null;
    return packr.unpack(bytes);
  },
};

const INT32_MIN = -0x8000_0000;
const UINT32_MAX = 0xffff_ffff;

function isLargeInteger(value: number): boolean {
  return (value > UINT32_MAX || value < INT32_MIN) && Number.isSafeInteger(value);
}

/**
 * `value` with every safe integer outside the 32-bit range replaced by a BigInt. Returns `value` itself (no copy) when
 * there is none, which is the usual case; only the objects and arrays on the way to such a number are copied.
 */
export function widenLargeIntegers(value: unknown): unknown {
  if (typeof value === 'number') return isLargeInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i] as unknown;
      const widened = widenLargeIntegers(item);
      if (widened !== item) {
        copy ??= value.slice();
        copy[i] = widened;
      }
    }
    return copy ?? value;
  }
  if (value instanceof Map || value instanceof Set || value instanceof Date) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    const widened = widenLargeIntegers(item);
    if (widened !== item) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = widened;
    }
  }
  return copy ?? value;
}
