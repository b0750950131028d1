import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameWriter } from '../protocol/frame-writer.js';
import { Message } from '../protocol/message.js';

const message = (seq: number, payloadLength = 16): Message =>
  new Message({ serializeType: 0, seq, servicePath: 'Echo', serviceMethod: 'Echo', payload: new Uint8Array(payloadLength).fill(seq & 0xff) });

/** A sink that keeps copies of what it was handed and the memory each write came from. */
class RecordingSink {
  readonly writes: Uint8Array[] = [];
  readonly backing: ArrayBufferLike[] = [];
  write(bytes: Uint8Array): boolean {
    this.writes.push(Uint8Array.from(bytes));
    this.backing.push(bytes.buffer);
    return true;
  }
  writeReleased(): boolean {
    return true;
  }
  get bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.writes));
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FrameWriter', () => {
  it('sends every frame queued in a turn in one write, byte for byte', async () => {
    const sink = new RecordingSink();
    const writer = new FrameWriter(sink);
    const frames = [message(1), message(2, 3000), message(3, 0)];
    for (const m of frames) writer.write(m);
    await nextTurn();
    assert.equal(sink.writes.length, 1);
    assert.deepEqual(sink.bytes, new Uint8Array(Buffer.concat(frames.map((m) => m.encode()))));
  });

  it('does not give a 64 KiB batch to each of thousands of connections writing in the same turn', async () => {
    const sinks = Array.from({ length: 2000 }, () => new RecordingSink());
    const writers = sinks.map((sink) => new FrameWriter(sink));
    writers.forEach((writer, i) => writer.write(message(i)));
    await nextTurn();
    for (const [i, sink] of sinks.entries()) {
      assert.equal(sink.writes.length, 1);
      assert.deepEqual(sink.bytes, new Uint8Array(message(i).encode()));
    }
    // The first few may take full-size batches (the pool keeps those); the rest start small (small ones may share
    // Node's slab, so count each distinct piece of memory once).
    const memory = new Set(sinks.map((sink) => sink.backing[0]!));
    const total = [...memory].reduce((sum, buffer) => sum + buffer.byteLength, 0);
    assert.ok(total < 2000 * 8 * 1024, `2000 writers of one small frame each used ${Math.round(total / 1048576)} MiB of batches`);
  });

  it('grows a small batch as frames come, keeping their order', async () => {
    // Past the pool: these writers start with small batches.
    const crowd = Array.from({ length: 40 }, () => new FrameWriter(new RecordingSink()));
    crowd.forEach((writer, i) => writer.write(message(i)));
    const sink = new RecordingSink();
    const writer = new FrameWriter(sink);
    const frames = Array.from({ length: 200 }, (_, i) => message(i, (i * 37) % 900));
    for (const m of frames) writer.write(m);
    await nextTurn();
    assert.equal(sink.writes.length, 1);
    assert.deepEqual(sink.bytes, new Uint8Array(Buffer.concat(frames.map((m) => m.encode()))));
  });

  it('hands a sink that keeps its writes (no writeReleased) a copy, keeping the batch, and what it holds stays intact', async () => {
    // A queueing sink (ws, QUIC, WebTransport): it keeps the very buffers it was handed, to send later.
    const held: Uint8Array[] = [];
    const sink = { write: (bytes: Uint8Array) => void held.push(bytes) };
    const writer = new FrameWriter(sink);
    const expected: Uint8Array[] = [];
    const turns = 50;
    for (let turn = 0; turn < turns; turn++) {
      const frames = [message(turn * 2), message(turn * 2 + 1, 700)];
      for (const m of frames) writer.write(m);
      expected.push(new Uint8Array(Buffer.concat(frames.map((m) => m.encode()))));
      await nextTurn();
    }
    assert.equal(held.length, turns);
    for (const [i, bytes] of held.entries()) assert.deepEqual(new Uint8Array(bytes), expected[i], `turn ${i}: later batches did not overwrite it`);
    // Not a fresh 64 KiB batch per turn: the copies share Node's slab, the batch goes back to the pool.
    const memory = new Set(held.map((bytes) => bytes.buffer));
    const total = [...memory].reduce((sum, buffer) => sum + buffer.byteLength, 0);
    assert.ok(total < (turns / 4) * 64 * 1024, `${turns} small flushes held ${Math.round(total / 1024)} KiB of memory`);
  });
});
