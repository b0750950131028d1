/**
 * The XClient's connections: one cached `Client` per server, dialled lazily on first use (concurrent first uses share
 * one dial, bounded by the connect timeout). A server whose dial failed is not dialled again until an exponential
 * backoff has passed (calls meanwhile fail fast with DialError, so fail modes move on to another server). A connection
 * that closes is dropped and re-dialled on next use. When a server leaves discovery, or its connection starts
 * draining, its client is retired: calls already on it finish, and it is closed once idle.
 *
 * With heartbeats on, every connected server is pinged at an interval; the smoothed round-trip time feeds the latency
 * selector, and a connection whose heartbeat fails is closed.
 */
import { ClosedError, DialError, messageOf } from '../errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import { Client, type ClientOptions } from './client.js';
import { CompactMap } from './compact-map.js';

export interface ConnectionPoolOptions {
  /** Options for every Client the pool dials (its connectTimeoutMs and heartbeat are set by the pool). */
  client?: Omit<ClientOptions, 'signal' | 'heartbeat' | 'connectTimeoutMs'>;
  /** Dial timeout in ms (default 1000). */
  connectTimeoutMs?: number;
  /** Wait after the first failed dial before dialling that server again, in ms; doubles per failure (default 100). */
  reconnectBackoffMs?: number;
  /** The backoff's ceiling, in ms (default 10,000). */
  maxReconnectBackoffMs?: number;
  /** Ping every connected server at this interval (ms) to measure RTT; 0 or absent: no heartbeats. */
  heartbeatIntervalMs?: number;
  logger?: Logger;
}

class Entry {
  client: Client | undefined;
  dialing: Promise<Client> | undefined;
  dialFailures = 0;
  retryAt = 0;
  lastError: Error | undefined;
  /** Calls the owner has started on this server and not finished (see acquire/release). */
  inflight = 0;
  rttMs: number | undefined;
  pinging = false;
  constructor(readonly server: string) {}
}

export class ConnectionPool {
  /** What every dial of this pool passes to Client.connect: one object shared by the pool's connections. */
  readonly #clientOptions: ClientOptions;
  readonly #reconnectBackoffMs: number;
  readonly #maxReconnectBackoffMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #logger: Logger;
  /** Usually one server per pool (see CompactMap). */
  readonly #entries = new CompactMap<string, Entry>();
  /** Clients no longer handed out, closed once nothing is pending on them. */
  #retired: Set<Client> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #backoffCount = 0;
  #closed = false;

