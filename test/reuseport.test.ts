/**
 * reuseport: two server processes on one port share the load, and stopping one loses no call: every call either
 * runs or is refused unrun ("shutting down", or a refused dial) and retried; a connection closing under a call fails
 * the test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, DialError, UnavailableError } from '../index.js';
import { silentLogger } from '../logger.js';
import { distDir } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';
import { startListening, stopProcess } from './helpers/processes.js';

const fixture = join(distDir, 'test', 'fixtures', 'pid-server.js');

/** Retries what the server never ran: a refused dial, a call refused by a draining server. */
function retryable(error: unknown): boolean {
  return error instanceof UnavailableError || error instanceof DialError;
}

describe('reuseport network', () => {
  it('spreads connections over two processes and survives a graceful stop of one', async () => {
    const port = await freePort();
    const endpoint = `reuseport@127.0.0.1:${port}`;
    const a = await startListening(fixture, [endpoint]);
    const b = await startListening(fixture, [endpoint]);
    try {
      // New connections land on both processes.
      const pids = new Set<number>();
      for (let i = 0; i < 40 && pids.size < 2; i++) {
        const client = await Client.connect(`tcp@127.0.0.1:${port}`, { logger: silentLogger });
        pids.add(await client.call<number>('Who', 'Pid', null));
        await client.close();
      }
      assert.deepEqual([...pids].sort(), [a.child.pid, b.child.pid].sort());

      // Load from 20 callers, each on its own connection; stop A in the middle.
      let done = 0;
      let retried = 0;
      const failures: unknown[] = [];
      const servedBy = new Map<number, number>();
      const stopAt = Date.now() + 700;
      const endAt = Date.now() + 2000;
      const worker = async (): Promise<void> => {
        let client: Client | undefined;
        let calls = 0;
        while (Date.now() < endAt) {
          try {
            if (!client || client.closed || client.draining) {
              client?.close().catch(() => undefined);
              client = await Client.connect(`tcp@127.0.0.1:${port}`, { logger: silentLogger });
              calls = 0;
            }
            calls++;
            const pid = await client.call<number>('Who', 'Slow', { Ms: 20 });
            servedBy.set(pid, (servedBy.get(pid) ?? 0) + 1);
            done++;
          } catch (error) {
            if (retryable(error)) {
              retried++;
              client = undefined;
              continue;
            }
            failures.push(`${(error as Error).name}: ${(error as Error).message} at ${Date.now() - stopAt} ms after the stop, call ${calls} on its connection`);
            client = undefined;
          }
        }
        await client?.close();
      };
      const load = Promise.all(Array.from({ length: 20 }, worker));
      await new Promise((resolve) => setTimeout(resolve, stopAt - Date.now()));
      assert.equal(await stopProcess(a.child), 0, 'A shut down gracefully');
      await load;
      assert.deepEqual(failures, [], 'no call failed');
      assert.ok(retried > 0, 'A refused calls while draining, and they were retried on B');
      assert.ok(done > 200, `calls done: ${done}`);
      assert.ok((servedBy.get(a.child.pid!) ?? 0) > 0 && (servedBy.get(b.child.pid!) ?? 0) > 0, 'both served');
      // After A stopped, B serves everything.
      const after = await Client.connect(`tcp@127.0.0.1:${port}`, { logger: silentLogger });
      assert.equal(await after.call('Who', 'Pid', null), b.child.pid);
      await after.close();
    } finally {
      await stopProcess(a.child);
      await stopProcess(b.child);
    }
  });
});
