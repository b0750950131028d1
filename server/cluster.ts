/**
 * `ServerCluster`: one server served from n processes. Node runs JavaScript on one core; Go's rpcx uses them all. The
 * primary (the process that calls `ServerCluster.start`) forks n workers (server/cluster-worker.ts); each loads the
 * same service modules and listens on the same tcp ports with SO_REUSEPORT, so the kernel spreads new connections
 * over them and a connection stays with one worker for its life. The primary holds the registrars (each endpoint is
 * registered once, not once per worker), answers /status for any worker with the sum over all of them, restarts a
 * worker that dies, and on close deregisters first, then lets every worker drain its calls and exit.
 *
 *   const cluster = await ServerCluster.start({ workers: 4, modules: ['dist/services/arith.js'], listen: ['tcp@0.0.0.0:8972'] });
 *   await cluster.addRegistrar(createRegistrar('etcd://127.0.0.1:2379/rpcx'));
 *   ...
 *   await cluster.close();
 *
 * Services are given as modules (compiled .js files whose exported @service() classes are served, as with
 * `rpcx-ts serve`), because each worker builds its own instances. Only tcp (TLS included) and reuseport listeners
 * can be shared by processes this way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import type { Registrar } from '../registry/registrar.js';
import { parseEndpoint } from '../transport/networks.js';
import type { ListenOptions } from '../transport/transport.js';
import type { FromPrimary, FromWorker, WorkerConfig, WorkerLogLevel, WorkerServerOptions } from './cluster-worker.js';
import type { StatusJSON } from './http/pages.js';
import { mergeStatus, type ClusterStatusJSON } from './observability/status-merge.js';

export interface ServerClusterOptions extends WorkerServerOptions {
  /** How many worker processes (≥ 1); `availableParallelism()` is one per core. */
  workers: number;
  /** Compiled modules whose exported @service() classes every worker serves. */
  modules: string[];
  /** `tcp@host:port` or `reuseport@host:port` (port 0: one free port, shared by all workers), with listen options. */
  listen: Array<string | { endpoint: string; options?: ListenOptions }>;
  /** Metadata of every service (an rpcx query string), advertised to registries. */
  metadata?: string;
  /** The primary's logger (worker lifecycle, registry problems). */
  logger?: Logger;
  /** What workers log on their stderr (default 'warn'). */
  workerLogLevel?: WorkerLogLevel;
  /** On close, how long workers keep serving after deregistering (default 300 ms; only with registrars). */
  deregisterDelayMs?: number;
  /** How long a worker may take to load its modules and listen (default 30 s). */
  startTimeoutMs?: number;
  /** First delay before a dead worker is restarted; doubles while restarts fail, up to 30 s (default 1 s). */
  restartDelayMs?: number;
}

/** How long the primary waits for one worker's /status answer. */
const STATUS_TIMEOUT_MS = 2000;
/** On close, how long past the drain timeout a worker may take to exit before it is killed. */
const EXIT_GRACE_MS = 5000;

const workerScript = fileURLToPath(new URL('./cluster-worker.js', import.meta.url));

class Worker {
  readonly child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (status: StatusJSON) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  readonly exited: Promise<void>;
  listening: Extract<FromWorker, { kind: 'listening' }> | undefined;

