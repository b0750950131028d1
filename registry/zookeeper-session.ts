/**
 * One ZooKeeper connection that outlives its sessions (package node-zookeeper-client, loaded on first use).
 *
 * A ZooKeeper client reconnects by itself while its session lives, and the server keeps the session's ephemeral nodes
 * and watches meanwhile. Once the session has expired (the client was cut off longer than the session timeout, or the
 * server lost it) that client is dead for good: this class then opens a new one, and tells its listeners, who must
 * write their ephemeral nodes again and set their watches again. Every operation has a timeout, since the library
 * queues requests while disconnected and would otherwise wait forever.
 *
 * A client that stays disconnected longer than its session timeout also gives the session up by itself (as Apache
 * Curator does): by then the server has expired it anyway, and a ZooKeeper that came back without its data refuses
 * the old client's reconnects forever (it has seen a newer zxid than the server has) without ever saying "expired".
 */
import type * as Zk from 'node-zookeeper-client';
import type { Logger } from '../logger.js';
import { RegistryError } from '../errors.js';

type ZkModule = typeof Zk;
let loaded: Promise<ZkModule> | undefined;
/** The library, imported once and only by programs that use a `zk://` registry. */
export function loadZooKeeper(): Promise<ZkModule> {
  // A CommonJS module: its exports arrive as the default export.
  loaded ??= import('node-zookeeper-client').then((m) => (m as unknown as { default: ZkModule }).default);
  return loaded;
}

export interface ZooKeeperSessionOptions {
  /** `host:port` servers, one or several. */
  hosts: string[];
  /** Session timeout asked of the server (ms); it clamps it to its own min/max (2 and 20 ticks by default). */
  sessionTimeoutMs: number;
  /** How long one operation, or the first connection, may take (ms). */
  operationTimeoutMs: number;
  logger: Logger;
}

/** `reason` tells a listener whether its ephemeral nodes and watches survived (`reconnected`) or not (`new-session`). */
export type SessionListener = (reason: 'reconnected' | 'new-session') => void;

export class ZooKeeperSession {
  readonly #zk: ZkModule;
  readonly #options: ZooKeeperSessionOptions;
  readonly #listeners = new Set<SessionListener>();
  #client!: Zk.Client;
  #closed = false;
  #lostConnection = false;
  #giveUp: ReturnType<typeof setTimeout> | undefined;

