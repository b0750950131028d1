/** Random: every server equally likely. */
import { candidates, randomIndex, type SelectInfo, type Selector } from './selector.js';

export class RandomSelector implements Selector {
  #servers: string[] = [];

  select(info: SelectInfo): string | undefined {
    const list = candidates(this.#servers, info.exclude);
    return list.length === 0 ? undefined : list[randomIndex(list.length)];
  }

  update(servers: ReadonlyMap<string, string>): void {
    this.#servers = [...servers.keys()];
  }
}
