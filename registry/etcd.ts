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
import type { Discovery, DiscoveryListener, ServicePair } from '../client/discovery/discovery.js';
import { stderrLogger, type Logger } from '../logger.js';
import { nodeKey, normalizeBasePath, ROOT_VALUE, serverFromKey, serviceKey, servicePrefix, type ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';
import { RegistryError } from '../errors.js';
import { ServerSet } from './server-set.js';

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

  constructor(options: EtcdRegistrarOptions) {
    this.#client = connect(options);
    this.#basePath = normalizeBasePath(options.basePath);
    this.#ttl = options.ttlSeconds ?? 10;
    this.#logger = options.logger ?? stderrLogger;
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    this.#stopped = false;
    this.#dirs.set(this.#basePath, ROOT_VALUE);
    for (const s of services) {
      this.#dirs.set(serviceKey(this.#basePath, s.name), s.name);
      this.#nodes.set(nodeKey(this.#basePath, s.name, endpoint), s.metadata);
    }
    try {
      await this.#writeAll(this.#currentLease());
    } catch (error) {
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
      if (this.#lease !== lease || this.#stopped) return;
      this.#logger.warn('etcd lease lost; registering again', { error: error.message });
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
          this.#logger.info('etcd registration restored');
          break;
        } catch (error) {
          this.#lease?.release();
          this.#lease = undefined;
          this.#logger.debug('etcd still unreachable', { error: (error as Error).message });
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

export class EtcdDiscovery implements Discovery {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #set = new ServerSet();
  #resyncTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #watcherCancel: (() => Promise<void>) | undefined;

  /** Lists the service's servers, then keeps watching them. Rejects if etcd cannot be reached at all. */
  static async create(options: EtcdDiscoveryOptions): Promise<EtcdDiscovery> {
    const discovery = new EtcdDiscovery(options);
    try {
      await discovery.#resync();
      await discovery.#startWatch();
    } catch (error) {
      await discovery.close();
      throw new RegistryError(`rpcx: etcd discovery of ${options.service} failed: ${(error as Error).message}`, error);
    }
    discovery.#resyncTimer = setInterval(() => void discovery.#resync().catch(() => undefined), options.resyncMs ?? 10_000);
    discovery.#resyncTimer.unref?.();
    return discovery;
  }

  private constructor(options: EtcdDiscoveryOptions) {
    this.#client = connect(options);
    this.#prefix = servicePrefix(options.basePath, options.service);
    this.#logger = options.logger ?? stderrLogger;
  }

  list(): ServicePair[] {
    return this.#set.list();
  }

  watch(listener: DiscoveryListener): () => void {
    return this.#set.watch(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    this.#set.clear();
    await this.#watcherCancel?.().catch(() => undefined);
    this.#client.close();
  }

  async #resync(): Promise<void> {
    const all = await this.#client.getAll().prefix(this.#prefix).strings();
    const next = new Map<string, string>();
    for (const [key, value] of Object.entries(all)) {
      const server = serverFromKey(key, this.#prefix);
      if (server) next.set(server, value);
    }
    if (!this.#closed) this.#set.replace(next);
  }

  async #startWatch(): Promise<void> {
    const watcher = await this.#client.watch().prefix(this.#prefix).create();
    let lost = false;
    watcher.on('put', (kv) => {
      const server = serverFromKey(kv.key.toString(), this.#prefix);
      if (server && !this.#closed) this.#set.set(server, kv.value.toString());
    });
    watcher.on('delete', (kv) => {
      const server = serverFromKey(kv.key.toString(), this.#prefix);
      if (server && !this.#closed) this.#set.set(server, undefined);
    });
    watcher.on('disconnected', () => {
      lost = true;
      this.#logger.debug('etcd watch disconnected; keeping the last known servers');
    });
    watcher.on('connected', () => {
      if (!lost || this.#closed) return;
      lost = false;
      // Pick up whatever changed while the watch was away.
      this.#resync().catch((error: Error) => this.#logger.debug('etcd resync failed', { error: error.message }));
    });
    watcher.on('error', (error) => this.#logger.debug('etcd watch error', { error: error.message }));
    this.#watcherCancel = () => watcher.cancel();
  }
}
