/**
 * One worker process of a ServerCluster (server/cluster.ts), started by the primary with `child_process.fork`. It
 * builds its own Server from the service modules it is told to load, listens with SO_REUSEPORT on the same ports as
 * its siblings (the kernel spreads new connections over them), and answers the primary over the IPC channel: its
 * /status, and close (drain, then exit). Its own /status page asks the primary for the sum over every worker.
 *
 * Signals: SIGINT and SIGTERM are left to the primary (a Ctrl-C reaches the whole process group, and the primary
 * deregisters before the workers drain). Should the primary vanish (the IPC channel closes), the worker drains and
 * exits by itself.
 */
import { ConfigError } from '../errors.js';
import { Server, type ServerOptions } from './server.js';
import { loadServiceModules } from './service-modules.js';
import { silentLogger, stderrLogger, verboseLogger, type Logger } from '../logger.js';
import type { StatusJSON } from './http/pages.js';
import type { ListenOptions } from '../transport/transport.js';

/** The Server options a primary can hand to its workers: data only (functions cannot cross processes). */
export type WorkerServerOptions = Pick<
  ServerOptions,
  | 'limits'
  | 'maxFrameLength'
  | 'maxDecompressedLength'
  | 'shutdownTimeoutMs'
  | 'drainQuietMs'
  | 'advertiseHost'
  | 'sniffNetworks'
  | 'httpGateway'
  | 'jsonRPC'
  | 'pages'
  | 'rpcz'
  | 'maxHttpBodyLength'
  | 'introspection'
  | 'rateLimit'
>;

export type WorkerLogLevel = 'silent' | 'warn' | 'info' | 'debug';

export interface WorkerConfig {
  modules: string[];
  listens: Array<{ endpoint: string; options: ListenOptions }>;
  metadata: string;
  server: WorkerServerOptions;
  logLevel: WorkerLogLevel;
}

export type FromPrimary =
  | { kind: 'start'; config: WorkerConfig }
  | { kind: 'status'; id: number }
  | { kind: 'close'; timeoutMs?: number }
  | { kind: 'cluster-status'; id: number; status?: StatusJSON; error?: string };

export type FromWorker =
  | { kind: 'listening'; addresses: string[]; advertised: string[]; services: Array<{ name: string; metadata: string }> }
  | { kind: 'failed'; message: string; configError: boolean }
  | { kind: 'status'; id: number; status?: StatusJSON; error?: string }
  | { kind: 'cluster-status'; id: number; local: StatusJSON };

/** How long a worker's /status waits for the primary's sum before answering with its own figures. */
const CLUSTER_STATUS_TIMEOUT_MS = 3000;

export function workerLogger(level: WorkerLogLevel): Logger {
  switch (level) {
    case 'silent':
      return silentLogger;
    case 'warn':
      return stderrLogger;
    case 'info':
      return { ...verboseLogger, debug: () => undefined };
    case 'debug':
      return verboseLogger;
  }
}

function send(message: FromWorker): void {
  if (process.connected) process.send!(message);
}

let server: Server | undefined;
let closing: Promise<void> | undefined;
const asked = new Map<number, { resolve: (status: StatusJSON) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
let nextId = 1;

/** A worker's /status: the primary gathers every worker's figures and sums them. */
function askPrimary(local: StatusJSON): Promise<StatusJSON> {
  return new Promise((resolve, reject) => {
    if (!process.connected) return reject(new Error('rpcx: the primary is gone'));
    const id = nextId++;
    const timer = setTimeout(() => {
      asked.delete(id);
      reject(new Error('rpcx: the primary did not answer /status in time'));
    }, CLUSTER_STATUS_TIMEOUT_MS);
    asked.set(id, { resolve, reject, timer });
    send({ kind: 'cluster-status', id, local });
  });
}

async function start(config: WorkerConfig): Promise<void> {
  const logger = workerLogger(config.logLevel);
  try {
    const { services, configure, options } = await loadServiceModules(config.modules);
    server = new Server({ ...options, ...config.server, logger, aggregateStatus: askPrimary });
    for (const { cls } of services) server.register(cls, config.metadata ? { metadata: config.metadata } : {});
    for (const configureServer of configure) await configureServer(server);
    for (const { endpoint, options } of config.listens) await server.serve(endpoint, options);
    send({
      kind: 'listening',
      addresses: server.addresses,
      advertised: server.advertisedEndpoints,
      services: server.registry.services().map((s) => ({ name: s.name, metadata: s.metadata })),
    });
  } catch (error) {
    send({ kind: 'failed', message: (error as Error).message, configError: error instanceof ConfigError });
    await server?.close({ timeoutMs: 0 }).catch(() => undefined);
    process.exit(1);
  }
}

function stop(timeoutMs?: number): Promise<void> {
  closing ??= (async () => {
    await server?.close(timeoutMs === undefined ? {} : { timeoutMs }).catch(() => undefined);
    if (process.connected) process.disconnect();
    process.exit(0);
  })();
  return closing;
}

process.on('message', (message: FromPrimary) => {
  switch (message.kind) {
    case 'start':
      void start(message.config);
      return;
    case 'status':
      if (!server) return send({ kind: 'status', id: message.id, error: 'not started' });
      server.status().then(
        (status) => send({ kind: 'status', id: message.id, status }),
        (error: Error) => send({ kind: 'status', id: message.id, error: error.message }),
      );
      return;
    case 'cluster-status': {
      const waiting = asked.get(message.id);
      if (!waiting) return;
      asked.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.status) waiting.resolve(message.status);
      else waiting.reject(new Error(message.error ?? 'rpcx: no cluster status'));
      return;
    }
    case 'close':
      void stop(message.timeoutMs);
      return;
  }
});
process.on('disconnect', () => void stop());
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
