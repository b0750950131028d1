/**
 * The server under attack, in its own process so that its memory and event loop are measured alone. Started by
 * harness.ts with a JSON config as its argument; prints `listening <endpoint>` per listener, then answers commands on
 * stdin, one per line: `stats` prints `stats <json>` (memory after a full GC, event-loop delay, connection counts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Server, type ServerOptions } from '../../server/server.js';
import { Echo } from '../../examples/services/index.js';
import { silentLogger, stderrLogger } from '../../logger.js';
import type { Limits } from '../../limits.js';

export interface ChildConfig {
  endpoints: string[];
  limits?: Partial<Limits>;
  /** Require this token (`__AUTH` / Authorization). */
  auth?: string;
  /** Log warnings to stderr (the default is silent). */
  logWarnings?: boolean;
  /** Listen options per network, e.g. `{ kcp: { kcpMaxSessions: 10 } }`. */
  listen?: Record<string, Record<string, unknown>>;
  /** Options passed to the Server as they are (jsonRPC, pages, ...). */
  server?: Partial<ServerOptions>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const server = new Server({
  logger: config.logWarnings ? stderrLogger : silentLogger,
  ...(config.limits ? { limits: config.limits } : {}),
  ...(config.auth ? { auth: (token) => token === config.auth } : {}),
  ...(config.server ?? {}),
});
server.register(Echo);
server.registerFunction('Slow', 'Sleep', async (ms: unknown) => {
  await new Promise((resolve) => setTimeout(resolve, Number(ms)));
  return ms;
});

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

for (const endpoint of config.endpoints) {
  const network = endpoint.slice(0, endpoint.indexOf('@'));
  const listener = await server.serve(endpoint, config.listen?.[network] ?? {});
  process.stdout.write(`listening ${listener.network}@${listener.address}\n`);
}

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'stats') {
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    const stats = {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      arrayBuffers: memory.arrayBuffers,
      external: memory.external,
      loopMaxMs: loop.max / 1e6,
      loopP99Ms: loop.percentile(99) / 1e6,
      connections: server.connections.size,
      httpConnections: server.httpConnections.size,
      protocolErrors: server.protocolErrors.total,
      inFlight: server.inFlight,
    };
    process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
  } else if (command === 'reset-loop') {
    loop.reset();
    process.stdout.write('reset-loop\n');
  } else if (command === 'close') {
    void server.close().then(() => process.exit(0));
  }
});
