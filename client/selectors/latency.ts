/**
 * Latency-weighted: servers are chosen at random with a probability proportional to 1 / (rtt + 1 ms), where rtt is
 * the smoothed round-trip time of rpcx heartbeats on the server's connection (measured by the XClient's pool; no
 * ICMP). A server not measured yet gets the average weight of the measured ones, so it is tried and measured soon.
 */
import { candidates, type SelectInfo, type Selector, type SelectorHost } from './selector.js';

export class LatencySelector implements Selector {
  #servers: string[] = [];
  #host: SelectorHost | undefined;

  attach(host: SelectorHost): void {
    this.#host = host;
  }

  select(info: SelectInfo): string | undefined {
    const list = candidates(this.#servers, info.exclude);
    const n = list.length;
    if (n === 0) return undefined;
    if (n === 1 || !this.#host) return list[Math.floor(Math.random() * n)];
    const weights = new Array<number>(n);
    let known = 0;
    let knownSum = 0;
    for (let i = 0; i < n; i++) {
      const rtt = this.#host.rttMs(list[i]!);
      if (rtt === undefined) {
        weights[i] = -1;
      } else {
        const w = 1 / (Math.max(0, rtt) + 1);
        weights[i] = w;
        known++;
        knownSum += w;
      }
    }
    const unknownWeight = known > 0 ? knownSum / known : 1;
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (weights[i]! < 0) weights[i] = unknownWeight;
      total += weights[i]!;
    }
    let r = Math.random() * total;
    for (let i = 0; i < n; i++) {
      r -= weights[i]!;
      if (r < 0) return list[i];
    }
    return list[n - 1];
  }

  update(servers: ReadonlyMap<string, string>): void {
    this.#servers = [...servers.keys()];
  }
}
