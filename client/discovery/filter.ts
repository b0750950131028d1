/**
 * Which discovered servers a client may use: servers whose metadata says `state=inactive` are dropped, and with a
 * `group` only the servers of that group (`group=...`) are kept. A custom predicate can narrow further.
 */
import { normalizeServerKey, parseServerMetadata, type ServicePair } from './discovery.js';

export interface ServerFilterOptions {
  /** Keep only servers whose metadata has this `group`. */
  group?: string;
  /** An extra test; return false to drop a server. */
  filter?: (pair: ServicePair) => boolean;
}

/** The usable servers as a map from `network@address` to metadata, in the order discovered. */
export function filterServers(pairs: readonly ServicePair[], options: ServerFilterOptions = {}): Map<string, string> {
  const servers = new Map<string, string>();
  for (const pair of pairs) {
    const metadata = parseServerMetadata(pair.value);
    if (metadata.get('state') === 'inactive') continue;
    if (options.group && metadata.get('group') !== options.group) continue;
    if (options.filter && !options.filter(pair)) continue;
    servers.set(normalizeServerKey(pair.key), pair.value ?? '');
  }
  return servers;
}
