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
import type { Discovery, DiscoveryListener, ServicePair } from '../client/discovery/discovery.js';
import { stderrLogger, type Logger } from '../logger.js';
import { nodeKey, normalizeBasePath, ROOT_VALUE, serverFromKey, serviceKey, servicePrefix, type ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';
import { RegistryError } from '../errors.js';
import { ServerSet } from './server-set.js';

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

  constructor(options: RedisRegistrarOptions) {
    this.#redis = connect(options);
    this.#redis.on('error', () => undefined); // reported through failed writes; ioredis reconnects by itself
    this.#basePath = normalizeBasePath(options.basePath);
    this.#ttl = options.ttlSeconds ?? 10;
    this.#logger = options.logger ?? stderrLogger;
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    this.#dirs.set(this.#basePath, ROOT_VALUE);
    for (const s of services) {
      this.#dirs.set(serviceKey(this.#basePath, s.name), s.name);
      this.#nodes.set(nodeKey(this.#basePath, s.name, endpoint), s.metadata);
    }
    try {
      await this.#writeAll();
    } catch (error) {
      throw new RegistryError(`rpcx: redis registration of ${endpoint} failed: ${(error as Error).message}`, error);
    }
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        this.#writeAll().catch((error: Error) => this.#logger.debug('redis refresh failed; retrying next round', { error: error.message }));
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

export class RedisDiscovery implements Discovery {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #set = new ServerSet();
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  static async create(options: RedisDiscoveryOptions): Promise<RedisDiscovery> {
    const discovery = new RedisDiscovery(options);
    try {
      await discovery.#enableNotifications();
      await discovery.#resync();
      await discovery.#subscriber.psubscribe(`__keyspace@*__:${globEscape(redisKey(discovery.#prefix))}*`);
    } catch (error) {
      await discovery.close();
      throw new RegistryError(`rpcx: redis discovery of ${options.service} failed: ${(error as Error).message}`, error);
    }
    discovery.#timer = setInterval(() => discovery.#schedule(), options.resyncMs ?? 5000);
    discovery.#timer.unref?.();
    return discovery;
  }

  private constructor(options: RedisDiscoveryOptions) {
    this.#prefix = servicePrefix(options.basePath, options.service);
    this.#logger = options.logger ?? stderrLogger;
    this.#redis = connect(options);
    this.#subscriber = connect(options);
    for (const connection of [this.#redis, this.#subscriber]) connection.on('error', () => undefined);
    this.#subscriber.on('pmessage', () => this.#schedule());
    // After a reconnect (Redis restarted: its config is gone and changes were missed) turn notifications on again
    // and list afresh. ioredis re-subscribes by itself.
    this.#subscriber.on('ready', () => {
      if (this.#closed) return;
      this.#enableNotifications()
        .then(() => this.#schedule())
        .catch(() => undefined);
    });
  }

  list(): ServicePair[] {
    return this.#set.list();
  }

  watch(listener: DiscoveryListener): () => void {
    return this.#set.watch(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#pending) clearTimeout(this.#pending);
    this.#set.clear();
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  /** Coalesces bursts of notifications into one re-list. */
  #schedule(): void {
    if (this.#pending || this.#closed) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#resync().catch((error: Error) => this.#logger.debug('redis resync failed; keeping the last known servers', { error: error.message }));
    }, 10);
  }

  async #enableNotifications(): Promise<void> {
    try {
      await this.#redis.config('SET', 'notify-keyspace-events', 'KEA');
    } catch (error) {
      // CONFIG may be disabled on managed Redis; the periodic resync still works.
      this.#logger.debug('cannot enable redis keyspace notifications', { error: (error as Error).message });
    }
  }

  async #resync(): Promise<void> {
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
    if (!this.#closed) this.#set.replace(next);
  }
}
