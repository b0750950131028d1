import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeadlineQueue, type Deadlined } from '../client/deadline-queue.js';
import { until } from './helpers/until.js';

interface Item extends Deadlined {
  id: number;
  held?: Uint8Array;
}

function item(id: number, timeoutMs: number, now = Date.now()): Item {
  return { id, deadline: now + timeoutMs, settled: false };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

  it('expires what is still unsettled at its deadline, in order, and skips what settled', async () => {
    const expired: number[] = [];
    let emptied = 0;
    const queue = new DeadlineQueue<Item>(
      (i) => expired.push(i.id),
      () => emptied++,
    );
    const a = item(1, 20);
    const b = item(2, 20);
    const c = item(3, 20);
    for (const i of [a, b, c]) queue.add(i, 20);
    // b settles out of order (not at the head): it stays queued but must not expire.
    b.settled = true;
    queue.settled(b);
    await sleep(80);
    assert.deepEqual(expired, [1, 3]);
    assert.equal(emptied, 1);
  });

  it('lets go of a call settled at the head at once, not at its deadline', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const queue = new DeadlineQueue<Item>(() => assert.fail('a settled call expired'));
    // Made in a function of its own, so that nothing here still refers to the call.
    const gone = ((): WeakRef<Item> => {
      const first: Item = { ...item(0, 60_000), held: new Uint8Array(1024) };
      queue.add(first, 60_000);
      first.settled = true;
      queue.settled(first);
      return new WeakRef(first);
    })();
    // WeakRef targets stay alive until the current job ends.
    await sleep(0);
    gc();
    assert.equal(gone.deref(), undefined, 'the queue still holds a settled call');
    queue.clear();
  });
});
