/** Round robin: servers in turn (sorted by key, so every client walks them in the same order). */
import type { SelectInfo, Selector } from './selector.js';

export class RoundRobinSelector implements Selector {
  #servers: string[] = [];
  #next = 0;

  select(info: SelectInfo): string | undefined {
    const n = this.#servers.length;
    if (n === 0) return undefined;
    const exclude = info.exclude;
    for (let step = 0; step < n; step++) {
      const i = this.#next % n;
      this.#next = i + 1;
      const server = this.#servers[i]!;
      if (!exclude || !exclude.has(server)) return server;
    }
    // Everything is excluded: keep turning.
    const i = this.#next % n;
    this.#next = i + 1;
    return this.#servers[i];
  }

  update(servers: ReadonlyMap<string, string>): void {
    this.#servers = [...servers.keys()].sort();
    if (this.#servers.length > 0) this.#next %= this.#servers.length;
  }
}
