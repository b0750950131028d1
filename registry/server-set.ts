/**
 * The servers a store-backed discovery knows now, and who to tell when they change: the part the etcd and Redis
 * discoveries share. Replacing the set with an equal one tells nobody.
 */
import { DiscoveryWatchers, type DiscoveryListener, type ServicePair } from '../client/discovery/discovery.js';

export class ServerSet {
  #servers = new Map<string, string>();
  readonly #watchers = new DiscoveryWatchers();

  get servers(): ReadonlyMap<string, string> {
    return this.#servers;
  }

  list(): ServicePair[] {
    return [...this.#servers].map(([key, value]) => ({ key, value }));
  }

  watch(listener: DiscoveryListener): () => void {
    return this.#watchers.add(listener);
  }

  /** Takes `next` as the whole set; notifies the watchers if it differs. */
  replace(next: Map<string, string>): void {
    if (sameServers(this.#servers, next)) return;
    this.#servers = next;
    this.#watchers.notify(this.list());
  }

  /** One server added or changed (value) or removed (undefined). */
  set(server: string, value: string | undefined): void {
    const next = new Map(this.#servers);
    if (value === undefined) next.delete(server);
    else next.set(server, value);
    this.replace(next);
  }

  clear(): void {
    this.#watchers.clear();
  }
}

function sameServers(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}
