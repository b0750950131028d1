/**
 * Gzip bombs: inflated off the event loop, stopped at the size or ratio cap, answered with LimitExceededError; the
 * server's event loop is never blocked for long and a good client keeps its latency.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { remoteError, LimitExceededError } from '../../errors.js';
import { MetaKey, SerializeType } from '../../protocol/constants.js';
import { Message } from '../../protocol/message.js';
import { goodClient, MiB, rawExchange, ServerProcess } from './harness.js';

/** A gzip stream of `members` concatenated members, each inflating to 64 MiB of zeros. */
function bomb(members: number): Buffer {
  const member = gzipSync(Buffer.alloc(64 * MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

function gzipFrame(seq: number, payload: Uint8Array): Uint8Array {
  return new Message({ serializeType: SerializeType.None, compressType: 1, seq, servicePath: 'Echo', serviceMethod: 'Echo', payload }).encode();
}

describe('hostile: gzip bombs', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ endpoints: ['tcp@127.0.0.1:0'] });
  });
  after(() => server.stop());

  it('rejects a 1 GiB bomb and a 64 KiB body inflating to 63 MiB without blocking the event loop', async () => {
    const { host, port, endpoint } = server.address();
    const gigabyte = bomb(16);
    const dense = gzipSync(Buffer.alloc(63 * MiB), { level: 9 });
    const good = await goodClient(endpoint);
    await server.resetLoop();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) frames.push(gzipFrame(2 * i + 1, gigabyte), gzipFrame(2 * i + 2, dense));
    const replies = await rawExchange(host, port, frames, frames.length, 60_000);
    const stats = await server.stats();
    const latency = await good.stop();
    console.log(
      `gzip bombs: ${(gigabyte.length / 1024).toFixed(0)} KiB → 1 GiB and ${(dense.length / 1024).toFixed(0)} KiB → 63 MiB, 4 of each: ` +
        `server event loop delay max ${stats.loopMaxMs.toFixed(1)} ms, p99 ${stats.loopP99Ms.toFixed(1)} ms; good client p99 ${latency.p99.toFixed(1)} ms`,
    );
    for (const reply of replies) {
      assert.equal(reply.status, 1);
      const error = remoteError(reply.metadata[MetaKey.Error]!);
      assert.ok(error instanceof LimitExceededError, error.message);
      assert.ok(['maxInflatedLength', 'maxInflateRatio'].includes((error as LimitExceededError).limit));
    }
    // The figure to reach is 10 ms on an idle machine. On two cores shared with other work the OS alone stalls an idle
    // process for 100 ms and more now and then, so the bounds here only catch real blocking (old main: 165 ms per
    // dense bomb, each time): the p99 of the delay and a generous maximum.
    assert.ok(stats.loopP99Ms < 50, `event loop delay p99 ${stats.loopP99Ms.toFixed(1)} ms`);
    assert.ok(stats.loopMaxMs < 500, `event loop blocked ${stats.loopMaxMs.toFixed(1)} ms`);
    assert.equal(latency.errors, 0);
  });

  it('still inflates an honest compressed payload', async () => {
    const { host, port } = server.address();
    const data = Buffer.alloc(512 * 1024, 'abc');
    const [reply] = await rawExchange(host, port, [gzipFrame(1, gzipSync(data))]);
    assert.equal(reply!.status, 0);
    assert.equal(Buffer.from(reply!.payload).length > 0, true);
  });
});
