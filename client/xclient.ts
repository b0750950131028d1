/**
 * `XClient`: calls one service on a set of servers found by a Discovery, choosing a server per call with a select
 * mode and handling failures with a fail mode, as rpcx's XClient.
 *
 *   const discovery = new MultipleServersDiscovery(['tcp@10.0.0.1:8972', 'tcp@10.0.0.2:8972']);
 *   const xclient = new XClient('Arith', 'failover', 'roundrobin', discovery, { retries: 2 });
 *   const { C } = await xclient.call<{ C: number }>('Mul', { A: 10, B: 20 }, { timeoutMs: 500 });
 *   const arith = xclient.proxy<Arith>(); await arith.mul({ A: 10, B: 20 });
 *   await xclient.close();
 *
 * One deadline bounds a whole call: every attempt, dial and retry wait. Each attempt is sent with the time that is
 * left as its timeout, so the server's `__ServerTimeout` carries the remaining time. Discovery changes update the
 * selector and the connection pool while calls are in flight.
 */
import { AbortedError, BreakerOpenError, ClosedError, ConfigError, NoServerError, ServiceError, TimeoutError } from '../errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import type { CallOptions, CallResult } from './call-options.js';
import type { CallSink, Client, ClientOptions } from './client.js';
import { CompactMap } from './compact-map.js';
import { ConnectionPool } from './connection-pool.js';
import type { Discovery, ServicePair } from './discovery/discovery.js';
import { filterServers } from './discovery/filter.js';
import { MultipleServersDiscovery } from './discovery/multiple.js';
import { Peer2PeerDiscovery } from './discovery/peer2peer.js';
import { checkServerKey } from './discovery/server-key.js';
import { countsAsServerFailure, FailMode, isRetryable } from './fail-modes.js';
import { promiseFor, type Settlers } from './promise-for.js';
import { createProxy, type ServiceProxy } from './proxy.js';
import { createSelector, type SelectMode } from './selectors/index.js';
import type { Selector } from './selectors/selector.js';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { StreamCallOptions } from './message-stream.js';
import type { SendFileOptions, TransferOptions, TransferResult } from './file-transfer.js';

export interface XClientOptions extends Omit<ClientOptions, 'signal' | 'heartbeat' | 'connectTimeoutMs' | 'timeoutMs'> {
  /** Extra attempts for failover and failtry (default 3, so up to 4 attempts). */
  retries?: number;
  /** Pause between attempts in ms (default 0), within the call's deadline. */
  retryIntervalMs?: number;
  /** Default deadline of a whole call in ms, all attempts included (0 = none; default 0). */
  timeoutMs?: number;
  /** Dial timeout in ms (default 1000). */
  connectTimeoutMs?: number;
  /** failbackup: how long the first request may go unanswered before the backup request is sent (default 10 ms). */
  backupLatencyMs?: number;
  /** Per-server circuit breakers: true for defaults (threshold 5, window 10 s), or settings. Off by default. */
  breaker?: boolean | BreakerOptions;
  /** Use only the servers whose metadata has this `group`. */
  group?: string;
  /** An extra filter on discovered servers. */
  filter?: (pair: ServicePair) => boolean;
  /** Keep calling the server that answered last while it keeps working (default false). */
  sticky?: boolean;
  /**
   * Heartbeat every connected server at this interval (ms), measuring RTT for the 'latency' select mode and closing
   * connections whose heartbeat fails. Default: 1000 with select mode 'latency', off otherwise.
   */
  heartbeatIntervalMs?: number;
  /** First wait before re-dialling a server whose dial failed, doubling per failure (default 100 ms, at most 10 s). */
  reconnectBackoffMs?: number;
  maxReconnectBackoffMs?: number;
  /** The client's own position, for the 'closest' select mode. */
  latitude?: number;
  longitude?: number;
}

/** One server's outcome in `inform`. */
export type InformResult<T> = { server: string; value: T; error?: undefined } | { server: string; error: Error; value?: undefined };

type Kind = 'call' | 'invoke' | 'send';

/**
 * The first attempt of a call, made at once on an already connected server: the Client reports straight to it (no
 * promise per attempt, no async frames). If it fails, the retry loop takes over from attempt 1.
 */