  /** Connects, waiting at most `operationTimeoutMs` for the first session. */
  static async open(options: ZooKeeperSessionOptions): Promise<ZooKeeperSession> {
    const session = new ZooKeeperSession(await loadZooKeeper(), options);
    try {
      await session.#connect();
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  private constructor(zk: ZkModule, options: ZooKeeperSessionOptions) {
    this.#zk = zk;
    this.#options = options;
  }

  get modes(): ZkModule['CreateMode'] {
    return this.#zk.CreateMode;
  }

  /** This session's id as hex, to recognise the ephemeral nodes it owns. */
  get sessionId(): string {
    return this.#client.getSessionId().toString('hex');
  }

  onConnected(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    if (this.#giveUp) clearTimeout(this.#giveUp);
    this.#client?.close();
  }

  /** Drops the dead client and opens a new session. */
  #expire(client: Zk.Client, why: string): void {
    if (this.#client !== client || this.#closed) return;
    if (this.#giveUp) clearTimeout(this.#giveUp);
    this.#giveUp = undefined;
    this.#options.logger.warn(`zookeeper session expired (${why}); opening a new one`);
    client.close();
    void this.#reopen();
  }

  #connect(): Promise<void> {
    const client = this.#zk.createClient(this.#options.hosts.join(','), {
      sessionTimeout: this.#options.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
    });
    this.#client = client;
    client.on('disconnected', () => {
      if (this.#client !== client || this.#closed || this.#lostConnection) return;
      this.#lostConnection = true;
      this.#options.logger.debug('zookeeper disconnected; reconnecting');
      const timeoutMs = client.getSessionTimeout() || this.#options.sessionTimeoutMs;
      this.#giveUp = setTimeout(() => this.#expire(client, `disconnected for longer than ${timeoutMs} ms`), timeoutMs);
      this.#giveUp.unref?.();
    });
    client.on('connected', () => {
      if (this.#client !== client || !this.#lostConnection) return;
      this.#lostConnection = false;
      if (this.#giveUp) clearTimeout(this.#giveUp);
      this.#giveUp = undefined;
      this.#options.logger.debug('zookeeper reconnected within the session');
      this.#tell('reconnected');
    });
    client.on('expired', () => this.#expire(client, 'the server says so'));
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RegistryError(`rpcx: zookeeper ${this.#options.hosts.join(',')} not reachable within ${this.#options.operationTimeoutMs} ms`)), this.#options.operationTimeoutMs);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    client.connect();
    return connected;
  }

  /** A new client after expiry, retried with backoff until it connects or the session is closed. */
  async #reopen(): Promise<void> {
    let delay = 200;
    while (!this.#closed) {
      try {
        this.#lostConnection = false;
        await this.#connect();
        if (this.#closed) return this.#client.close();
        this.#tell('new-session');
        return;
      } catch (error) {
        this.#client.close();
        this.#options.logger.debug('zookeeper still unreachable', { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  #tell(reason: 'reconnected' | 'new-session'): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(reason);
      } catch (error) {
        this.#options.logger.error('zookeeper session listener failed', { error });
      }
    }
  }

  /** Runs one callback-style operation with the timeout; ZooKeeper exceptions keep their `code`. */
  #call<T>(what: string, start: (client: Zk.Client, done: (error: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RegistryError(`rpcx: zookeeper ${what} timed out after ${this.#options.operationTimeoutMs} ms`)), this.#options.operationTimeoutMs);
      start(this.#client, (error, value) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value as T);
      });
    });
  }

  /** true when `error` is the ZooKeeper exception named `name` (NO_NODE, NODE_EXISTS, ...). */
  is(error: unknown, name: 'NO_NODE' | 'NODE_EXISTS' | 'NOT_EMPTY'): boolean {
    return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === this.#zk.Exception[name];
  }

  create(path: string, data: string, mode: number): Promise<string> {
    return this.#call(`create ${path}`, (c, done) => c.create(path, Buffer.from(data), mode, done));
  }

  mkdirp(path: string): Promise<string> {
    return this.#call(`mkdirp ${path}`, (c, done) => c.mkdirp(path, done));
  }

  setData(path: string, data: string): Promise<Zk.Stat> {
    return this.#call(`setData ${path}`, (c, done) => c.setData(path, Buffer.from(data), -1, done));
  }

  /** Removes a node; one that is already gone is fine. */
  async remove(path: string): Promise<void> {
    try {
      await this.#call(`remove ${path}`, (c, done) => c.remove(path, -1, done));
    } catch (error) {
      if (!this.is(error, 'NO_NODE')) throw error;
    }
  }

  exists(path: string, watcher?: (event: Zk.Event) => void): Promise<Zk.Stat | null> {
    return this.#call(`exists ${path}`, (c, done) => (watcher ? c.exists(path, watcher, done) : c.exists(path, done)));
  }

  getData(path: string, watcher?: (event: Zk.Event) => void): Promise<{ data: string; stat: Zk.Stat }> {
    return this.#call(`getData ${path}`, (c, done) => {
      const callback = (error: unknown, data?: Buffer, stat?: Zk.Stat): void => done(error, { data: data?.toString() ?? '', stat: stat! });
      if (watcher) c.getData(path, watcher, callback);
      else c.getData(path, callback);
    });
  }

  getChildren(path: string, watcher?: (event: Zk.Event) => void): Promise<string[]> {
    return this.#call(`getChildren ${path}`, (c, done) => (watcher ? c.getChildren(path, watcher, done) : c.getChildren(path, done)));
  }
}
