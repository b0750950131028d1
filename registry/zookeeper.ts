/**
 * ZooKeeper registry, in the znode layout rpcx's zookeeper plugin writes through libkv:
 *
 *   /<basePath>                          persistent, data "rpcx_path"
 *   /<basePath>/<Service>                persistent, data "<Service>"
 *   /<basePath>/<Service>/<network@addr> EPHEMERAL, data = the server's metadata query string
 *
 * (libkv writes a key with a TTL as an ephemeral znode; rpcx's refresh loop does exactly that. A server's nodes so
 * live as long as its ZooKeeper session: a server killed with SIGKILL disappears once the session timeout runs out.)
 *
 * Registrar: the ephemeral nodes belong to its session. While the client reconnects within the session they stay; when
 * the session expires (ZooKeeper was away longer than the timeout, or restarted without its data) a new session writes
 * them again. A leftover node of an older session of ours is replaced rather than adopted, since it would vanish when
 * that session ends. A periodic check restores nodes someone else deleted.
 *
 * Discovery: lists the service node's children with a child watch and reads each child with a data watch (so
 * metadata changes are seen too, which rpcx's Go discovery does not watch); every watch event, reconnect or new
 * session lists again, and a periodic re-list is the safety net. While ZooKeeper is unreachable it keeps its last list.
 */
