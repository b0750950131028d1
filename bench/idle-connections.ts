/**
 * Memory of idle connections: `count` XClients (failover, round robin), each with its pool connected to the same
 * server, each having made one call, then left idle. Reports what the client process and the server process grew by
 * per connection (RSS; and the client's JavaScript heap plus off-heap buffers, after a full GC when --expose-gc is
 * on).
 *
 * Where the client's RSS goes, on Linux: the JavaScript heap's pages (old generation, and the young generation that
 * V8 grows while the connections are made: every object that survives a scavenge counts towards growing it, up to
 * 2 x 64 MiB on 64-bit Node), the C heap (malloc: libuv handles, Node's socket wraps, freed-but-kept fragments) and
 * the rest (the node binary's pages, already there before the first connection). The young generation is not given
 * back by an ordinary GC, only by a memory-reducing one (V8's memory reducer or a low-memory notification), which an
 * idle process may never get: the headline figure is RSS after an ordinary full GC, as a user's process sits; the
 * figure after a memory-reducing GC (`gc({ flavor: 'last-resort' })`) is printed beside it as the floor.
 *
 * Standalone: `node --expose-gc dist/bench/idle-connections.js [count]` (default 10,000; mind `ulimit -n`).
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { MultipleServersDiscovery, SerializeType, XClient } from '../index.js';
import { silentLogger } from '../logger.js';
import { cliPath, startListening, stopProcess } from '../test/helpers/processes.js';
import { runStandalone } from './standalone.js';

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
  /** Client JavaScript heap in use (V8's heapUsed) growth per connection, after a full GC. */
  clientJsHeapPerConnection: number;
  /** Client C heap (malloc arena, Linux) growth per connection. */
  clientMallocPerConnection: number | undefined;
  /** Committed size of the client's young generation before and with the connections open, in bytes. */
  clientYoungGeneration: { before: number; after: number };
  /** Client process RSS after a memory-reducing GC (undefined without --expose-gc). */
  clientRssAfterReducingGc: number | undefined;
}

/** Committed bytes of V8's young generation (new space and its large-object space). */
function youngGeneration(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) if (space.space_name.startsWith('new_')) bytes += space.space_size;
  return bytes;
}

/** Resident bytes of this process's C heap (the main malloc arena, `[heap]` in /proc/self/smaps), or undefined. */
function mallocRss(): number | undefined {
  try {
    let bytes = 0;
    let inHeap = false;
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith('[heap]');
      else if (inHeap && line.startsWith('Rss:')) bytes += Number(/(\d+)/.exec(line)![1]) * 1024;
    }
    return bytes;
  } catch {
    return undefined;
  }
}

// Long enough for a dial and a call on two loaded cores; waited out before measuring.
const DEADLINE_MS = 5000;

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

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void;

function collect(): void {
  const gc = (globalThis as { gc?: Gc }).gc;
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
  const jsHeapBefore = process.memoryUsage().heapUsed;
  const mallocBefore = mallocRss();
  const youngBefore = youngGeneration();
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
    const usage = process.memoryUsage();
    const rss = usage.rss;
    const heap = heapBytes();
    const mallocAfter = mallocRss();
    const youngAfter = youngGeneration();
    const serverAfter = processRss(serverPid);
    const gc = (globalThis as { gc?: Gc }).gc;
    let reduced: number | undefined;
    if (gc) {
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      reduced = process.memoryUsage().rss;
    }
    return {
      connections: count,
      clientRssPerConnection: (rss - rssBefore) / added,
      clientHeapPerConnection: (heap - heapBefore) / added,
      clientRss: rss,
      serverRssPerConnection: serverBefore !== undefined && serverAfter !== undefined ? (serverAfter - serverBefore) / added : undefined,
      clientJsHeapPerConnection: (usage.heapUsed - jsHeapBefore) / added,
      clientMallocPerConnection: mallocBefore !== undefined && mallocAfter !== undefined ? (mallocAfter - mallocBefore) / added : undefined,
      clientYoungGeneration: { before: youngBefore, after: youngAfter },
      clientRssAfterReducingGc: reduced,
    };
  } finally {
    for (let i = 0; i < xclients.length; i += 500) await Promise.all(xclients.slice(i, i + 500).map((x) => x.close()));
    await warm.close();
  }
}

export function formatIdleConnections(r: IdleConnectionsResult): string {
  const kb = (bytes: number | undefined): string => (bytes === undefined ? '?' : `${(bytes / 1024).toFixed(2)} KB`);
  const mb = (bytes: number | undefined): string => (bytes === undefined ? '?' : `${(bytes / 1048576).toFixed(1)} MB`);
  return (
    `${r.connections} idle XClient connections: client RSS ${mb(r.clientRss)} ` +
    `(after a memory-reducing GC ${mb(r.clientRssAfterReducingGc)}; young generation ${mb(r.clientYoungGeneration.before)} -> ${mb(r.clientYoungGeneration.after)}), ` +
    `per connection client RSS ${kb(r.clientRssPerConnection)} (JS heap ${kb(r.clientJsHeapPerConnection)}, heap+buffers ${kb(r.clientHeapPerConnection)}, malloc ${kb(r.clientMallocPerConnection)}), ` +
    `server RSS ${kb(r.serverRssPerConnection)}`
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

runStandalone(import.meta.url, 'idle-connections', main);
