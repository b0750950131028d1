/**
 * The QUIC transport's slab allocator: views cut from it never overlap until the owner rewinds it, and a request for
 * more room than is left starts a fresh slab (views already given out keep their bytes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Slab } from '../transport/quic/slab.js';

/** Not below half of Node's Buffer pool, so every slab is an ArrayBuffer of its own (as the transport's are). */
const SIZE = Math.max(64 * 1024, Buffer.poolSize);

describe('quic slab', () => {
  it('cuts consecutive, non-overlapping views and starts a fresh slab when the rest is too small', () => {
    const slab = new Slab(SIZE);
    const first = slab.space(16);
    first.fill(1);
    const a = slab.take(10);
    const second = slab.space(16, SIZE - 40);
    assert.equal(second.length, SIZE - 40, 'at most `max` bytes');
    second.fill(2);
    const b = slab.take(SIZE - 40);
    assert.ok(a.every((byte) => byte === 1), 'the first view kept its bytes');
    assert.equal(a.buffer, b.buffer, 'both from the same slab');
    assert.ok(b.byteOffset >= a.byteOffset + a.length);
    const third = slab.space(32);
    assert.notEqual(third.buffer, a.buffer, 'a fresh slab: only 24 bytes were left');
    assert.equal(third.byteOffset, 0);
    third.fill(3);
    slab.take(32);
    assert.ok(a.every((byte) => byte === 1) && b.every((byte) => byte === 2), 'earlier views are untouched');
  });

  it('rewinding reuses the current slab from its start', () => {
    const slab = new Slab(SIZE);
    slab.space(8);
    const a = slab.take(8);
    slab.rewind();
    slab.space(8);
    const b = slab.take(8);
    assert.equal(b.buffer, a.buffer);
    assert.equal(b.byteOffset, a.byteOffset);
  });
});
