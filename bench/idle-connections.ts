/**
 * Memory of idle connections: `count` XClients (failover, round robin), each with its pool connected to the same
 * server, each having made one call, then left idle. Reports what the client process and the server process grew by
 * per connection (RSS; and the client's JavaScript heap plus off-heap buffers, after a full GC when --expose-gc is
 * on).
 *
 * Standalone: `node --expose-gc dist/bench/idle-connections.js [count]` (default 10,000; mind `ulimit -n`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MultipleServersDiscovery, SerializeType, XClient } from '../index.js';
import { silentLogger } from '../logger.js';
import { cliPath, startListening, stopProcess } from '../test/helpers/processes.js';

export interface IdleConnectionsResult {
  connections: number;
  /** Client process RSS growth per connection, in bytes. */
  clientRssPerConnection: number;
  /** Client heap + external + array buffers growth per connection, in bytes (after GC when available). */
  clientHeapPerConnection: number;
  /** Client process RSS with every connection open, in bytes. */
  clientRss: number;
  /** Server process RSS growth per connection, in bytes (Linux /proc; undefined elsewhere). */
  serverRssPerConnection: number | undefined;
}

const DEADLINE_MS = 1000;

/** VmRSS of a process in bytes, from /proc (undefined when unavailable). */
export function processRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

function heapBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external + usage.arrayBuffers;
}

/**
 * Opens `count` idle XClient connections to `endpoint` (the warm-up client's one among them, so that 10,000 stays
 * within the server's default maxConnections), measures, closes them all.
 */
export async function measureIdleConnections(endpoint: string, count: number, serverPid?: number): Promise<IdleConnectionsResult> {
  const payload = Buffer.alloc(16, 0x78);
  // A short deadline, so that once it has passed every connection is idle: no call, no deadline timer left.
  const options = { serializeType: SerializeType.None, raw: true, timeoutMs: DEADLINE_MS };
  // One XClient first, so code loaded and compiled on first use is not counted per connection.
  const warm = new XClient('Echo', 'failover', 'roundrobin', new MultipleServersDiscovery([endpoint]), { logger: silentLogger });
  await warm.call('Echo', payload, options);
  await new Promise((resolve) => setTimeout(resolve, 200));
  collect();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = heapBytes();
  const serverBefore = processRss(serverPid);
  const xclients: XClient[] = [];
  try {
    // Dial in waves so the server's accept backlog is never overrun.
    const added = count - 1;
    for (let opened = 0; opened < added; ) {
      const wave = Math.min(200, added - opened);
      const batch = Array.from({ length: wave }, () => new XClient('Echo', 'failover', 'roundrobin', new MultipleServersDiscovery([endpoint]), { logger: silentLogger }));
      xclients.push(...batch);
      await Promise.all(batch.map((x) => x.call('Echo', payload, options)));
      opened += wave;
    }
    await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS + 500));
    collect();
    const rss = process.memoryUsage().rss;
    const heap = heapBytes();
    const serverAfter = processRss(serverPid);
    return {
      connections: count,
      clientRssPerConnection: (rss - rssBefore) / added,
      clientHeapPerConnection: (heap - heapBefore) / added,
      clientRss: rss,
      serverRssPerConnection: serverBefore !== undefined && serverAfter !== undefined ? (serverAfter - serverBefore) / added : undefined,
    };
  } finally {
    for (let i = 0; i < xclients.length; i += 500) await Promise.all(xclients.slice(i, i + 500).map((x) => x.close()));
    await warm.close();
  }
}

export function formatIdleConnections(r: IdleConnectionsResult): string {
  const kb = (bytes: number | undefined): string => (bytes === undefined ? '?' : `${(bytes / 1024).toFixed(2)} KB`);
  return (
    `${r.connections} idle XClient connections: client RSS ${(r.clientRss / 1048576).toFixed(1)} MB, ` +
    `per connection client RSS ${kb(r.clientRssPerConnection)} (heap+buffers ${kb(r.clientHeapPerConnection)}), server RSS ${kb(r.serverRssPerConnection)}`
  );
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const { child, endpoints } = await startListening(cliPath, ['serve-examples', '--listen', 'tcp@127.0.0.1:0'], 1, { stderr: 'inherit' });
  try {
    const result = await measureIdleConnections(endpoints[0]!, count, child.pid);
    process.stdout.write(`${formatIdleConnections(result)}\n`);
  } finally {
    await stopProcess(child);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`idle-connections failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
