/**
 * Consistent hash: the same service, method and args always reach the same server (rpcx's key and jump hash; see
 * jump-hash.ts). Servers sit in slots; a removed server leaves its slot empty, so only the keys that hashed to it move
 * (they are re-hashed over the remaining servers) and every other key stays where it was. A new server fills an empty
 * slot or is appended, taking about 1/n of the keys. The first list is sorted, so clients that start from the same
 * list agree on the mapping.
 */
import { fnv1a64, jumpHash, rpcxHashKey } from './jump-hash.js';
import type { SelectInfo, Selector } from './selector.js';

/** Computes the 64-bit key of a call (default: rpcx's `/service/method/args` FNV-1a). */
export type HashKeyFunction = (info: SelectInfo) => bigint;

export class ConsistentHashSelector implements Selector {
  /** Slot → server; undefined marks the slot of a removed server. */
  #slots: Array<string | undefined> = [];
  /** The live servers, sorted, for keys whose slot is empty. */
  #live: string[] = [];
  readonly #keyOf: HashKeyFunction;

  constructor(keyOf: HashKeyFunction = (info) => rpcxHashKey(info.service, info.method, info.args)) {
    this.#keyOf = keyOf;
  }

  select(info: SelectInfo): string | undefined {
    if (this.#live.length === 0) return undefined;
    const key = this.#keyOf(info);
    let server = this.#slots[jumpHash(key, this.#slots.length)];
    if (server === undefined) server = this.#live[jumpHash(rehash(key), this.#live.length)]!;
    const exclude = info.exclude;
    if (exclude && exclude.has(server)) {
      const left = this.#live.filter((s) => !exclude.has(s));
      if (left.length > 0) server = left[jumpHash(rehash(key), left.length)]!;
    }
    return server;
  }

  update(servers: ReadonlyMap<string, string>): void {
    const wanted = new Set(servers.keys());
    if (this.#slots.length === 0) {
      this.#slots = [...wanted].sort();
    } else {
      for (let i = 0; i < this.#slots.length; i++) {
        const s = this.#slots[i];
        if (s !== undefined && !wanted.has(s)) this.#slots[i] = undefined;
      }
      const present = new Set(this.#slots);
      for (const s of [...wanted].sort()) {
        if (present.has(s)) continue;
        const hole = this.#slots.indexOf(undefined);
        if (hole >= 0) this.#slots[hole] = s;
        else this.#slots.push(s);
      }
      // Every server gone: start afresh next time.
      if (wanted.size === 0) this.#slots = [];
    }
    this.#live = [...wanted].sort();
  }
}

function rehash(key: bigint): bigint {
  return fnv1a64(key.toString(16));
}
