/**
 * Power of two choices: pick two different servers at random and take the one with fewer calls waiting on its
 * connection. Cheap, and it steers load away from slow or overloaded servers without global state.
 */
import { candidates, randomIndex, type SelectInfo, type Selector, type SelectorHost } from './selector.js';

export class P2CSelector implements Selector {
  #servers: string[] = [];
  #host: SelectorHost | undefined;

  attach(host: SelectorHost): void {
    this.#host = host;
  }

  select(info: SelectInfo): string | undefined {
    const list = candidates(this.#servers, info.exclude);
    const n = list.length;
    if (n === 0) return undefined;
    if (n === 1) return list[0];
    const i = randomIndex(n);
    let j = randomIndex(n - 1);
    if (j >= i) j++;
    const a = list[i]!;
    const b = list[j]!;
    if (!this.#host) return a;
    return this.#host.load(b) < this.#host.load(a) ? b : a;
  }

  update(servers: ReadonlyMap<string, string>): void {
    this.#servers = [...servers.keys()];
  }
}
