/** What the registry suites share: a counting service, polling until a condition holds, and a load of calls. */
import assert from 'node:assert/strict';
import { method, service, silentLogger } from '../../index.js';
import type { Discovery, ServicePair } from '../../client/discovery/discovery.js';
import { XClient } from '../../client/xclient.js';

@service('Counter')
export class Counter {
  calls = 0;
  @method()
  async hit(args: { Ms?: number }): Promise<number> {
    this.calls++;
    if (args.Ms) await new Promise((resolve) => setTimeout(resolve, args.Ms));
    return this.calls;
  }
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

export const keys = (pairs: ServicePair[]): string[] => pairs.map((p) => p.key).sort();

/** `workers` loops calling Counter.Hit (5 ms each) until `stop()`; then tells how many succeeded and what failed. */
export function callLoad(xclient: XClient, workers = 20): { stop(): Promise<{ ok: number; failures: unknown[] }> } {
  let ok = 0;
  let stopped = false;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (!stopped) {
      try {
        await xclient.call('Hit', { Ms: 5 });
        ok++;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const running = Promise.all(Array.from({ length: workers }, worker));
  return {
    async stop() {
      stopped = true;
      await running;
      return { ok, failures };
    },
  };
}

/**
 * The load scenario every registry passes: under 20 callers, a new server joins, then `leaving` shuts down
 * gracefully. Asserts that no call failed, that enough were made and that the newcomer took some.
 */
export async function joinAndLeaveUnderLoad(
  discovery: Discovery,
  join: () => Promise<{ counter: Counter }>,
  leave: () => Promise<void>,
): Promise<void> {
  const xclient = new XClient('Counter', 'failover', 'roundrobin', discovery, { logger: silentLogger, timeoutMs: 5000 });
  try {
    const load = callLoad(xclient);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const joined = await join();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await leave();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { ok, failures } = await load.stop();
    assert.deepEqual(failures, [], 'no call failed');
    assert.ok(ok > 300, `calls made: ${ok}`);
    assert.ok(joined.counter.calls > 0, 'the new server took calls');
  } finally {
    await xclient.close();
  }
}
