/** Codecs by serialize type, including what Go's msgpack sends, and gzip with its cap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCodec, registerCodec, type Codec } from '../codec/index.js';
import { CodecError, CompressionError, LimitExceededError } from '../errors.js';
import { compress, decompress, decompressAsync } from '../protocol/compression.js';
import { fromHex, hex } from './helpers/example-server.js';
import { arithProto } from './helpers/proto.js';
import { widenLargeIntegers } from '../codec/msgpack.js';


describe('codecs', () => {
  it('raw passes bytes through and sends strings as UTF-8', () => {
    const raw = getCodec(0);
    const bytes = new Uint8Array([0, 255, 7]);
    assert.equal(raw.encode(bytes), bytes);
    assert.deepEqual([...raw.encode('hé')], [0x68, 0xc3, 0xa9]);
    assert.throws(() => raw.encode({ a: 1 }), CodecError);
  });

  it('json matches Go encoding/json bytes', () => {
    const json = getCodec(1);
    assert.equal(Buffer.from(json.encode({ A: 10, B: 20 })).toString(), '{"A":10,"B":20}');
    assert.deepEqual(json.decode(new TextEncoder().encode('{"C":200}')), { C: 200 });
  });

  it('msgpack writes and reads what Go vmihailenco/msgpack does for structs', () => {
    const msgpack = getCodec(3);
    assert.equal(hex(msgpack.encode({ A: 10, B: 20 })), '82a1410aa14214');
    assert.deepEqual(msgpack.decode(fromHex('81a143ccc8')), { C: 200 });
    // The Go heartbeat payload: msgpack int64 nanoseconds.
    assert.equal(typeof msgpack.decode(fromHex('d318eaa0df4cb32972')), 'number');
    // Nested structs, slices, strings, bools, floats.
    const value = { Name: 'x', Tags: ['a', 'b'], Inner: { On: true, F: 1.5 }, N: -3 };
    assert.deepEqual(msgpack.decode(msgpack.encode(value)), value);
  });

  it('msgpack writes integers beyond 32 bits as int64 (Go refuses float64 for int64 fields), copying nothing otherwise', () => {
    const msgpack = getCodec(3);
    assert.equal(hex(msgpack.encode(2 ** 40)), 'd30000010000000000');
    assert.equal(hex(msgpack.encode(-(2 ** 33))), 'd3fffffffe00000000');
    assert.equal(hex(msgpack.encode(1.5)), 'cb3ff8000000000000');
    const nested = { Id: 2 ** 45, List: [1, 2 ** 50], Inner: { T: 1_700_000_000_000 } };
    const back = msgpack.decode(msgpack.encode(nested));
    assert.deepEqual(back, nested);
    assert.deepEqual(nested, { Id: 2 ** 45, List: [1, 2 ** 50], Inner: { T: 1_700_000_000_000 } }, 'the caller\'s object is untouched');
    const plain = { A: 1, B: [2, 3], C: { D: 'x' } };
    assert.equal(widenLargeIntegers(plain), plain, 'no large integer: the same object, no copy');
  });

  it('protobuf encodes with the declared message types', () => {
    const pb = getCodec(2);
    const Args = arithProto.lookupType('ProtoArgs');
    const bytes = pb.encode({ A: 10, B: 20 }, Args);
    assert.equal(hex(bytes), '080a1014');
    assert.deepEqual(pb.decode(bytes, Args), { A: 10, B: 20 });
    assert.throws(() => pb.encode({ A: 1 }), CodecError, 'needs a type');
    assert.throws(() => pb.encode({ A: 'x' }, Args), CodecError, 'verifies');
  });

  it('registers a custom codec by number', () => {
    const upper: Codec = {
      type: 9,
      name: 'upper',
      encode: (v) => new TextEncoder().encode(String(v).toUpperCase()),
      decode: (b) => new TextDecoder().decode(b),
    };
    registerCodec(upper);
    assert.equal(getCodec(9).decode(getCodec(9).encode('abc')), 'ABC');
    assert.throws(() => getCodec(12), CodecError);
    assert.throws(() => registerCodec({ ...upper, type: 16 }), CodecError);
  });
});

describe('gzip', () => {
  it('round-trips', () => {
    const data = new Uint8Array(10_000).fill(65);
    const packed = compress(1, data);
    assert.ok(packed.length < 200);
    assert.equal(Buffer.compare(decompress(1, packed), data), 0);
  });

  it('caps the decompressed size (gzip bomb)', () => {
    const bomb = compress(1, new Uint8Array(10 * 1024 * 1024));
    assert.throws(() => decompress(1, bomb, 1024 * 1024), (e: unknown) => e instanceof LimitExceededError && e.limit === 'maxInflatedLength');
  });

  it('inflates asynchronously, stopping at the size and the ratio caps', async () => {
    const data = new Uint8Array(4 * 1024 * 1024).fill(3);
    const bomb = compress(1, data);
    assert.equal((await decompressAsync(1, bomb, { maxLength: 8 * 1024 * 1024, maxRatio: 0 })).length, data.length);
    await assert.rejects(decompressAsync(1, bomb, { maxLength: 1024 * 1024, maxRatio: 0 }), (e: unknown) => e instanceof LimitExceededError && e.limit === 'maxInflatedLength');
    await assert.rejects(decompressAsync(1, bomb, { maxLength: 8 * 1024 * 1024, maxRatio: 100 }), (e: unknown) => e instanceof LimitExceededError && e.limit === 'maxInflateRatio');
    await assert.rejects(decompressAsync(1, new Uint8Array([1, 2, 3]), { maxLength: 1024, maxRatio: 0 }), CompressionError);
  });

  it('rejects garbage and unknown compress types', () => {
    assert.throws(() => decompress(1, new Uint8Array([1, 2, 3])), CompressionError);
    assert.throws(() => decompress(5, new Uint8Array([1])), CompressionError);
  });
});