  constructor(onMessage: (worker: Worker, message: FromWorker) => void) {
    // The test runner's and other tools' flags are not the worker's business; --cpu-prof, --inspect and the like are.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
    this.child = fork(workerScript, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (message: FromWorker) => {
      if (message.kind === 'status') {
        const waiting = this.#pending.get(message.id);
        if (!waiting) return;
        this.#pending.delete(message.id);
        clearTimeout(waiting.timer);
        if (message.status) waiting.resolve(message.status);
        else waiting.reject(new Error(message.error ?? 'no status'));
        return;
      }
      onMessage(this, message);
    });
    // A send to a worker that just died fails asynchronously; its exit is handled where it matters.
    this.child.on('error', () => undefined);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(message: FromPrimary): void {
    if (this.child.connected) this.child.send(message);
  }

  /** Resolves when the worker listens; rejects when it fails, exits or takes too long. */
  started(timeoutMs: number): Promise<Extract<FromWorker, { kind: 'listening' }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`rpcx: worker ${this.pid} did not start within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: FromWorker): void => {
        if (message.kind === 'listening') done(undefined, message);
        else if (message.kind === 'failed') done(message.configError ? new ConfigError(message.message) : new Error(message.message));
      };
      const onExit = (code: number | null, signal: string | null): void => done(new Error(`rpcx: worker ${this.pid} exited (${signal ?? code}) while starting`));
      const done = (error: Error | undefined, listening?: Extract<FromWorker, { kind: 'listening' }>): void => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve((this.listening = listening!));
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  status(): Promise<StatusJSON> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) return reject(new Error(`worker ${this.pid} is not running`));
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`worker ${this.pid} did not answer`));
      }, STATUS_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.send({ kind: 'status', id });
    });
  }

  /** Asks the worker to drain and exit; kills it if it has not exited `timeoutMs` + grace later. */
  async close(timeoutMs: number): Promise<void> {
    if (!this.alive) return;
    this.send({ kind: 'close', timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, timeoutMs + EXIT_GRACE_MS);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}

export class ServerCluster {
  readonly logger: Logger;
  readonly #options: ServerClusterOptions;
  readonly #config: WorkerConfig;
  readonly #workers: Worker[] = [];
  readonly #registrars: Registrar[] = [];
  #advertised: string[] = [];
  #endpoints: string[] = [];
  #services: Array<{ name: string; metadata: string }> = [];
  #closing: Promise<void> | undefined;
  readonly #restartTimers = new Set<NodeJS.Timeout>();

  private constructor(options: ServerClusterOptions, config: WorkerConfig) {
    this.#options = options;
    this.#config = config;
    this.logger = options.logger ?? stderrLogger;
  }

  /** Forks the workers; resolves once every one listens, or closes those started and rejects with the reason. */
  static async start(options: ServerClusterOptions): Promise<ServerCluster> {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new ConfigError(`rpcx: workers must be an integer ≥ 1, got ${options.workers}`);
    if (options.modules.length === 0) throw new ConfigError('rpcx: a cluster needs at least one service module');
    if (options.listen.length === 0) throw new ConfigError('rpcx: a cluster needs at least one listen endpoint');
    const asked = options.listen.map((l) => (typeof l === 'string' ? { endpoint: l, options: {} } : { endpoint: l.endpoint, options: l.options ?? {} }));
    const listens = asked.map((l) => ({ endpoint: shareable(l.endpoint), options: l.options }));
    const { workers: _w, modules, listen: _l, metadata, logger: _g, workerLogLevel, deregisterDelayMs: _d, startTimeoutMs: _s, restartDelayMs: _r, ...server } = options;
    const config: WorkerConfig = { modules: modules.map((m) => resolvePath(m)), listens, metadata: metadata ?? '', server, logLevel: workerLogLevel ?? 'warn' };
    const cluster = new ServerCluster(options, config);
    try {
      // The first worker binds (port 0 becomes a real port); the others join it on the ports it got.
      const first = await cluster.#spawn();
      config.listens = listens.map((l, i) => ({ endpoint: first.listening!.addresses[i]!, options: l.options }));
      cluster.#advertised = first.listening!.advertised;
      cluster.#endpoints = first.listening!.addresses.map((bound, i) => `${parseEndpoint(asked[i]!.endpoint).network}@${parseEndpoint(bound).address}`);
      cluster.#services = first.listening!.services;
      const others: Array<Promise<Worker>> = [];
      for (let i = 1; i < options.workers; i++) others.push(cluster.#spawn());
      const results = await Promise.allSettled(others);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      await cluster.close({ timeoutMs: 0 });
      throw error;
    }
    cluster.logger.info('cluster serving', { workers: cluster.pids, addresses: cluster.#advertised });
    return cluster;
  }

  async #spawn(): Promise<Worker> {
    const worker = new Worker((w, message) => this.#onMessage(w, message));
    this.#workers.push(worker);
    void worker.exited.then(() => this.#onExit(worker));
    worker.send({ kind: 'start', config: this.#config });
    await worker.started(this.#options.startTimeoutMs ?? 30_000);
    return worker;
  }

  #onMessage(worker: Worker, message: FromWorker): void {
    if (message.kind !== 'cluster-status') return;
    this.status().then(
      (status) => worker.send({ kind: 'cluster-status', id: message.id, status }),
      (error: Error) => worker.send({ kind: 'cluster-status', id: message.id, error: error.message }),
    );
  }

  /** A worker that dies while the cluster serves is replaced (the others keep serving meanwhile). */
  #onExit(worker: Worker, delayMs = this.#options.restartDelayMs ?? 1000): void {
    const index = this.#workers.indexOf(worker);
    if (index >= 0) this.#workers.splice(index, 1);
    if (this.#closing || worker.listening === undefined) return;
    this.logger.error('cluster worker exited; restarting it', { pid: worker.pid, code: worker.child.exitCode, signal: worker.child.signalCode, inMs: delayMs });
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#closing) return;
      this.#spawn().then(
        (replacement) => this.logger.info('cluster worker restarted', { pid: replacement.pid }),
        (error: Error) => {
          this.logger.error('cluster worker restart failed', { error });
          // The failed worker has exited (or will be closed): retry later, backing off.
          const failed = this.#workers.find((w) => w.listening === undefined);
          if (failed) void failed.close(0);
          this.#onExit(worker, Math.min(delayMs * 2, 30_000));
        },
      );
    }, delayMs);
    this.#restartTimers.add(timer);
  }

  /** The ids of the worker processes serving now (a replacement counts once it listens). */
  get pids(): number[] {
    return this.#workers.filter((w) => w.listening !== undefined && w.alive).map((w) => w.pid);
  }

  /** The listeners as asked for, with real ports (`tcp@0.0.0.0:8972`; every worker listens on each). */
  get endpoints(): string[] {
    return [...this.#endpoints];
  }

  /** The listeners as clients dial them (`tcp@host:port`, wildcard hosts replaced by advertiseHost). */
  get addresses(): string[] {
    return [...this.#advertised];
  }

  /** Registers every service at every endpoint, once for the whole cluster; close() deregisters first. */
  async addRegistrar(registrar: Registrar): Promise<void> {
    this.#registrars.push(registrar);
    for (const endpoint of this.#advertised) await registrar.register(endpoint, this.#services);
  }

  /** /status summed over every worker, with each worker's share in `workers`. */
  async status(): Promise<ClusterStatusJSON> {
    const workers = this.#workers.filter((w) => w.listening !== undefined);
    const answers = await Promise.allSettled(workers.map((w) => w.status()));
    const parts: StatusJSON[] = [];
    const unanswered: number[] = [];
    answers.forEach((a, i) => (a.status === 'fulfilled' ? parts.push(a.value) : unanswered.push(workers[i]!.pid)));
    if (parts.length === 0) throw new Error('rpcx: no worker answered /status');
    const merged = mergeStatus(parts, process.pid, unanswered);
    // The workers listen on reuseport; the cluster's addresses are the ones it was asked for.
    merged.server.addresses = this.endpoints;
    return merged;
  }

  /**
   * Graceful shutdown: deregisters, keeps serving `deregisterDelayMs` while clients notice, then every worker stops
   * accepting, drains its in-flight calls (bounded by `timeoutMs`, default the workers' shutdownTimeoutMs) and exits.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.timeoutMs ?? this.#options.shutdownTimeoutMs ?? 10_000);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    for (const timer of this.#restartTimers) clearTimeout(timer);
    if (this.#registrars.length > 0) {
      await Promise.all(this.#registrars.map((r) => r.close().catch((error: Error) => this.logger.warn('registry deregistration failed', { error }))));
      await new Promise((resolve) => setTimeout(resolve, this.#options.deregisterDelayMs ?? 300));
    }
    await Promise.all([...this.#workers].map((w) => w.close(timeoutMs)));
  }
}

/** tcp endpoints become reuseport ones (same wire, shared port); other networks cannot be shared by processes. */
function shareable(endpoint: string): string {
  const { network, address } = parseEndpoint(endpoint);
  if (network === 'reuseport') return endpoint;
  if (network === 'tcp') return `reuseport@${address}`;
  throw new ConfigError(`rpcx: ${endpoint}: worker processes can share tcp and reuseport listeners only`);
}