  constructor(options: ConnectionPoolOptions = {}) {
    // The caller's options object is not kept (it would hold a copy of the client options per pool).
    this.#logger = options.logger ?? options.client?.logger ?? stderrLogger;
    this.#clientOptions = { logger: this.#logger, ...(options.client ?? {}), connectTimeoutMs: options.connectTimeoutMs ?? 1000 };
    this.#reconnectBackoffMs = options.reconnectBackoffMs ?? 100;
    this.#maxReconnectBackoffMs = options.maxReconnectBackoffMs ?? 10_000;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 0;
    const interval = this.#heartbeatIntervalMs;
    if (interval > 0) {
      this.#heartbeatTimer = setInterval(() => this.#heartbeat(), interval);
      this.#heartbeatTimer.unref?.();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The connected client of `server`: the cached one (returned directly), or a promise of a dial. Rejects with
   * DialError when the dial fails or the server is in its reconnect backoff, ClosedError once the pool is closed.
   */
  get(server: string): Client | Promise<Client> {
    if (this.#closed) return Promise.reject(new ClosedError('rpcx: connection pool closed'));
    let entry = this.#entries.get(server);
    if (!entry) {
      entry = new Entry(server);
      this.#entries.set(server, entry);
    }
    const client = entry.client;
    if (client) {
      if (!client.closed && !isDraining(client)) return client;
      entry.client = undefined;
      if (!client.closed) this.#retire(client);
    }
    if (entry.dialing) return entry.dialing;
    if (entry.retryAt > Date.now()) {
      return Promise.reject(
        new DialError(`rpcx: ${server} is unreachable (reconnecting after: ${entry.lastError?.message ?? 'a failed dial'})`, entry.lastError),
      );
    }
    return this.#dial(entry);
  }

  /** The cached, usable client of `server`, without dialling. */
  peek(server: string): Client | undefined {
    const client = this.#entries.get(server)?.client;
    return client && !client.closed && !isDraining(client) ? client : undefined;
  }

  /** True while `server` is in its reconnect backoff. */
  inBackoff(server: string): boolean {
    const entry = this.#entries.get(server);
    return entry !== undefined && entry.retryAt > Date.now();
  }

  /** How many servers are in (or recently were in) reconnect backoff; 0 lets callers skip per-server checks. */
  get backoffCount(): number {
    return this.#backoffCount;
  }

  /** Marks a call started on `server` (for load and idle tracking). */
  acquire(server: string): void {
    const entry = this.#entries.get(server);
    if (entry) entry.inflight++;
  }

  /** Marks a call on `server` finished; closes retired clients that became idle. */
  release(server: string): void {
    const entry = this.#entries.get(server);
    if (entry && entry.inflight > 0) entry.inflight--;
    if (this.#retired !== undefined) this.#sweep();
  }

  /** Calls waiting on `server`: its connection's pending calls, or the owner's started calls if more (dialling). */
  load(server: string): number {
    const entry = this.#entries.get(server);
    if (!entry) return 0;
    return Math.max(entry.client?.pendingCount ?? 0, entry.inflight);
  }

  /** Smoothed heartbeat RTT of `server` in ms, or undefined when not measured. */
  rttMs(server: string): number | undefined {
    return this.#entries.get(server)?.rttMs;
  }

  /** Forgets the reconnect backoff of `server` (the next get dials at once). */
  resetBackoff(server: string): void {
    const entry = this.#entries.get(server);
    if (entry && entry.retryAt > 0) {
      this.#backoffCount = Math.max(0, this.#backoffCount - 1);
      entry.retryAt = 0;
      entry.dialFailures = 0;
    }
  }

  /**
   * The servers discovery lists now. Clients of servers that left are retired (closed once idle); with heartbeats on,
   * new servers are dialled and measured right away.
   */
  setServers(servers: Iterable<string>): void {
    if (this.#closed) return;
    const keep = new Set(servers);
    for (const [server, entry] of this.#entries) {
      if (keep.has(server)) continue;
      this.#entries.delete(server);
      if (entry.retryAt > 0) this.#backoffCount = Math.max(0, this.#backoffCount - 1);
      const client = entry.client;
      entry.client = undefined;
      if (client && !client.closed) this.#retire(client);
      // A dial still under way: retire its client when it lands.
      entry.dialing?.then(
        (c) => {
          if (this.#entries.get(server) !== entry) this.#retire(c);
        },
        () => undefined,
      );
    }
    if (this.#heartbeatTimer) {
      for (const server of keep) {
        if (!this.#entries.has(server)) {
          const entry = new Entry(server);
          this.#entries.set(server, entry);
          this.#dial(entry).catch(() => undefined);
        }
      }
    }
  }

  /** Closes every client and stops heartbeats. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    const clients = new Set<Client>(this.#retired ?? []);
    const dials: Promise<unknown>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.client) clients.add(entry.client);
      if (entry.dialing) dials.push(entry.dialing.then((c) => c.close(), () => undefined));
    }
    this.#entries.clear();
    this.#retired = undefined;
    await Promise.all([...[...clients].map((c) => c.close().catch(() => undefined)), ...dials]);
  }

  // ---- internals ----

  #dial(entry: Entry): Promise<Client> {
    const dialing = Client.connect(entry.server, this.#clientOptions).then(
      (client) => {
        entry.dialing = undefined;
        const current = this.#entries.get(entry.server) === entry;
        if (entry.retryAt > 0 && current) this.#backoffCount = Math.max(0, this.#backoffCount - 1);
        entry.dialFailures = 0;
        entry.retryAt = 0;
        entry.lastError = undefined;
        if (this.#closed) {
          void client.close();
          throw new ClosedError('rpcx: connection pool closed');
        }
        if (current) {
          entry.client = client;
          client.onClose(() => {
            if (entry.client === client) entry.client = undefined;
            this.#retired?.delete(client);
          });
        }
        return client;
      },
      (error: unknown) => {
        entry.dialing = undefined;
        const dialError =
          error instanceof DialError ? error : new DialError(`rpcx: dial ${entry.server} failed: ${messageOf(error)}`, error);
        if (entry.retryAt === 0 && this.#entries.get(entry.server) === entry) this.#backoffCount++;
        entry.dialFailures++;
        const base = this.#reconnectBackoffMs;
        const max = this.#maxReconnectBackoffMs;
        const backoff = Math.min(max, base * 2 ** Math.min(entry.dialFailures - 1, 30));
        // Jitter (±20 %) so that many clients do not redial a recovering server in lockstep.
        entry.retryAt = Date.now() + backoff * (0.8 + Math.random() * 0.4);
        entry.lastError = dialError;
        this.#logger.debug('dial failed', { server: entry.server, failures: entry.dialFailures, error: dialError.message });
        throw dialError;
      },
    );
    entry.dialing = dialing;
    return dialing;
  }

  #retire(client: Client): void {
    if (client.closed) return;
    if (client.pendingCount === 0) {
      void client.close().catch(() => undefined);
      return;
    }
    (this.#retired ??= new Set()).add(client);
    if (!this.#sweepTimer) {
      this.#sweepTimer = setInterval(() => this.#sweep(), 200);
      this.#sweepTimer.unref?.();
    }
  }

  #sweep(): void {
    const retired = this.#retired;
    if (retired !== undefined) {
      for (const client of retired) {
        if (client.closed) retired.delete(client);
        else if (client.pendingCount === 0) {
          retired.delete(client);
          void client.close().catch(() => undefined);
        }
      }
      // Made again when needed: an idle pool holds no empty set.
      if (retired.size === 0) this.#retired = undefined;
    }
    if (this.#retired === undefined && this.#sweepTimer) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  #heartbeat(): void {
    if (this.#closed) return;
    const interval = this.#heartbeatIntervalMs || 1000;
    const timeoutMs = Math.max(1000, interval * 2);
    for (const entry of this.#entries.values()) {
      const client = entry.client;
      if (!client || client.closed) {
        if (!entry.dialing && entry.retryAt <= Date.now()) this.#dial(entry).catch(() => undefined);
        continue;
      }
      if (entry.pinging) continue;
      entry.pinging = true;
      client.ping(timeoutMs).then(
        (rtt) => {
          entry.pinging = false;
          entry.rttMs = entry.rttMs === undefined ? rtt : entry.rttMs * 0.5 + rtt * 0.5;
        },
        (error: unknown) => {
          entry.pinging = false;
          if (client.closed) return;
          this.#logger.warn('heartbeat failed; closing connection', { server: entry.server, error: messageOf(error) });
          entry.rttMs = undefined;
          if (entry.client === client) entry.client = undefined;
          void client.close().catch(() => undefined);
        },
      );
    }
  }
}

function isDraining(client: Client): boolean {
  return client.draining;
}