class FirstAttempt implements CallSink, Settlers {
  resolveCall!: (value: unknown) => void;
  rejectCall!: (error: unknown) => void;
  constructor(
    /** The XClient's handler of ended attempts (one function shared by every XClient and call). */
    readonly ended: (attempt: FirstAttempt, error: Error | undefined, value: unknown) => void,
    readonly owner: XClient,
    readonly server: string,
    readonly method: string,
    readonly args: unknown,
    readonly options: CallOptions,
    readonly kind: Kind,
    readonly deadline: number,
    readonly breaker: CircuitBreaker | undefined,
  ) {}
  resolve(value: unknown): void {
    this.ended(this, undefined, value);
  }
  reject(error: Error): void {
    this.ended(this, error, undefined);
  }
}

export class XClient {
  readonly servicePath: string;
  readonly failMode: FailMode;
  readonly selector: Selector;
  /** The per-server connections (exposed for inspection and tests). */
  readonly pool: ConnectionPool;
  readonly logger: Logger;
  readonly #options: XClientOptions;
  readonly #retries: number;
  readonly #breakerOptions: BreakerOptions | undefined;
  /** Per-server breakers (made only when breakers are on). */
  readonly #breakers: Map<string, CircuitBreaker> | undefined;
  #servers: ReadonlyMap<string, string> = new Map();
  #stickyServer: string | undefined;
  #unwatch: (() => void) | undefined;
  #closed = false;
  /** Made on the first finished attempt (an idle XClient holds no empty map). */
  #stats: CompactMap<string, { calls: number; errors: number }> | undefined;
  /** Discovered keys that failed checkServerKey, so each is reported once (made on the first). */
  #rejectedKeys: Set<string> | undefined;

  constructor(servicePath: string, failMode: FailMode, selectMode: SelectMode, discovery: Discovery, options: XClientOptions = {}) {
    checkOptions(servicePath, failMode, options);
    // A fixed list is the caller's configuration: a bad entry is their mistake, reported now. A registry's entries are
    // someone else's data: a bad one is skipped with a warning (#setServers).
    if (discovery instanceof MultipleServersDiscovery || discovery instanceof Peer2PeerDiscovery) {
      for (const pair of discovery.list()) checkServerKey(pair.key);
    }
    this.servicePath = servicePath;
    this.failMode = failMode;
    this.#options = options;
    this.logger = options.logger ?? stderrLogger;
    this.#retries = Math.max(0, Math.floor(options.retries ?? 3));
    this.#breakerOptions = options.breaker === true ? {} : options.breaker ? options.breaker : undefined;
    this.#breakers = this.#breakerOptions ? new Map() : undefined;
    this.selector = createSelector(selectMode, {
      ...(options.latitude !== undefined ? { latitude: options.latitude } : {}),
      ...(options.longitude !== undefined ? { longitude: options.longitude } : {}),
    });
    const {
      retries: _r,
      retryIntervalMs: _ri,
      timeoutMs: _t,
      connectTimeoutMs,
      backupLatencyMs: _b,
      breaker: _br,
      group: _g,
      filter: _f,
      sticky: _s,
      heartbeatIntervalMs,
      reconnectBackoffMs,
      maxReconnectBackoffMs,
      latitude: _la,
      longitude: _lo,
      ...clientOptions
    } = options;
    const heartbeat = heartbeatIntervalMs ?? (selectMode === 'latency' ? 1000 : 0);
    this.pool = new ConnectionPool({
      client: { logger: this.logger, ...clientOptions },
      connectTimeoutMs: connectTimeoutMs ?? 1000,
      ...(reconnectBackoffMs !== undefined ? { reconnectBackoffMs } : {}),
      ...(maxReconnectBackoffMs !== undefined ? { maxReconnectBackoffMs } : {}),
      heartbeatIntervalMs: heartbeat,
      logger: this.logger,
    });
    const pool = this.pool;
    this.selector.attach?.({ load: (server) => pool.load(server), rttMs: (server) => pool.rttMs(server) });
    this.#setServers(discovery.list());
    this.#unwatch = discovery.watch((pairs) => this.#setServers(pairs));
  }

