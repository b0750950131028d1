/**
 * Redis registry (package ioredis), in rpcx's key layout and the value format of rpcx's Redis plugin (rpcxio/libkv):
 * the Redis key is `/` + the layout key, the value is JSON `{"Key": <layout key>, "Value": <base64 bytes>,
 * "LastIndex": n}`, and a server's entries expire unless refreshed (SET ... EX).
 *
 * Registrar: writes the entries and rewrites them every third of the TTL, which also restores them after Redis
 * restarts empty. Discovery: SCAN + MGET of the service prefix, refreshed on keyspace notifications (set on with
 * `notify-keyspace-events KEA`, as rpcx's plugin does) and by a periodic resync; it keeps its last known list while
 * Redis is unreachable and lists again when the connection is back.
 */
import { Redis } from 'ioredis';
import { stderrLogger, type Logger } from '../logger.js';
import { addRegistration, normalizeBasePath, serverFromKey, servicePrefix, type ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';
import { RegistryError } from '../errors.js';
import { RegistrationState } from './registration-state.js';
import { ResyncingDiscovery } from './resyncing-discovery.js';

export interface RedisOptions {
  /** `host:port` (or a `redis://` URL without path). */
  host: string;
  /** Root of rpcx's key layout, e.g. `/rpcx_test`. */
  basePath: string;
  password?: string;
  db?: number;
  logger?: Logger;
}

export interface RedisRegistrarOptions extends RedisOptions {
  /** Seconds an entry lives unless refreshed (default 10). */
  ttlSeconds?: number;
}

function connect(options: RedisOptions, extra: Record<string, unknown> = {}): Redis {
  const url = new URL(options.host.includes('://') ? options.host : `redis://${options.host}`);
  return new Redis({
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(options.password ? { password: options.password } : {}),
    db: options.db ?? 0,
    // Reconnect forever with capped backoff: a registry outlives store restarts.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    maxRetriesPerRequest: 2,
    lazyConnect: false,
    ...extra,
  });
}

/** libkv's Redis key for a layout key. */
export function redisKey(key: string): string {
  return '/' + key;
}

/** libkv's Redis value for a layout key and value. */
export function redisValue(key: string, value: string): string {
  return JSON.stringify({ Key: key, Value: Buffer.from(value).toString('base64'), LastIndex: Date.now() % 1e9 });
}

function parseRedisValue(text: string): { key: string; value: string } | undefined {
  try {
    const parsed = JSON.parse(text) as { Key?: unknown; Value?: unknown };
    if (typeof parsed.Key !== 'string') return undefined;
    const value = typeof parsed.Value === 'string' ? Buffer.from(parsed.Value, 'base64').toString() : '';
    return { key: parsed.Key, value };
  } catch {
    return undefined;
  }
}

/** Escapes Redis glob characters. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

export class RedisRegistrar implements Registrar {
  readonly #redis: Redis;
  readonly #basePath: string;
  readonly #ttl: number;
  readonly #logger: Logger;
  readonly #nodes = new Map<string, string>();
  readonly #dirs = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #state: RegistrationState;

  constructor(options: RedisRegistrarOptions) {
    this.#redis = connect(options);
    this.#redis.on('error', () => undefined); // reported through failed writes; ioredis reconnects by itself
    this.#basePath = normalizeBasePath(options.basePath);
    this.#ttl = options.ttlSeconds ?? 10;
    this.#logger = options.logger ?? stderrLogger;
    this.#state = new RegistrationState(this.#logger, 'redis');
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    const added = addRegistration(this.#basePath, endpoint, services, this.#dirs, this.#nodes);
    try {
      await this.#writeAll();
    } catch (error) {
      // Not registered: nothing of this endpoint's to refresh or delete later.
      for (const key of added) this.#nodes.delete(key);
      throw new RegistryError(`rpcx: redis registration of ${endpoint} failed: ${(error as Error).message}`, error);
    }
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        // Every round rewrites the entries, so a Redis that comes back is filled again within a third of the TTL.
        void this.#writeAll().then(
          () => this.#state.restored(),
          (error: Error) => this.#state.lost(error),
        );
      }, Math.max(200, (this.#ttl * 1000) / 3));
      this.#timer.unref?.();
    }
  }

  async deregister(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const keys = [...this.#nodes.keys()].map(redisKey);
    this.#nodes.clear();
    if (keys.length === 0) return;
    try {
      await this.#redis.del(...keys);
    } catch (error) {
      this.#logger.warn('redis deregistration failed; the keys expire with their TTL', { error });
    }
  }

  async close(): Promise<void> {
    await this.deregister();
    this.#redis.disconnect();
  }

  async #writeAll(): Promise<void> {
    const batch = this.#redis.multi();
    for (const [key, value] of this.#dirs) batch.set(redisKey(key), redisValue(key, value));
    for (const [key, value] of this.#nodes) batch.set(redisKey(key), redisValue(key, value), 'EX', this.#ttl);
    const results = await batch.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0]!;
  }
}

export interface RedisDiscoveryOptions extends RedisOptions {
  service: string;
  /** A full re-list this often, as a safety net (ms, default 5000). */
  resyncMs?: number;
}

export class RedisDiscovery extends ResyncingDiscovery {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;

  static async create(options: RedisDiscoveryOptions): Promise<RedisDiscovery> {
    const discovery = new RedisDiscovery(options);
    try {
      await discovery.#enableNotifications();
      await discovery.resync();
      await discovery.#subscriber.psubscribe(`__keyspace@*__:${globEscape(redisKey(discovery.#prefix))}*`);
    } catch (error) {
      await discovery.close();
      throw new RegistryError(`rpcx: redis discovery of ${options.service} failed: ${(error as Error).message}`, error);
    }
    discovery.resyncEvery(options.resyncMs ?? 5000);
    return discovery;
  }

  private constructor(options: RedisDiscoveryOptions) {
    super('redis', options.logger ?? stderrLogger);
    this.#prefix = servicePrefix(options.basePath, options.service);
    this.#redis = connect(options);
    this.#subscriber = connect(options);
    for (const connection of [this.#redis, this.#subscriber]) connection.on('error', () => undefined);
    this.#subscriber.on('pmessage', () => this.schedule());
    // After a reconnect (Redis restarted: its config is gone and changes were missed) turn notifications on again
    // and list afresh. ioredis re-subscribes by itself.
    this.#subscriber.on('ready', () => {
      if (this.closed) return;
      this.#enableNotifications()
        .then(() => this.schedule())
        .catch(() => undefined);
    });
  }

  protected release(): void {
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  async #enableNotifications(): Promise<void> {
    try {
      await this.#redis.config('SET', 'notify-keyspace-events', 'KEA');
    } catch (error) {
      // CONFIG may be disabled on managed Redis; the periodic resync still works.
      this.logger.debug('cannot enable redis keyspace notifications', { error: (error as Error).message });
    }
  }

  protected async relist(): Promise<Map<string, string>> {
    const pattern = globEscape(redisKey(this.#prefix)) + '*';
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const next = new Map<string, string>();
    if (keys.length > 0) {
      const values = await this.#redis.mget(...keys);
      for (const text of values) {
        const entry = text ? parseRedisValue(text) : undefined;
        const server = entry ? serverFromKey(entry.key, this.#prefix) : undefined;
        if (entry && server) next.set(server, entry.value);
      }
    }
    return next;
  }
}
