/**
 * A well-behaved client in its own process (so the attacker's work in the test process does not slow it down):
 * calls Echo every few milliseconds until it reads `stop` on stdin, then prints `latency <json>` and exits.
 */
import { createInterface } from 'node:readline';
import { Client } from '../../index.js';
import { silentLogger } from '../../logger.js';
import { SerializeType } from '../../protocol/constants.js';

const [endpoint, interval] = process.argv.slice(2);
const intervalMs = Number(interval ?? 5);
const client = await Client.connect(endpoint!, { logger: silentLogger, timeoutMs: 10_000 });
const latencies: number[] = [];
let errors = 0;
let running = true;
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stop') running = false;
});
while (running) {
  const started = performance.now();
  try {
    await client.call('Echo', 'Echo', 'ping', { serializeType: SerializeType.JSON });
    latencies.push(performance.now() - started);
  } catch {
    errors++;
  }
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
await client.close();
const sorted = latencies.sort((a, b) => a - b);
const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : Infinity;
process.stdout.write(`latency ${JSON.stringify({ p99, max: sorted.at(-1) ?? null, count: sorted.length, errors })}\n`);
process.exit(0);
