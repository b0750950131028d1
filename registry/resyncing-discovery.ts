/**
 * What the store-backed discoveries share: the current server set and its watchers, a re-list that bursts of change
 * events coalesce into, a periodic re-list as the safety net for anything a watch could miss, and a close that stops
 * all of it. A subclass says how to list (`relist`) and what to release on close.
 */
import type { Discovery, DiscoveryListener, ServicePair } from '../client/discovery/discovery.js';
import type { Logger } from '../logger.js';
import { ServerSet } from './server-set.js';

export abstract class ResyncingDiscovery implements Discovery {
  protected readonly servers = new ServerSet();
  protected readonly logger: Logger;
  readonly #store: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  protected constructor(store: string, logger: Logger) {
    this.#store = store;
    this.logger = logger;
  }

  /** Lists the store and takes the answer as the whole set. */
  protected abstract relist(): Promise<Map<string, string>>;

  /** Releases the store connection(s). */
  protected abstract release(): void | Promise<void>;

  protected get closed(): boolean {
    return this.#closed;
  }

  list(): ServicePair[] {
    return this.servers.list();
  }

  watch(listener: DiscoveryListener): () => void {
    return this.servers.watch(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#pending) clearTimeout(this.#pending);
    this.servers.clear();
    await this.release();
  }

  /** Lists now; rejects when the store cannot be listed. */
  protected async resync(): Promise<void> {
    const next = await this.relist();
    if (!this.#closed) this.servers.replace(new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  /** Starts the safety-net re-list every `ms`. */
  protected resyncEvery(ms: number): void {
    this.#timer = setInterval(() => this.schedule(), ms);
    this.#timer.unref?.();
  }

  /** Coalesces bursts of change events into one re-list; a failed one keeps the last known servers. */
  protected schedule(): void {
    if (this.#pending || this.#closed) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.resync().catch((error: Error) => this.logger.debug(`${this.#store} re-list failed; keeping the last known servers`, { error: error.message }));
    }, 10);
  }
}
