/** The load generators behind `rpcx-ts bench` and `npm run bench`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHistogram, runLoad, runOpenLoad } from '../bench/load.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('open-loop load', () => {
  it('starts calls at the rate and charges a stall to every call that was due during it (no coordinated omission)', async () => {
    let first = true;
    // One call outstanding at most: while the first call stalls for 300 ms, the ~60 calls due meanwhile cannot start.
    const result = await runOpenLoad(
      async () => {
        if (first) {
          first = false;
          await sleep(300);
        }
      },
      { ratePerSecond: 200, durationMs: 1000, maxOutstanding: 1 },
    );
    assert.ok(Math.abs(result.calls - 200) <= 2, `calls=${result.calls}`);
    assert.equal(result.errors, 0);
    // Measured from each call's own start, only one call would be slow and p90 would be ~0.
    assert.ok(result.latency.p90 >= 50, `p90=${result.latency.p90}`);
    assert.ok(result.latency.max >= 250, `max=${result.latency.max}`);
  });

  it('counts failures and stops on the signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runOpenLoad(() => Promise.reject(new Error('down')), { ratePerSecond: 100, durationMs: 10_000, signal: controller.signal });
    assert.equal(result.calls, 0);
    assert.ok(result.errors >= 10 && result.errors <= 30, `errors=${result.errors}`);
    assert.equal((result.firstError as Error).message, 'down');
  });
});

describe('closed-loop load', () => {
  it('reports p50, p90, p99, p99.9 and max in ascending order, and the histogram shows them', async () => {
    let n = 0;
    const result = await runLoad(() => sleep(n++ % 10 === 0 ? 5 : 0), { concurrency: 4, durationMs: 300 });
    const { p50, p90, p99, p999, max } = result.latency;
    assert.ok(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(result.latency));
    assert.equal(result.p50Ms, p50);
    assert.equal(result.p99Ms, p99);
    const histogram = formatHistogram(result.latency).split('\n');
    assert.equal(histogram[0], 'latency:');
    assert.deepEqual(histogram.slice(1).map((l) => l.trim().split(/\s+/)[0]), ['p50', 'p90', 'p99', 'p99.9', 'max']);
  });
});
