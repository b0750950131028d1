/**
 * A server whose registry goes away while it runs keeps serving, logs the loss once (not once per retry), retries
 * with backoff, logs the recovery once and is found in the registry again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliPath, run, startListening, stopProcess } from './helpers/processes.js';
import { startEtcd, startRedis } from './helpers/stores.js';

async function waitFor(check: () => boolean, timeoutMs: number, what: string, stderrOf: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr: ${stderrOf()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const kind of ['etcd', 'redis'] as const) {
  describe(`rpcx-ts serve-examples when ${kind} goes away and comes back`, () => {
    it('logs the loss once, retries, logs the recovery once and registers again', async () => {
      const store = kind === 'etcd' ? await startEtcd() : await startRedis();
      const url = `${store.url}/rpcx_loss`;
      const { child, endpoints } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0', '--registry', url, '--registry-ttl', '2']);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const count = (pattern: RegExp): number => stderr.split('\n').filter((line) => pattern.test(line)).length;
      try {
        await store.stop();
        await waitFor(() => count(/WARN .*registration lost; retrying with backoff/) > 0, 20_000, 'the loss to be logged', () => stderr);
        // Several retry rounds pass (backoff from 200 ms, Redis every TTL/3): still one line.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.equal(count(/registration lost/), 1, stderr);
        // The server itself keeps answering.
        const direct = await run(cliPath, ['call', endpoints[0]!, 'Arith.Mul', '{"A":6,"B":7}']);
        assert.equal(direct.stdout, '{"C":42}\n', direct.stderr);
        await store.start();
        await waitFor(() => count(/registration restored/) > 0, 20_000, 'the recovery to be logged', () => stderr);
        assert.equal(count(/registration restored/), 1, stderr);
        assert.equal(count(/registration lost/), 1, stderr);
        const viaRegistry = await run(cliPath, ['call', url, 'Arith.Mul', '{"A":6,"B":7}']);
        assert.equal(viaRegistry.stdout, '{"C":42}\n', viaRegistry.stderr);
      } finally {
        await stopProcess(child);
        await store.dispose();
      }
    });
  });
}
