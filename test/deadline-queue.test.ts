import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineQueue, type Deadlined } from '../client/deadline-queue.js';
import { until } from './helpers/until.js';

interface Item extends Deadlined {
  id: number;
}

function item(id: number, timeoutMs: number, now = Date.now()): Item {
  return { id, deadline: now + timeoutMs, settled: false };
}

describe('deadline queue', () => {
  it('expires what is still pending, in deadline order, and skips what settled', async () => {
    const expired: number[] = [];
    let emptied = 0;
    const queue = new DeadlineQueue<Item>(
      (entry) => expired.push(entry.id),
      () => emptied++,
    );
    const now = Date.now();
    // Two timeout values interleaved: each keeps its own FIFO, the timer follows the earliest head.
    const items = [item(1, 60, now), item(2, 20, now), item(3, 60, now), item(4, 20, now), item(5, 40, now)];
    queue.add(items[0]!, 60);
    queue.add(items[1]!, 20);
    queue.add(items[2]!, 60);
    queue.add(items[3]!, 20);
    queue.add(items[4]!, 40);
    items[3]!.settled = true;
    items[2]!.settled = true;
    await until(() => emptied === 1, 'the queue to empty', 5000);
    assert.deepEqual(expired, [2, 5, 1]);
  });

  it('keeps many calls in flight across wrap-around and growth, expiring only the ones left', async () => {
    const expired: number[] = [];
    let emptied = 0;
    const queue = new DeadlineQueue<Item>(
      (entry) => expired.push(entry.id),
      () => emptied++,
    );
    // 100 in flight at a time over 5000 calls: the ring wraps many times. Then 200 more without any settling make it
    // grow while its head is somewhere in the middle.
    const inFlight: Item[] = [];
    for (let id = 0; id < 5200; id++) {
      const next = item(id, 50);
      queue.add(next, 50);
      inFlight.push(next);
      if (id < 5000 && inFlight.length > 100) inFlight.shift()!.settled = true;
    }
    // Every other one of those still in flight completes in time; the rest expire, oldest first.
    inFlight.forEach((entry, i) => (entry.settled = i % 2 === 0));
    await until(() => emptied === 1, 'the queue to empty', 5000);
    assert.deepEqual(
      expired,
      inFlight.filter((_, i) => i % 2 === 1).map((entry) => entry.id),
    );
    queue.clear();
  });
});
