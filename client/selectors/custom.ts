/** Adapts a user-supplied selection function to the Selector interface. */
import type { SelectFunction, SelectInfo, Selector } from './selector.js';

export class FunctionSelector implements Selector {
  readonly #fn: SelectFunction;
  #servers: ReadonlyMap<string, string> = new Map();

  constructor(fn: SelectFunction) {
    this.#fn = fn;
  }

  select(info: SelectInfo): string | undefined {
    if (this.#servers.size === 0) return undefined;
    return this.#fn(info, this.#servers);
  }

  update(servers: ReadonlyMap<string, string>): void {
    this.#servers = new Map(servers);
  }
}
