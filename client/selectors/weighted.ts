/**
 * Smooth weighted round robin, the nginx way: each pick adds every server's weight to its running score, takes the
 * highest score, and subtracts the total from the winner. Over any run of `total` picks each server is chosen
 * exactly `weight` times, spread out rather than in bursts. The weight is the `weight=` metadata (default 1).
 */
import { metadataNumber, type SelectInfo, type Selector } from './selector.js';

interface Weighted {
  server: string;
  weight: number;
  current: number;
}

export class WeightedRoundRobinSelector implements Selector {
  #servers: Weighted[] = [];

  select(info: SelectInfo): string | undefined {
    const all = this.#servers;
    if (all.length === 0) return undefined;
    const exclude = info.exclude;
    let usable = all;
    if (exclude && exclude.size > 0) {
      const left = all.filter((w) => !exclude.has(w.server));
      if (left.length > 0) usable = left;
    }
    let total = 0;
    let best: Weighted | undefined;
    for (const w of usable) {
      w.current += w.weight;
      total += w.weight;
      if (!best || w.current > best.current) best = w;
    }
    best!.current -= total;
    return best!.server;
  }

  update(servers: ReadonlyMap<string, string>): void {
    const previous = new Map(this.#servers.map((w) => [w.server, w.current]));
    const list: Weighted[] = [];
    for (const [server, metadata] of [...servers].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const weight = Math.max(0, Math.floor(metadataNumber(metadata, 'weight', 1)));
      list.push({ server, weight, current: previous.get(server) ?? 0 });
    }
    // All weights zero: treat them as equal rather than never choosing.
    if (list.length > 0 && list.every((w) => w.weight === 0)) for (const w of list) w.weight = 1;
    this.#servers = list;
  }
}
