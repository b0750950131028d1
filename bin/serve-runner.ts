/**
 * What `serve-examples` and `serve` share: the listen/registry/TLS/KCP/metadata flags, checked completely before
 * anything is opened; then every listener is opened (if one fails, everything opened so far is closed and the command
 * fails with the reason), the services are registered in the registry (same), and the server runs until SIGINT or
 * SIGTERM, when it deregisters and drains.
 */
import { ConfigError, parseEndpoint, Server, verboseLogger, type Logger, type Registrar } from '../index.js';
import { ServerCluster } from '../server/cluster.js';
import { getTransport, splitHostPort } from '../transport/networks.js';
import { createRegistrar } from '../registry/index.js';
import type { Flags } from './command.js';
import { checkRegistryUrl } from './discovery-options.js';
import { checkServerNetworkFlags, listenOptionsFor, serverNetworkFlags } from './network-options.js';
import { numberOption } from './options.js';

export const serveFlags: Flags = {
  listen: { type: 'string', multiple: true, value: 'network@addr', help: 'where to serve, e.g. tcp@127.0.0.1:8972, unix@/tmp/s.sock, ws@:8080, kcp@:8973 (port 0: any free port)' },
  meta: { type: 'string', value: 'k=v&...', help: "metadata of every service, advertised to registries (e.g. 'weight=7&group=a')" },
  registry: { type: 'string', value: 'URL', help: 'register in etcd://host:port/basePath, redis://host:port/basePath, zk://host:port/basePath or mdns://' },
  'registry-ttl': { type: 'string', value: 's', help: 'how long the entries outlive a dead server (default 10)' },
  admin: { type: 'string', value: 'network@addr', help: 'serve the builtin pages (/status, /metrics, /dashboard ...) on this listener only, e.g. tcp@127.0.0.1:9090 or unix@/run/admin.sock; TLS with --tls-cert' },
  workers: { type: 'string', value: 'n', help: 'serve from n processes sharing each tcp port (SO_REUSEPORT; default 1: this process)' },
  ...serverNetworkFlags,
  verbose: { type: 'boolean', help: 'log debug lines too (default: info, warnings and errors on stderr)' },
};

/**
 * A server run by an operator logs its lifecycle (listeners, registry lost and restored) as well as problems;
 * --verbose adds the debug lines.
 */
export function serverLogger(values: Record<string, unknown>): Logger {
  return values.verbose === true ? verboseLogger : { ...verboseLogger, debug: () => undefined };
}

export const serveDetails = `Prints one line "listening network@address" per listener (with the real port), and "admin network@address" for
--admin, then serves until SIGINT or SIGTERM. With --admin the pages are served there and not on the --listen ports.
If a listener cannot be opened or the registry cannot be reached at start, everything opened is closed and the
command exits non-zero with the reason. A registry lost later is retried with backoff (logged once when lost and once
when restored).
With --workers n (tcp/reuseport listeners only), n worker processes each load the services and listen on the same
ports with SO_REUSEPORT; a line "workers <pid>..." follows the listening lines. This process registers each endpoint
once, answers /status on any worker with the sum over all, restarts a worker that dies and, on SIGINT/SIGTERM,
deregisters and lets every worker drain its calls.`;

