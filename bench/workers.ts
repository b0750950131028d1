/**
 * Multi-core serving: `rpcx-ts serve-examples` in one process against `--workers 2` (two processes sharing the port
 * with SO_REUSEPORT), driven by the same load generator from this process over several connections (the kernel
 * assigns whole connections to workers, so one connection would only ever reach one of them). 1 KiB raw `Echo.Echo`.
 * The client runs on its own core only if the machine has one to spare: on two cores the client and two workers
 * share them, which caps the ratio well below the number of workers.
 *
 * Standalone: `node dist/bench/workers.js` (BENCH_DURATION seconds per measurement, BENCH_WORKERS the larger count).
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, SerializeType } from '../index.js';
import { silentLogger } from '../logger.js';
import { runLoad, type LoadResult } from './load.js';
import { startListening, stopProcess } from '../test/helpers/processes.js';

const distDir = dirname(dirname(fileURLToPath(import.meta.url)));

export interface WorkersBenchOptions {
  /** The worker counts to compare, the first being the baseline (default [1, 2]). */
  workers?: number[];
  connections: number;
  concurrency: number;
  durationMs: number;
  payload: Uint8Array;
}

export interface WorkersRow {
  workers: number;
  result: LoadResult;
}

async function measureOne(workers: number, options: WorkersBenchOptions): Promise<LoadResult> {
  const args = ['serve-examples', '--listen', 'tcp@127.0.0.1:0', ...(workers > 1 ? ['--workers', String(workers)] : [])];
  const { child, endpoints } = await startListening(join(distDir, 'bin', 'rpcx-ts.js'), args, 1, { stderr: 'inherit' });
  const clients: Client[] = [];
  try {
    for (let i = 0; i < options.connections; i++) clients.push(await Client.connect(endpoints[0]!, { logger: silentLogger }));
    const callOptions = { serializeType: SerializeType.None, raw: true };
    const call = (worker: number): Promise<unknown> => clients[worker % clients.length]!.call('Echo', 'Echo', options.payload, callOptions);
    await runLoad(call, { concurrency: options.concurrency, durationMs: Math.min(1000, options.durationMs / 4) });
    return await runLoad(call, { concurrency: options.concurrency, durationMs: options.durationMs });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopProcess(child);
  }
}

export async function measureWorkers(options: WorkersBenchOptions): Promise<WorkersRow[]> {
  const rows: WorkersRow[] = [];
  for (const workers of options.workers ?? [1, 2]) rows.push({ workers, result: await measureOne(workers, options) });
  return rows;
}

/** Prints one line per worker count and each count's ratio to the first. */
export function printWorkers(rows: WorkersRow[], write: (text: string) => void): void {
  const base = rows[0]!.result.callsPerSecond;
  for (const { workers, result } of rows) {
    write(
      `  ${`${workers} worker${workers > 1 ? 's' : ''}`.padEnd(36)} ${Math.round(result.callsPerSecond).toString().padStart(8)} calls/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ${(result.callsPerSecond / base).toFixed(2)}x${result.errors ? `  errors ${result.errors}` : ''}\n`,
    );
  }
  write(`  (${availableParallelism()} cores for the client and every worker together)\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const largest = Number(process.env.BENCH_WORKERS ?? 2);
  const rows = await measureWorkers({
    workers: [1, largest],
    connections: 8,
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 100),
    durationMs: Number(process.env.BENCH_DURATION ?? 5) * 1000,
    payload: Buffer.alloc(Number(process.env.BENCH_PAYLOAD ?? 1024), 0x78),
  });
  printWorkers(rows, (text) => process.stdout.write(text));
}
