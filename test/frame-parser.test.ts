/** The incremental parser: any chunking, limits, bad input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadMagicError, FrameTooLargeError, LimitExceededError, ProtocolError } from '../errors.js';
import { ByteBudget, FrameParser } from '../protocol/frame-parser.js';
import { Message } from '../protocol/message.js';
import { hex } from './helpers/example-server.js';

const sample = (seq: number, payloadLength = 10, metadata: Record<string, string> = { k: 'v' }): Message =>
  new Message({ serializeType: 3, seq, servicePath: 'Arith', serviceMethod: 'Mul', metadata, payload: new Uint8Array(payloadLength).fill(seq & 0xff) });

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe('FrameParser', () => {
  it('splits a frame at every byte position', () => {
    const frames = [sample(1), sample(2, 0, {}), sample(3, 300)];
    const stream = concat(frames.map((f) => f.encode()));
    for (let cut = 0; cut <= stream.length; cut++) {
      const got: Message[] = [];
      const parser = new FrameParser((m) => got.push(m));
      parser.push(stream.subarray(0, cut));
      parser.push(stream.subarray(cut));
      assert.deepEqual(got.map((m) => hex(m.encode())), frames.map((f) => hex(f.encode())), `cut at ${cut}`);
    }
  });

  it('survives one byte at a time', () => {
    const frames = [sample(1), sample(2, 5000)];
    const stream = concat(frames.map((f) => f.encode()));
    const got: Message[] = [];
    const parser = new FrameParser((m) => got.push(m));
    for (let i = 0; i < stream.length; i++) parser.push(stream.subarray(i, i + 1));
    assert.equal(got.length, 2);
    assert.equal(got[1]!.payload.length, 5000);
    assert.equal(parser.buffered, 0);
  });

  it('decodes frames split across any number of chunks of any size, in order', () => {
    const frames = Array.from({ length: 200 }, (_, i) => sample(i, (i * 97) % 3000));
    const stream = concat(frames.map((f) => f.encode()));
    let seed = 7;
    const nextSize = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return 1 + (seed % 4000);
    };
    for (let trial = 0; trial < 20; trial++) {
      const got: Message[] = [];
      const parser = new FrameParser((m) => got.push(m));
      for (let at = 0; at < stream.length; ) {
        const size = nextSize();
        parser.push(stream.subarray(at, at + size));
        at += size;
      }
      assert.equal(parser.buffered, 0);
      assert.deepEqual(got.map((m) => hex(m.encode())), frames.map((f) => hex(f.encode())), `trial ${trial}`);
    }
  });

  it('decodes section strings exactly, repeated or not (the decoded-string cache never mixes them up)', () => {
    const names = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `Svc${i}` : i % 3 === 1 ? `métho∂-${i}-✓` : 'x'.repeat(i % 40)));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const other = names[(i * 7 + round) % names.length]!;
        const decoded = Message.decode(new Message({ servicePath: name, serviceMethod: other, metadata: { [name || 'k']: other } }).encode());
        assert.equal(decoded.servicePath, name);
        assert.equal(decoded.serviceMethod, other);
        assert.deepEqual(decoded.metadata, { [name || 'k']: other });
      }
    }
  });

  it('encodes frozen metadata (encoded once per object) exactly as the same metadata unfrozen', () => {
    const a = Object.freeze({ __ServerTimeout: '10000' });
    const b = Object.freeze({ __AUTH: 'tøken', __ServerTimeout: '999' });
    for (let i = 0; i < 6; i++) {
      const frozen = i % 3 === 0 ? a : i % 3 === 1 ? b : Object.freeze({ k: `v${i}` });
      const plain = { ...frozen };
      const encode = (metadata: Record<string, string>): string =>
        hex(new Message({ seq: i, servicePath: 'Echo', serviceMethod: 'Echo', metadata, payload: new Uint8Array([i]) }).encode());
      assert.equal(encode(frozen), encode(plain), `metadata ${JSON.stringify(plain)}`);
      assert.deepEqual(Message.decode(Buffer.from(encode(frozen), 'hex')).metadata, plain);
    }
  });

  it('decodes many frames from one chunk', () => {
    const frames = Array.from({ length: 500 }, (_, i) => sample(i, i % 7));
    const got: Message[] = [];
    new FrameParser((m) => got.push(m)).push(concat(frames.map((f) => f.encode())));
    assert.equal(got.length, 500);
    assert.deepEqual(got.map((m) => m.seq), frames.map((f) => f.seq));
  });

  it('decodes frames in place within a chunk: payload views and bounds are the frame\'s, not the chunk\'s', () => {
    const first = sample(1, 3).encode();
    const second = sample(2, 4).encode();
    const third = sample(3, 1000).encode();
    const got: Message[] = [];
    new FrameParser((m) => got.push(m)).push(concat([first, second, third]));
    assert.deepEqual(got.map((m) => [...m.payload.subarray(0, 4)]), [[1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]);
    assert.deepEqual(got.map((m) => hex(m.encode())), [first, second, third].map((f) => hex(f)));
    // The second frame's service path claims more bytes than that frame has, though the chunk has them (the third
    // frame follows): still malformed, after the first frame was delivered.
    const bad = new Uint8Array(second);
    new DataView(bad.buffer, bad.byteOffset).setUint32(16, bad.length);
    const delivered: Message[] = [];
    const parser = new FrameParser((m) => delivered.push(m));
    assert.throws(() => parser.push(concat([first, bad, third])), (e: unknown) => e instanceof ProtocolError && /malformed/.test(e.message));
    assert.equal(delivered.length, 1);
    // Message.decodeRange on its own: the same message as decode() of the view.
    const chunk = concat([first, second]);
    assert.equal(hex(Message.decodeRange(chunk, first.length, chunk.length).encode()), hex(Message.decode(chunk.subarray(first.length)).encode()));
  });

  it('accepts empty path, method, metadata and payload', () => {
    const got: Message[] = [];
    new FrameParser((m) => got.push(m)).push(new Message().encode());
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload.length, 0);
    assert.deepEqual({ ...got[0]!.metadata }, {});
  });

  it('rejects a frame over the maximum with a typed error, before the body arrives', () => {
    const parser = new FrameParser(() => undefined, 1024);
    const big = sample(1, 2000).encode();
    assert.throws(() => parser.push(big.subarray(0, 16)), (e: unknown) => e instanceof FrameTooLargeError && e.code === 'ERR_RPCX_FRAME_TOO_LARGE');
    // The parser stays failed.
    assert.throws(() => parser.push(sample(2).encode()), ProtocolError);
  });

  it('rejects a bad magic byte at once, even as the first byte of a later frame', () => {
    assert.throws(() => new FrameParser(() => undefined).push(new Uint8Array([0x47])), (e: unknown) => e instanceof BadMagicError && e.code === 'ERR_RPCX_BAD_MAGIC');
    const got: Message[] = [];
    const parser = new FrameParser((m) => got.push(m));
    assert.throws(() => parser.push(concat([sample(1).encode(), new Uint8Array([0x09, 0, 0])])), BadMagicError);
    assert.equal(got.length, 1, 'the good frame before it was delivered');
  });

  it('rejects sections that run past the frame', () => {
    const bytes = sample(1).encode();
    // Service path length claims more bytes than the frame has.
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(16, 10_000);
    assert.throws(() => new FrameParser(() => undefined).push(bytes), (e: unknown) => e instanceof ProtocolError && /malformed/.test(e.message));
  });

  it('keeps a __proto__ metadata key as plain data', () => {
    const evil = new Message();
    Object.defineProperty(evil.metadata = {}, '__proto__', { value: 'x', enumerable: true });
    const got: Message[] = [];
    new FrameParser((m) => got.push(m)).push(evil.encode());
    assert.equal(Object.getPrototypeOf(got[0]!.metadata), Object.prototype);
    assert.deepEqual(Object.keys(got[0]!.metadata), ['__proto__']);
    assert.equal(Object.getOwnPropertyDescriptor(got[0]!.metadata, '__proto__')!.value, 'x');
  });

  it('rejects malformed metadata', () => {
    const m = sample(1);
    const bytes = m.encode();
    // metadata block starts after path (4+5) and method (4+3): at 16+16 = 32; its first key length is at 36.
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(36, 999);
    assert.throws(() => new FrameParser(() => undefined).push(bytes), ProtocolError);
  });
});

describe('FrameParser memory bounds', () => {
  it('holds a dripped frame in one buffer about its received size, not one buffer per chunk', () => {
    const frame = sample(1, 200_000).encode();
    const parser = new FrameParser(() => undefined);
    for (let i = 0; i < 100_000; i++) parser.push(frame.subarray(i, i + 1));
    assert.equal(parser.buffered, 100_000);
    assert.ok(parser.held <= 2 * 100_000, `${parser.held} bytes held for 100,000 received`);
    assert.ok(parser.unfinishedSince > 0);
  });

  it('closes at the per-parser cap and at a budget shared by parsers, releasing what it held', () => {
    const big = sample(1, 3_000_000).encode();
    const capped = new FrameParser(() => undefined, { maxUnfinishedBytes: 1_000_000 });
    assert.throws(() => {
      for (let at = 0; at < big.length; at += 65_536) capped.push(big.subarray(at, at + 65_536));
    }, (e: unknown) => e instanceof LimitExceededError && e.limit === 'maxUnfinishedBytesPerConnection');
    assert.equal(capped.held, 0);

    const budget = new ByteBudget(4_000_000);
    const a = new FrameParser(() => undefined, { budget });
    const b = new FrameParser(() => undefined, { budget });
    a.push(big.subarray(0, 2_500_000));
    assert.throws(() => b.push(big.subarray(0, 2_000_000)), (e: unknown) => e instanceof LimitExceededError && e.limit === 'maxUnfinishedBytes');
    a.dispose();
    assert.equal(budget.used, 0);
    const c = new FrameParser(() => undefined, { budget });
    const got: Message[] = [];
    const whole = new FrameParser((m) => got.push(m), { budget });
    c.push(big.subarray(0, 100));
    whole.push(big.subarray(0, 1_500_000));
    whole.push(big.subarray(1_500_000));
    assert.equal(got.length, 1);
    assert.equal(budget.used, c.held);
  });
});
