/** What the registry suites share: a counting service, polling until a condition holds, and a load of calls. */
import assert from 'node:assert/strict';
import { method, service } from '../../index.js';
import type { ServicePair } from '../../client/discovery/discovery.js';
import type { XClient } from '../../client/xclient.js';

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
