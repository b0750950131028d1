/**
 * etcd v3 registry (package etcd3), in rpcx's key layout (registry/layout.ts).
 *
 * Registrar: every key this server writes hangs on one lease with a TTL that etcd3 keeps alive. When the lease is lost
 * (etcd restarted, partitioned past the TTL) a new lease is granted and every key written again, with backoff, until
 * it works or the server deregisters. A server killed with SIGKILL stops renewing and its keys vanish after the TTL.
 *
 * Discovery: lists `<basePath>/<Service>/`, then watches that prefix. While etcd is unreachable it keeps its last
 * known list; when the watch reconnects it lists again, so changes made meanwhile are picked up. A periodic resync is
 * the safety net for anything a watch could miss.
 */
import { Etcd3, type Lease } from 'etcd3';
import { stderrLogger, type Logger } from '../logger.js';
import { addRegistration, normalizeBasePath, serverFromKey, servicePrefix, type ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';
import { RegistryError } from '../errors.js';
import { RegistrationState } from './registration-state.js';
import { ResyncingDiscovery } from './resyncing-discovery.js';

export interface EtcdOptions {
  /** etcd endpoints: `127.0.0.1:2379` or `http://127.0.0.1:2379`, one or several. */
  hosts: string | string[];
  /** Root of rpcx's key layout, e.g. `/rpcx_test`. */
  basePath: string;
  logger?: Logger;
  /** ms to wait for etcd on each call (default 5000). */
  dialTimeoutMs?: number;
}

export interface EtcdRegistrarOptions extends EtcdOptions {
  /** Lease TTL in seconds (default 10): how long a dead server stays listed. */
  ttlSeconds?: number;
}

function connect(options: EtcdOptions): Etcd3 {
  const hosts = (Array.isArray(options.hosts) ? options.hosts : options.hosts.split(',')).map((h) => (h.includes('://') ? h : `http://${h}`));
  return new Etcd3({ hosts, dialTimeout: options.dialTimeoutMs ?? 5000 });
}

export class EtcdRegistrar implements Registrar {
  readonly #client: Etcd3;
  readonly #basePath: string;
  readonly #ttl: number;
  readonly #logger: Logger;
  /** Every node key this server owns → its value. Root and service keys are written without a lease. */
  readonly #nodes = new Map<string, string>();
  readonly #dirs = new Map<string, string>();
  #lease: Lease | undefined;
  #stopped = false;
  #recovering: Promise<void> | undefined;
  readonly #state: RegistrationState;
  /** Set once a registration succeeded: only then is a lost lease something to recover. */
  #written = false;

  constructor(options: EtcdRegistrarOptions) {
    this.#client = connect(options);
    this.#basePath = normalizeBasePath(options.basePath);
    this.#ttl = options.ttlSeconds ?? 10;
    this.#logger = options.logger ?? stderrLogger;
    this.#state = new RegistrationState(this.#logger, 'etcd');
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    this.#stopped = false;
    const added = addRegistration(this.#basePath, endpoint, services, this.#dirs, this.#nodes);
    try {
      await this.#writeAll(this.#currentLease());
      this.#written = true;
    } catch (error) {
      // The caller hears of this failure: the lease must not also start a recovery of its own, and keys that were
      // never written are not this registrar's to delete later.
      for (const key of added) this.#nodes.delete(key);
      if (!this.#written) {
        this.#lease?.release();
        this.#lease = undefined;
      }
      throw new RegistryError(`rpcx: etcd registration of ${endpoint} failed: ${(error as Error).message}`, error);
    }
  }

  async deregister(): Promise<void> {
    this.#stopped = true;
    const lease = this.#lease;
    this.#lease = undefined;
    const keys = [...this.#nodes.keys()];
    this.#nodes.clear();
    try {
      await Promise.all(keys.map((key) => this.#client.delete().key(key)));
    } catch (error) {
      this.#logger.warn('etcd deregistration failed; the keys expire with their lease', { error });
    }
    await lease?.revoke().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (!this.#stopped || this.#nodes.size > 0) await this.deregister();
    this.#client.close();
  }

  #currentLease(): Lease {
    if (this.#lease && !this.#lease.revoked()) return this.#lease;
    const lease = this.#client.lease(this.#ttl, { autoKeepAlive: true });
    lease.on('lost', (error) => {
      if (this.#lease !== lease || this.#stopped || !this.#written) return;
      this.#state.lost(error);
      this.#lease = undefined;
      this.#recover();
    });
    this.#lease = lease;
    return lease;
  }

  async #writeAll(lease: Lease): Promise<void> {
    await Promise.all([...this.#dirs].map(([key, value]) => this.#client.put(key).value(value)));
    await Promise.all([...this.#nodes].map(([key, value]) => lease.put(key).value(value)));
  }

  /** Registers again on a fresh lease, retrying with backoff until it works or the server deregisters. */
  #recover(): void {
    if (this.#recovering) return;
    this.#recovering = (async () => {
      let delay = 200;
      while (!this.#stopped) {
        try {
          await this.#writeAll(this.#currentLease());
          this.#state.restored();
          break;
        } catch (error) {
          this.#lease?.release();
          this.#lease = undefined;
          this.#state.lost(error);
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    })().finally(() => {
      this.#recovering = undefined;
    });
  }
}

export interface EtcdDiscoveryOptions extends EtcdOptions {
  /** The service whose servers to list. */
  service: string;
  /** A full re-list this often, as a safety net (ms, default 10000). */
  resyncMs?: number;
}

export class EtcdDiscovery extends ResyncingDiscovery {
  readonly #client: Etcd3;
  readonly #prefix: string;
  #watcherCancel: (() => Promise<void>) | undefined;

  /** Lists the service's servers, then keeps watching them. Rejects if etcd cannot be reached at all. */
  static async create(options: EtcdDiscoveryOptions): Promise<EtcdDiscovery> {
    const discovery = new EtcdDiscovery(options);
    try {
      await discovery.resync();
      await discovery.#startWatch();
    } catch (error) {
      await discovery.close();
      throw new RegistryError(`rpcx: etcd discovery of ${options.service} failed: ${(error as Error).message}`, error);
    }
    discovery.resyncEvery(options.resyncMs ?? 10_000);
    return discovery;
  }

  private constructor(options: EtcdDiscoveryOptions) {
    super('etcd', options.logger ?? stderrLogger);
    this.#client = connect(options);
    this.#prefix = servicePrefix(options.basePath, options.service);
  }

  protected async release(): Promise<void> {
    await this.#watcherCancel?.().catch(() => undefined);
    this.#client.close();
  }

  protected async relist(): Promise<Map<string, string>> {
    const all = await this.#client.getAll().prefix(this.#prefix).strings();
    const next = new Map<string, string>();
    for (const [key, value] of Object.entries(all)) {
      const server = serverFromKey(key, this.#prefix);
      if (server) next.set(server, value);
    }
    return next;
  }

  async #startWatch(): Promise<void> {
    const watcher = await this.#client.watch().prefix(this.#prefix).create();
    let lost = false;
    watcher.on('put', (kv) => {
      const server = serverFromKey(kv.key.toString(), this.#prefix);
      if (server && !this.closed) this.servers.set(server, kv.value.toString());
    });
    watcher.on('delete', (kv) => {
      const server = serverFromKey(kv.key.toString(), this.#prefix);
      if (server && !this.closed) this.servers.set(server, undefined);
    });
    watcher.on('disconnected', () => {
      lost = true;
      this.logger.debug('etcd watch disconnected; keeping the last known servers');
    });
    watcher.on('connected', () => {
      if (!lost || this.closed) return;
      lost = false;
      // Pick up whatever changed while the watch was away.
      this.schedule();
    });
    watcher.on('error', (error) => this.logger.debug('etcd watch error', { error: error.message }));
    this.#watcherCancel = () => watcher.cancel();
  }
}