/** A listen endpoint: known network and an address of the right shape (port 0 allowed). */
export function checkListenEndpoint(spec: string, flag = '--listen'): void {
  try {
    const { network, address } = parseEndpoint(spec);
    getTransport(network);
    if (network === 'unix') return;
    const slash = network === 'ws' || network === 'wss' ? address.indexOf('/') : -1;
    const hostPort = slash < 0 ? address : address.slice(0, slash);
    splitHostPort(hostPort);
    if (!/:\d+$/.test(hostPort)) throw new ConfigError(`"${hostPort}" needs a port (0 for any free port)`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${flag} ${spec}: ${error.message.replace(/^rpcx: /, '')}`);
  }
}

export interface ServeSettings {
  listens: string[];
  metadata: string;
  /** Worker processes; 1 serves from this process. */
  workers: number;
  registry?: { url: string; ttlSeconds: number };
  /** --admin: where the builtin pages are served instead of the public ports. */
  admin?: string;
}

export function serveSettings(values: Record<string, unknown>): ServeSettings {
  const listens = (values.listen as string[] | undefined) ?? [];
  if (listens.length === 0) throw new ConfigError('--listen is required (e.g. --listen tcp@127.0.0.1:8972)');
  for (const listen of listens) checkListenEndpoint(listen);
  checkServerNetworkFlags(listens, values);
  const metadata = typeof values.meta === 'string' ? values.meta : '';
  if (metadata !== '' && !/^[^=&]+=[^&]*(&[^=&]+=[^&]*)*$/.test(metadata)) throw new ConfigError(`--meta takes k=v&k2=v2, got "${metadata}"`);
  const workers = numberOption(values.workers, 1, 'workers', { min: 1, integer: true });
  if (workers > 1) {
    for (const listen of listens) {
      const { network } = parseEndpoint(listen);
      if (network !== 'tcp' && network !== 'reuseport') throw new ConfigError(`--workers: ${listen}: worker processes can share tcp and reuseport listeners only`);
    }
    if (typeof values.admin === 'string') throw new ConfigError('--admin: not with --workers (each worker would need its own admin port)');
  }
  const settings: ServeSettings = { listens, metadata, workers };
  if (typeof values.admin === 'string') {
    const network = parseEndpoint(values.admin).network;
    if (network !== 'tcp' && network !== 'unix') throw new ConfigError(`--admin ${values.admin}: the pages are served on tcp or unix, not ${network}`);
    checkListenEndpoint(values.admin, '--admin');
    settings.admin = values.admin;
  }
  if (typeof values.registry === 'string') {
    checkRegistryUrl(values.registry, '--registry');
    settings.registry = { url: values.registry, ttlSeconds: numberOption(values['registry-ttl'], 10, 'registry-ttl', { min: 1 }) };
  } else if (values['registry-ttl'] !== undefined) throw new ConfigError('--registry-ttl needs --registry');
  return settings;
}

/** What runs until a signal: one Server, or a ServerCluster of worker processes. */
interface Serving {
  readonly logger: Logger;
  addRegistrar(registrar: Registrar): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Opens everything, or closes what was opened and throws why; then serves until a signal. */
export async function runServer(server: Server, settings: ServeSettings, values: Record<string, unknown>): Promise<number> {
  // Read certificate files before opening anything.
  const listenOptions = settings.listens.map((endpoint) => listenOptionsFor(endpoint, values));
  return serveUntilSignal(server, settings, async () => {
    const lines: string[] = [];
    let adminLine: string | undefined;
    // The admin listener first, so the public ports never serve the pages.
    if (settings.admin !== undefined) {
      const tls = listenOptionsFor(settings.admin, values).tls;
      let admin;
      try {
        admin = await server.serveAdmin(settings.admin, tls ? { tls } : {});
      } catch (error) {
        throw Object.assign(new Error(`cannot listen on --admin ${settings.admin}: ${(error as Error).message}`), { cause: error });
      }
      adminLine = `admin ${admin.network}@${admin.address}`;
    }
    for (const [i, endpoint] of settings.listens.entries()) {
      let listener;
      try {
        listener = await server.serve(endpoint, listenOptions[i]!);
      } catch (error) {
        throw Object.assign(new Error(`cannot listen on ${endpoint}: ${(error as Error).message}`), { cause: error });
      }
      lines.push(`listening ${listener.network}@${listener.address}`);
    }
    if (adminLine !== undefined) lines.push(adminLine);
    return lines;
  });
}

/**
 * `--workers n`: n processes each load `modules` and listen on the same ports; this process registers the endpoints
 * once, answers /status for all of them and, on a signal, deregisters and lets every worker drain.
 */
export async function runCluster(modules: string[], settings: ServeSettings, values: Record<string, unknown>): Promise<number> {
  const listen = settings.listens.map((endpoint) => ({ endpoint, options: listenOptionsFor(endpoint, values) }));
  const logger = serverLogger(values);
  let cluster: ServerCluster;
  try {
    cluster = await ServerCluster.start({
      workers: settings.workers,
      modules,
      listen,
      metadata: settings.metadata,
      logger,
      workerLogLevel: values.verbose === true ? 'debug' : 'info',
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw Object.assign(new Error(`cannot start ${settings.workers} workers on ${settings.listens.join(', ')}: ${(error as Error).message}`), { cause: error });
  }
  return serveUntilSignal(cluster, settings, async () => [
    ...cluster.endpoints.map((endpoint) => `listening ${endpoint}`),
    `workers ${cluster.pids.join(' ')}`,
  ]);
}

async function serveUntilSignal(target: Serving, settings: ServeSettings, open: () => Promise<string[]>): Promise<number> {
  let registrar: Registrar | undefined;
  const lines: string[] = [];
  try {
    lines.push(...(await open()));
    if (settings.registry) {
      registrar = createRegistrar(settings.registry.url, { ttlSeconds: settings.registry.ttlSeconds, logger: target.logger });
      await target.addRegistrar(registrar);
      lines.push(`registered in ${settings.registry.url}`);
    }
  } catch (error) {
    await target.close({ timeoutMs: 0 }).catch(() => undefined);
    // A registrar that never registered is closed here too (close only knows attached ones).
    await registrar?.close().catch(() => undefined);
    throw error;
  }
  // One line per listener, with the real port, printed once everything is up: scripts wait for these.
  process.stdout.write(lines.map((line) => line + '\n').join(''));
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await target.close();
  return 0;
}
