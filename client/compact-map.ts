/**
 * A Map for state that usually holds one entry: the calls pending on a connection that is used one call at a time,
 * the servers of an XClient that has one. The one entry lives in two fields; a real Map is made only when a second
 * key arrives, and kept from then on (a connection that ran calls side by side will again).
 *
 * Why: an empty `new Map()` already costs about 180 bytes (its hash table), and an idle client connection had four of
 * them. With ten thousand idle connections that alone was 7 MB of heap, and every long-lived byte made during a burst
 * of dials also pushes V8 to grow its young generation.
 */
export class CompactMap<K, V> implements Iterable<[K, V]> {
  #key: K | undefined;
  #value: V | undefined;
  #single = false;
  #map: Map<K, V> | undefined;

  get size(): number {
    if (this.#map !== undefined) return this.#map.size;
    return this.#single ? 1 : 0;
  }

  get(key: K): V | undefined {
    if (this.#map !== undefined) return this.#map.get(key);
    return this.#single && this.#key === key ? this.#value : undefined;
  }

  has(key: K): boolean {
    if (this.#map !== undefined) return this.#map.has(key);
    return this.#single && this.#key === key;
  }

  set(key: K, value: V): this {
    if (this.#map !== undefined) this.#map.set(key, value);
    else if (!this.#single || this.#key === key) {
      this.#key = key;
      this.#value = value;
      this.#single = true;
    } else {
      this.#map = new Map([[this.#key as K, this.#value as V]]);
      this.#map.set(key, value);
      this.#dropSingle();
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.#map !== undefined) return this.#map.delete(key);
    if (!this.#single || this.#key !== key) return false;
    this.#dropSingle();
    return true;
  }

  clear(): void {
    this.#map = undefined;
    this.#dropSingle();
  }

  *entries(): IterableIterator<[K, V]> {
    if (this.#map !== undefined) yield* this.#map.entries();
    else if (this.#single) yield [this.#key as K, this.#value as V];
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  #dropSingle(): void {
    this.#key = undefined;
    this.#value = undefined;
    this.#single = false;
  }
}
