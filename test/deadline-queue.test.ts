import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeadlineQueue, type Deadlined } from '../client/deadline-queue.js';

interface Item extends Deadlined {
  name: string;
  held?: Uint8Array;
}

const item = (name: string, timeoutMs: number): Item => ({ name, deadline: Date.now() + timeoutMs, settled: false });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('DeadlineQueue', () => {
  it('expires what is still unsettled at its deadline, in order, and skips what settled', async () => {
    const expired: string[] = [];
    let emptied = 0;
    const queue = new DeadlineQueue<Item>(
      (i) => expired.push(i.name),
      () => emptied++,
    );
    const a = item('a', 20);
    const b = item('b', 20);
    const c = item('c', 20);
    for (const i of [a, b, c]) queue.add(i, 20);
    // b settles out of order (not at the head): it stays queued but must not expire.
    b.settled = true;
    queue.settled(b);
    await sleep(80);
    assert.deepEqual(expired, ['a', 'c']);
    assert.equal(emptied, 1);
  });

  it('lets go of a call settled at the head at once, not at its deadline', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const queue = new DeadlineQueue<Item>(() => assert.fail('a settled call expired'));
    // Made in a function of its own, so that nothing here still refers to the call.
    const gone = ((): WeakRef<Item> => {
      const first: Item = { ...item('first', 60_000), held: new Uint8Array(1024) };
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