  /** The servers in use now: `network@address` → metadata. */
  get servers(): ReadonlyMap<string, string> {
    return this.#servers;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Per server: attempts answered successfully (`calls`) and attempts that failed (`errors`), since creation. */
  serverStats(): Map<string, { calls: number; errors: number }> {
    return new Map([...(this.#stats ?? [])].map(([server, s]) => [server, { ...s }]));
  }

  /** The circuit breaker state of `server` ('closed' when breakers are off or it never failed). */
  breakerState(server: string): BreakerState {
    return this.#breakers?.get(server)?.state ?? 'closed';
  }

  /** Calls `method` of the service on a selected server, with the fail mode's retries, and resolves with the reply. */
  call<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<T> {
    return this.#run(method, args, options, 'call') as Promise<T>;
  }

  /** Like call, and also hands back the response metadata. */
  invoke<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<CallResult<T>> {
    return this.#run(method, args, options, 'invoke') as Promise<CallResult<T>>;
  }

  /** Oneway: resolves once the request is queued on a connection (dial failures fail over as for calls). */
  send(method: string, args: unknown, options: CallOptions = {}): Promise<void> {
    return this.#run(method, args, options, 'send') as Promise<void>;
  }

  /** Calls every server; resolves with the replies in server order when all succeed, rejects with the first error. */
  broadcast<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<T[]> {
    try {
      const servers = this.#allServers();
      const deadline = this.#deadline(options);
      return Promise.all(servers.map((server) => this.#attempt(server, method, args, options, deadline, 'call', options.signal))) as Promise<T[]>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Calls every server; resolves with the first success (the other calls are aborted), rejects if all fail. */
  fork<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<T> {
    let servers: string[];
    try {
      servers = this.#allServers();
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = this.#deadline(options);
    return new Promise<T>((resolve, reject) => {
      const controllers = servers.map(() => new AbortController());
      let failed = 0;
      let firstError: Error | undefined;
      let done = false;
      servers.forEach((server, i) => {
        const signal = combine(options.signal, controllers[i]!.signal);
        this.#attempt(server, method, args, options, deadline, 'call', signal).then(
          (value) => {
            if (done) return;
            done = true;
            controllers.forEach((c, j) => j !== i && c.abort());
            resolve(value as T);
          },
          (error: Error) => {
            if (done) return;
            firstError ??= error;
            if (++failed === servers.length) {
              done = true;
              reject(firstError);
            }
          },
        );
      });
    });
  }

  /** Calls every server; resolves with each server's reply or error (never rejects once servers exist). */
  inform<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<InformResult<T>[]> {
    let servers: string[];
    try {
      servers = this.#allServers();
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = this.#deadline(options);
    return Promise.all(
      servers.map((server) =>
        this.#attempt(server, method, args, options, deadline, 'call', options.signal).then(
          (value): InformResult<T> => ({ server, value: value as T }),
          (error: Error): InformResult<T> => ({ server, error }),
        ),
      ),
    );
  }

  /** rpcx's SendFile through one selected server (the token call goes to this XClient's service path). */
  async sendFile(source: string | Readable, meta?: Record<string, string>, options: SendFileOptions = {}): Promise<TransferResult> {
    return (await this.#clientFor('TransferFile')).sendFile(source, meta, { service: this.servicePath, ...options });
  }

  /** rpcx's DownloadFile through one selected server. */
  async downloadFile(name: string, target: Writable | string, meta?: Record<string, string>, options: TransferOptions = {}): Promise<TransferResult> {
    return (await this.#clientFor('DownloadFile')).downloadFile(name, target, meta, { service: this.servicePath, ...options });
  }

  /** rpcx's Stream through one selected server: a raw byte stream as a Node Duplex. */
  async stream(meta?: Record<string, string>, options: TransferOptions = {}): Promise<Socket> {
    return (await this.#clientFor('Stream')).stream(meta, { service: this.servicePath, ...options });
  }

  /** A typed server stream on one selected server (see Client.serverStream). */
  async *serverStream<T = unknown>(method: string, args: unknown, options: StreamCallOptions = {}): AsyncGenerator<T, void, undefined> {
    yield* (await this.#clientFor(method)).serverStream<T>(this.servicePath, method, args, options);
  }

  /** A typed client stream on one selected server (see Client.clientStream). */
  async clientStream<R = unknown>(method: string, input: AsyncIterable<unknown> | Iterable<unknown>, options: StreamCallOptions = {}): Promise<R> {
    return (await this.#clientFor(method)).clientStream<R>(this.servicePath, method, input, options);
  }

  /** A typed bidirectional stream on one selected server (see Client.bidiStream). */
  async *bidiStream<T = unknown>(method: string, input: AsyncIterable<unknown> | Iterable<unknown>, options: StreamCallOptions = {}): AsyncGenerator<T, void, undefined> {
    yield* (await this.#clientFor(method)).bidiStream<T>(this.servicePath, method, input, options);
  }

  /** The connection to the server the selector picks for `method`. */
  async #clientFor(method: string): Promise<Client> {
    if (this.#closed) throw new ClosedError('rpcx: xclient closed');
    return this.pool.get(this.#pick(method, undefined, undefined));
  }

  /** A typed proxy of the service: `xclient.proxy<Arith>().mul({ A: 1, B: 2 })`. */
  proxy<T>(): ServiceProxy<T> {
    return createProxy<T>({
      call: (_service, method, args, options) => this.call(method, args, options),
      serverStream: (_service, method, args, options) => this.serverStream(method, args, options),
      clientStream: (_service, method, input, options) => this.clientStream(method, input, options),
      bidiStream: (_service, method, input, options) => this.bidiStream(method, input, options),
    }, this.servicePath);
  }

  /** Stops watching discovery and closes every connection (the discovery itself is left open). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.pool.close();
  }

  // ---- internals ----

  #setServers(discovered: ServicePair[]): void {
    if (this.#closed) return;
    const pairs = discovered.filter((pair) => {
      try {
        checkServerKey(pair.key);
        return true;
      } catch (error) {
        // A registry may list a key this client cannot use: skip it, and say so once.
        const rejected = (this.#rejectedKeys ??= new Set());
        if (!rejected.has(pair.key)) this.logger.warn('ignoring a discovered server', { service: this.servicePath, error: (error as Error).message });
        rejected.add(pair.key);
        return false;
      }
    });
    const servers = filterServers(pairs, {
      ...(this.#options.group ? { group: this.#options.group } : {}),
      ...(this.#options.filter ? { filter: this.#options.filter } : {}),
    });
    this.#servers = servers;
    this.selector.update(servers);
    this.pool.setServers(servers.keys());
    if (this.#breakers) for (const server of this.#breakers.keys()) if (!servers.has(server)) this.#breakers.delete(server);
    if (this.#stickyServer !== undefined && !servers.has(this.#stickyServer)) this.#stickyServer = undefined;
    this.logger.debug('servers updated', { service: this.servicePath, servers: [...servers.keys()] });
  }

  #allServers(): string[] {
    if (this.#closed) throw new ClosedError('rpcx: xclient closed');
    const servers = [...this.#servers.keys()];
    if (servers.length === 0) throw new NoServerError(`rpcx: no server for service ${this.servicePath}`);
    return servers;
  }

  /** The call's deadline in ms since the epoch (Infinity when none). */
  #deadline(options: CallOptions): number {
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? 0;
    return timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  }

  #run(method: string, args: unknown, options: CallOptions, kind: Kind): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClosedError('rpcx: xclient closed'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
    const timeout = options.timeoutMs ?? this.#options.timeoutMs ?? 0;
    // Math.ceil only when needed: its result is a float, which reaches the Client boxed as a heap number (an
    // allocation per call, and slower Map lookups by it in the deadline queue and the metadata cache).
    const timeoutMs = Number.isInteger(timeout) ? timeout : Math.ceil(timeout);
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    if (this.failMode === 'failbackup' && kind !== 'send') return this.#backup(method, args, options, deadline, kind);
    if (kind === 'send') return this.#retryLoop(method, args, options, kind, deadline, 0, undefined, undefined, undefined);
    let server: string;
    try {
      server = this.#pick(method, args, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    // The common case, kept free of async frames: the server is connected and its breaker lets the call through.
    // (A server still to be dialled, or whose breaker refuses the call, goes through the retry loop's general path.)
    const client = this.pool.peek(server);
    if (client === undefined) return this.#retryLoop(method, args, options, kind, deadline, 0, server, undefined, undefined);
    const breaker = this.#breaker(server);
    if (breaker !== undefined && !breaker.ready()) return this.#retryLoop(method, args, options, kind, deadline, 0, server, undefined, undefined);
    const attempt = new FirstAttempt(XClient.#firstAttemptEnded, this, server, method, args, options, kind, deadline, breaker);
    this.pool.acquire(server);
    const promise = promiseFor<unknown>(attempt);
    client.start(this.servicePath, method, args, options, attempt, kind === 'invoke', timeoutMs, deadline);
    return promise;
  }

  /** How a first attempt ended (one function for every XClient: the attempt knows its owner). */
  static readonly #firstAttemptEnded = (attempt: FirstAttempt, error: Error | undefined, value: unknown): void => {
    const self = attempt.owner;
    const server = attempt.server;
    self.pool.release(server);
    if (error === undefined) {
      self.#succeeded(server, attempt.breaker);
      if (self.#options.sticky) self.#stickyServer = server;
      return attempt.resolveCall(value);
    }
    self.#failed(server, attempt.breaker, error);
    let tried: Set<string>;
    try {
      tried = self.#afterFailure(error, server, attempt.method, 0, attempt.deadline, undefined);
    } catch (final) {
      return attempt.rejectCall(final);
    }
    const { method, args, options, kind, deadline } = attempt;
    self.#retryLoop(method, args, options, kind, deadline, 1, server, tried, error).then(attempt.resolveCall, attempt.rejectCall);
  };

  /**
   * Runs attempts `start`, `start + 1`, ... of a call (the fail mode's retries, retry interval, deadline). `server`:
   * the server of attempt `start - 1`, or with `start` 0 the one already picked for attempt 0 (if any).
   */
  async #retryLoop(
    method: string,
    args: unknown,
    options: CallOptions,
    kind: Kind,
    deadline: number,
    start: number,
    server: string | undefined,
    tried: Set<string> | undefined,
    lastError: unknown,
  ): Promise<unknown> {
    const signal = options.signal;
    const attempts = this.failMode === 'failfast' ? 1 : this.#retries + 1;
    for (let attempt = start; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const interval = this.#options.retryIntervalMs ?? 0;
        if (interval > 0) await sleep(Math.min(interval, deadline - Date.now()), signal);
        if (this.#closed) throw new ClosedError('rpcx: xclient closed');
        if (signal?.aborted) throw new AbortedError(signal.reason);
        if (Date.now() >= deadline) throw timeoutAfter(`${this.servicePath}.${method}`, attempt, lastError);
      }
      if (server === undefined || (attempt > 0 && (this.failMode !== 'failtry' || !this.#servers.has(server)))) {
        try {
          server = this.#pick(method, args, tried);
        } catch (error) {
          throw attempt > 0 && error instanceof NoServerError ? lastError : error;
        }
      }
      try {
        const result = await this.#attempt(server, method, args, options, deadline, kind, signal);
        if (this.#options.sticky) this.#stickyServer = server;
        return result;
      } catch (error) {
        lastError = error;
        tried = this.#afterFailure(error, server, method, attempt, deadline, tried);
      }
    }
    throw lastError;
  }

  /** After a failed attempt: throws when the call must end here, else returns the servers tried so far. */
  #afterFailure(error: unknown, server: string, method: string, attempt: number, deadline: number, tried: Set<string> | undefined): Set<string> {
    if (this.#closed) throw new ClosedError('rpcx: xclient closed');
    if (!isRetryable(error)) throw error;
    if (this.#stickyServer === server) this.#stickyServer = undefined;
    (tried ??= new Set()).add(server);
    if (error instanceof TimeoutError && Date.now() >= deadline) throw error;
    if (this.failMode !== 'failfast' && this.#retries > 0) {
      this.logger.debug('attempt failed', { service: this.servicePath, method, server, attempt, error: (error as Error).message });
    }
    return tried;
  }

  /** failbackup: first answer of up to two requests wins; the other is aborted. */
  #backup(method: string, args: unknown, options: CallOptions, deadline: number, kind: Kind): Promise<unknown> {
    const first = this.#pick(method, args, undefined);
    return new Promise((resolve, reject) => {
      const controllers: AbortController[] = [];
      const errors: unknown[] = [];
      let running = 0;
      let done = false;
      let backupStarted = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (error: unknown, value?: unknown): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        for (const c of controllers) c.abort();
        if (error !== undefined) reject(error);
        else resolve(value);
      };
      const launch = (server: string): void => {
        running++;
        const controller = new AbortController();
        controllers.push(controller);
        this.#attempt(server, method, args, options, deadline, kind, combine(options.signal, controller.signal)).then(
          (value) => finish(undefined, value),
          (error: unknown) => {
            running--;
            if (done) return;
            if (!isRetryable(error)) return finish(error);
            errors.push(error);
            if (!backupStarted) startBackup();
            else if (running === 0) finish(errors[0]);
          },
        );
      };
      const startBackup = (): void => {
        if (done || backupStarted) return;
        backupStarted = true;
        if (timer) clearTimeout(timer);
        let second: string;
        try {
          second = this.#pick(method, args, new Set([first]));
        } catch (error) {
          if (running === 0) finish(errors[0] ?? error);
          return;
        }
        launch(second);
      };
      timer = setTimeout(startBackup, Math.max(0, this.#options.backupLatencyMs ?? 10));
      launch(first);
    });
  }

  /** Chooses a server, avoiding `tried`, servers with an open breaker and servers waiting to be re-dialled. */
  #pick(method: string, args: unknown, tried: Set<string> | undefined): string {
    const servers = this.#servers;
    if (servers.size === 0) throw new NoServerError(`rpcx: no server for service ${this.servicePath}`);
    const sticky = this.#stickyServer;
    if (sticky !== undefined && servers.has(sticky) && !tried?.has(sticky) && this.#usable(sticky)) return sticky;
    let exclude: Set<string> | undefined = tried;
    if ((this.#breakers !== undefined && this.#breakers.size > 0) || this.pool.backoffCount > 0) {
      for (const server of servers.keys()) {
        if (!this.#usable(server)) {
          if (exclude === tried) exclude = new Set(tried);
          exclude!.add(server);
        }
      }
    }
    const selected = this.selector.select({ service: this.servicePath, method, args, exclude });
    if (selected === undefined) throw new NoServerError(`rpcx: no server for service ${this.servicePath}`);
    return selected;
  }

  #usable(server: string): boolean {
    const breaker = this.#breakers?.get(server);
    if (breaker && !breaker.available()) return false;
    return !this.pool.inBackoff(server);
  }

  #breaker(server: string): CircuitBreaker | undefined {
    if (!this.#breakerOptions || !this.#breakers) return undefined;
    let breaker = this.#breakers.get(server);
    if (!breaker && this.#servers.has(server)) {
      breaker = new CircuitBreaker(this.#breakerOptions);
      this.#breakers.set(server, breaker);
    }
    return breaker;
  }

  /** One request to one server, bounded by the call's deadline and signal. */
  async #attempt(
    server: string,
    method: string,
    args: unknown,
    options: CallOptions,
    deadline: number,
    kind: Kind,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (this.#closed) throw new ClosedError('rpcx: xclient closed');
    const breaker = this.#breaker(server);
    if (breaker && !breaker.ready()) throw new BreakerOpenError(`rpcx: circuit breaker open for ${server}`);
    let client: Client;
    try {
      const got = this.pool.get(server);
      client = got instanceof Promise ? await bounded(got, deadline, signal, server, `${this.servicePath}.${method}`) : got;
    } catch (error) {
      if (breaker) {
        if (error instanceof TimeoutError || error instanceof AbortedError) breaker.cancel();
        else if (countsAsServerFailure(error)) breaker.failure();
        else breaker.cancel();
      }
      throw error;
    }
    let attemptOptions = options;
    if (deadline !== Infinity || signal !== options.signal) {
      const remaining = Math.ceil(deadline - Date.now());
      if (remaining <= 0) {
        breaker?.cancel();
        throw new TimeoutError(`rpcx: call ${this.servicePath}.${method} to ${server} timed out: its deadline passed before it was sent`);
      }
      attemptOptions = { ...options };
      if (deadline !== Infinity) attemptOptions.timeoutMs = remaining;
      if (signal) attemptOptions.signal = signal;
      else delete attemptOptions.signal;
    }
    this.pool.acquire(server);
    try {
      const result =
        kind === 'call'
          ? await client.call(this.servicePath, method, args, attemptOptions)
          : kind === 'invoke'
            ? await client.invoke(this.servicePath, method, args, attemptOptions)
            : await client.send(this.servicePath, method, args, attemptOptions);
      this.#succeeded(server, breaker);
      return result;
    } catch (error) {
      this.#failed(server, breaker, error);
      throw error;
    } finally {
      this.pool.release(server);
    }
  }

  #succeeded(server: string, breaker: CircuitBreaker | undefined): void {
    breaker?.success();
    const stats = (this.#stats ??= new CompactMap()).get(server);
    if (stats) stats.calls++;
    else this.#stats.set(server, { calls: 1, errors: 0 });
  }

  #failed(server: string, breaker: CircuitBreaker | undefined, error: unknown): void {
    const stats = (this.#stats ??= new CompactMap()).get(server);
    if (stats) stats.errors++;
    else this.#stats.set(server, { calls: 0, errors: 1 });
    if (breaker) {
      if (error instanceof ServiceError) breaker.success();
      else if (countsAsServerFailure(error)) breaker.failure();
      else breaker.cancel();
    }
  }
}

const failModes = new Set<string>(Object.values(FailMode));
const NON_NEGATIVE_OPTIONS = ['retries', 'retryIntervalMs', 'timeoutMs', 'connectTimeoutMs', 'backupLatencyMs', 'heartbeatIntervalMs', 'reconnectBackoffMs', 'maxReconnectBackoffMs'] as const;

/** Rejects what would otherwise turn into odd behaviour later (NaN retries make no attempt at all). */
function checkOptions(servicePath: string, failMode: string, options: XClientOptions): void {
  if (typeof servicePath !== 'string' || servicePath === '') throw new ConfigError('rpcx: XClient needs a service name');
  if (!failModes.has(failMode)) throw new ConfigError(`rpcx: unknown fail mode "${failMode}" (${[...failModes].join(', ')})`);
  for (const name of NON_NEGATIVE_OPTIONS) {
    const value = options[name];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new ConfigError(`rpcx: XClient option ${name} must be a non-negative number, got ${String(value)}`);
    }
  }
  if (options.retries !== undefined && !Number.isInteger(options.retries)) throw new ConfigError(`rpcx: XClient option retries must be an integer, got ${options.retries}`);
}

function timeoutAfter(call: string, attempts: number, lastError: unknown): TimeoutError {
  const last = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
  return new TimeoutError(`rpcx: call ${call} timed out after ${attempts} attempt${attempts === 1 ? '' : 's'}${last}`);
}

/** Both signals, or the one that exists. */
function combine(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}

/** `promise`, or TimeoutError at the deadline, or AbortedError when the signal fires, whichever comes first. */
function bounded<T>(promise: Promise<T>, deadline: number, signal: AbortSignal | undefined, server: string, call: string): Promise<T> {
  if (deadline === Infinity && !signal) return promise;
  if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      reject(new AbortedError(signal!.reason));
    };
    if (deadline !== Infinity) {
      const waitMs = Math.max(0, deadline - Date.now());
      timer = setTimeout(
        () => {
          cleanup();
          reject(new TimeoutError(`rpcx: call ${call} timed out while connecting to ${server} (${Math.round(waitMs)} ms left of its deadline)`));
        },
        waitMs,
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** Waits `ms` (nothing when ≤ 0); rejects with AbortedError when the signal fires. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError(signal!.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