import { stderrLogger, type Logger } from '../logger.js';
import { addRegistration, normalizeBasePath, serviceKey, type ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';
import { RegistryError } from '../errors.js';
import { ResyncingDiscovery } from './resyncing-discovery.js';
import { ZooKeeperSession } from './zookeeper-session.js';

export interface ZooKeeperOptions {
  /** ZooKeeper servers: `127.0.0.1:2181`, one or several (array or comma-separated). */
  hosts: string | string[];
  /** Root of rpcx's layout, e.g. `/rpcx_test` (a missing leading slash is added, as libkv does). */
  basePath: string;
  logger?: Logger;
  /** ms one ZooKeeper operation, or connecting, may take (default 5000). */
  operationTimeoutMs?: number;
}

export interface ZooKeeperRegistrarOptions extends ZooKeeperOptions {
  /** Session timeout in seconds (default 10): how long a killed server stays listed. The server clamps it. */
  ttlSeconds?: number;
}

export interface ZooKeeperDiscoveryOptions extends ZooKeeperOptions {
  service: string;
  /** Session timeout in ms (default 10000): how long a lost connection is retried before a new session starts. */
  sessionTimeoutMs?: number;
  /** A full re-list this often, as a safety net (ms, default 10000). */
  resyncMs?: number;
}

function zkBasePath(basePath: string): string {
  const path = normalizeBasePath(basePath.startsWith('/') ? basePath : '/' + basePath);
  if (path === '/') throw new RegistryError('rpcx: a zookeeper registry needs a base path below the root');
  return path;
}

function open(options: ZooKeeperOptions, sessionTimeoutMs: number): Promise<ZooKeeperSession> {
  const hosts = (Array.isArray(options.hosts) ? options.hosts : options.hosts.split(',')).map((h) => h.trim()).filter(Boolean);
  return ZooKeeperSession.open({
    hosts,
    sessionTimeoutMs,
    operationTimeoutMs: options.operationTimeoutMs ?? 5000,
    logger: options.logger ?? stderrLogger,
  });
}

export class ZooKeeperRegistrar implements Registrar {
  readonly #options: ZooKeeperRegistrarOptions;
  readonly #basePath: string;
  readonly #logger: Logger;
  /** Persistent directory nodes → data, and the ephemeral server nodes → metadata. */
  readonly #dirs = new Map<string, string>();
  readonly #nodes = new Map<string, string>();
  #session: Promise<ZooKeeperSession> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #restoring: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ZooKeeperRegistrarOptions) {
    this.#options = options;
    this.#basePath = zkBasePath(options.basePath);
    this.#logger = options.logger ?? stderrLogger;
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    this.#stopped = false;
    addRegistration(this.#basePath, endpoint, services, this.#dirs, this.#nodes);
    try {
      await this.#writeAll(await this.#connected());
    } catch (error) {
      throw new RegistryError(`rpcx: zookeeper registration of ${endpoint} failed: ${(error as Error).message}`, error);
    }
    if (!this.#timer) {
      const ttlMs = (this.#options.ttlSeconds ?? 10) * 1000;
      this.#timer = setInterval(() => this.#restore(), Math.max(500, ttlMs));
      this.#timer.unref?.();
    }
  }

  async deregister(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const paths = [...this.#nodes.keys()];
    this.#nodes.clear();
    if (!this.#session || paths.length === 0) return;
    try {
      const session = await this.#session;
      await Promise.all(paths.map((path) => session.remove(path)));
    } catch (error) {
      this.#logger.warn('zookeeper deregistration failed; the nodes go with the session', { error });
    }
  }

  async close(): Promise<void> {
    await this.deregister();
    const session = this.#session;
    this.#session = undefined;
    (await session?.catch(() => undefined))?.close();
  }

  #connected(): Promise<ZooKeeperSession> {
    if (this.#session) return this.#session;
    const opening = open(this.#options, (this.#options.ttlSeconds ?? 10) * 1000).then((session) => {
      session.onConnected(() => this.#restore());
      return session;
    });
    this.#session = opening;
    // A failed first connection is tried afresh by the next register or restore.
    opening.catch(() => {
      if (this.#session === opening) this.#session = undefined;
    });
    return opening;
  }

  /** Writes every node again (after a new session, or when one went missing), retrying until it works or we stop. */
  #restore(): void {
    if (this.#stopped || this.#nodes.size === 0 || this.#restoring) return;
    this.#restoring = (async () => {
      let delay = 200;
      while (!this.#stopped) {
        try {
          await this.#writeAll(await this.#connected());
          return;
        } catch (error) {
          this.#logger.debug('zookeeper registration not restored yet', { error: (error as Error).message });
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    })().finally(() => (this.#restoring = undefined));
  }

  async #writeAll(session: ZooKeeperSession): Promise<void> {
    const parent = this.#basePath.slice(0, this.#basePath.lastIndexOf('/'));
    if (parent) await session.mkdirp(parent);
    for (const [path, data] of this.#dirs) await this.#ensurePersistent(session, path, data);
    await Promise.all([...this.#nodes].map(([path, metadata]) => this.#ensureEphemeral(session, path, metadata)));
  }

  async #ensurePersistent(session: ZooKeeperSession, path: string, data: string): Promise<void> {
    try {
      await session.create(path, data, session.modes.PERSISTENT);
    } catch (error) {
      if (!session.is(error, 'NODE_EXISTS')) throw error;
    }
  }

  async #ensureEphemeral(session: ZooKeeperSession, path: string, metadata: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await session.create(path, metadata, session.modes.EPHEMERAL);
        return;
      } catch (error) {
        if (!session.is(error, 'NODE_EXISTS')) throw error;
      }
      const existing = await session.getData(path).catch((error: unknown) => (session.is(error, 'NO_NODE') ? undefined : Promise.reject(error)));
      if (!existing) continue;
      if (existing.stat.ephemeralOwner.toString('hex') === session.sessionId) {
        if (existing.data !== metadata) await session.setData(path, metadata);
        return;
      }
      // Left by an earlier session (ours before it expired, or a server that died at this address): it would vanish
      // with that session, so take the path over.
      await session.remove(path);
    }
    throw new RegistryError(`rpcx: zookeeper node ${path} keeps changing under us`);
  }
}

export class ZooKeeperDiscovery extends ResyncingDiscovery {
  readonly #session: ZooKeeperSession;
  readonly #servicePath: string;
  readonly #onWatch = (): void => this.schedule();

  /** Lists the service's servers, then keeps watching them. Rejects if ZooKeeper cannot be reached at all. */
  static async create(options: ZooKeeperDiscoveryOptions): Promise<ZooKeeperDiscovery> {
    let session: ZooKeeperSession;
    try {
      session = await open(options, options.sessionTimeoutMs ?? 10_000);
    } catch (error) {
      throw new RegistryError(`rpcx: zookeeper discovery of ${options.service} failed: ${(error as Error).message}`, error);
    }
    const discovery = new ZooKeeperDiscovery(session, options);
    try {
      await discovery.resync();
    } catch (error) {
      await discovery.close();
      throw new RegistryError(`rpcx: zookeeper discovery of ${options.service} failed: ${(error as Error).message}`, error);
    }
    session.onConnected(() => discovery.schedule());
    discovery.resyncEvery(options.resyncMs ?? 10_000);
    return discovery;
  }

  private constructor(session: ZooKeeperSession, options: ZooKeeperDiscoveryOptions) {
    super('zookeeper', options.logger ?? stderrLogger);
    this.#session = session;
    this.#servicePath = serviceKey(zkBasePath(options.basePath), options.service);
  }

  protected release(): void {
    this.#session.close();
  }

  protected async relist(): Promise<Map<string, string>> {
    const session = this.#session;
    let children: string[];
    try {
      children = await session.getChildren(this.#servicePath, this.#onWatch);
    } catch (error) {
      if (!session.is(error, 'NO_NODE')) throw error;
      // No server registered the service yet: watch for its node to appear.
      if (await session.exists(this.#servicePath, this.#onWatch)) this.schedule();
      return new Map();
    }
    const next = new Map<string, string>();
    await Promise.all(
      children.map(async (child) => {
        try {
          const { data } = await session.getData(`${this.#servicePath}/${child}`, this.#onWatch);
          next.set(child, data);
        } catch (error) {
          // Gone between the listing and the read: the child watch brings the next list.
          if (!session.is(error, 'NO_NODE')) throw error;
        }
      }),
    );
    return next;
  }
}
