/**
 * Service discovery: where an XClient learns which servers serve its service. A server is a `ServicePair`: the key is
 * `network@address` (no `@` means tcp) and the value is the server's metadata as a URL query string
 * (`weight=7&group=blue&state=inactive`). Registries (etcd, Redis, ...) implement the same interface.
 */

export interface ServicePair {
  /** `network@address`, e.g. `tcp@127.0.0.1:8972`. */
  key: string;
  /** The server's metadata, a URL query string (may be empty). */
  value: string;
}

/** Receives the complete, current list of servers each time it changes. */
export type DiscoveryListener = (pairs: ServicePair[]) => void;

export interface Discovery {
  /** The servers known now. */
  list(): ServicePair[];
  /** Calls `listener` with the whole list on every change; returns the function that stops watching. */
  watch(listener: DiscoveryListener): () => void;
  /** Stops watching the source and releases resources. XClients never close the discovery they were given. */
  close(): void | Promise<void>;
}

/** The watchers of one discovery: add, remove, notify. A listener that throws does not stop the others. */
export class DiscoveryWatchers {
  /**
   * An array, not a Set: most discoveries have one watcher (an XClient). Made as `[entry]`, since an empty array
   * pushed to reserves room for 17.
   */
  #listeners: DiscoveryListener[] | undefined;
  #onError: ((error: unknown) => void) | undefined;

  constructor(onError?: (error: unknown) => void) {
    this.#onError = onError;
  }

  add(listener: DiscoveryListener): () => void {
    // Wrap so that the same function may watch twice and each unsubscribe removes only its own registration.
    const entry: DiscoveryListener = (pairs) => listener(pairs);
    if (this.#listeners === undefined) this.#listeners = [entry];
    else this.#listeners.push(entry);
    return () => {
      const listeners = this.#listeners;
      const at = listeners === undefined ? -1 : listeners.indexOf(entry);
      if (at >= 0) listeners!.splice(at, 1);
    };
  }

  notify(pairs: ServicePair[]): void {
    if (this.#listeners === undefined) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(pairs.map((p) => ({ key: p.key, value: p.value })));
      } catch (error) {
        this.#onError?.(error);
      }
    }
  }

  get size(): number {
    return this.#listeners?.length ?? 0;
  }

  clear(): void {
    this.#listeners = undefined;
  }
}

/** `addr` → `tcp@addr`; `network@addr` unchanged. */
export function normalizeServerKey(key: string): string {
  return key.includes('@') ? key : `tcp@${key}`;
}

/** Parses a metadata query string; a bad one reads as empty. */
export function parseServerMetadata(value: string | undefined): URLSearchParams {
  try {
    return new URLSearchParams(value ?? '');
  } catch {
    return new URLSearchParams();
  }
}
