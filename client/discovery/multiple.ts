/** A fixed list of servers that the application may replace with `update()`, which notifies every watcher. */
import { DiscoveryWatchers, normalizeServerKey, type Discovery, type DiscoveryListener, type ServicePair } from './discovery.js';

export class MultipleServersDiscovery implements Discovery {
  #pairs: ServicePair[];
  readonly #watchers = new DiscoveryWatchers();

  /** Accepts pairs, or bare `network@address` strings (empty metadata). */
  constructor(servers: ReadonlyArray<ServicePair | string> = []) {
    this.#pairs = normalize(servers);
  }

  list(): ServicePair[] {
    return this.#pairs.map((p) => ({ ...p }));
  }

  /** Replaces the whole list and tells every watcher (synchronously). */
  update(servers: ReadonlyArray<ServicePair | string>): void {
    this.#pairs = normalize(servers);
    this.#watchers.notify(this.#pairs);
  }

  watch(listener: DiscoveryListener): () => void {
    return this.#watchers.add(listener);
  }

  close(): void {
    this.#watchers.clear();
  }
}

function normalize(servers: ReadonlyArray<ServicePair | string>): ServicePair[] {
  const seen = new Map<string, string>();
  for (const s of servers) {
    if (typeof s === 'string') seen.set(normalizeServerKey(s), '');
    else seen.set(normalizeServerKey(s.key), s.value ?? '');
  }
  return [...seen].map(([key, value]) => ({ key, value }));
}
