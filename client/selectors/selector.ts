/**
 * A Selector picks the server for one call among the servers an XClient currently knows. It is told about every
 * change of the server list through `update` (while calls are in flight), and it should avoid the servers in
 * `exclude` (already tried by this call, breaker open, reconnecting) whenever another one is available.
 */

/** What a selector knows about one call. */
export interface SelectInfo {
  service: string;
  method: string;
  args: unknown;
  /** Servers to avoid if any other server is available. */
  exclude?: ReadonlySet<string> | undefined;
}

/** Live facts about servers that some selectors use (provided by the XClient's connection pool). */
export interface SelectorHost {
  /** Calls waiting for a reply on the server's connection (0 when not connected). */
  load(server: string): number;
  /** Smoothed heartbeat round-trip time in ms, or undefined when not measured yet. */
  rttMs(server: string): number | undefined;
}

export interface Selector {
  /** The chosen server (`network@address`), or undefined when there is none. */
  select(info: SelectInfo): string | undefined;
  /** The complete current server list: `network@address` → metadata query string. */
  update(servers: ReadonlyMap<string, string>): void;
  /** Called once by the XClient before the first select, with live server facts. */
  attach?(host: SelectorHost): void;
}

/** A user-supplied selection function: gets the call and the current servers, returns one key (or undefined). */
export type SelectFunction = (info: SelectInfo, servers: ReadonlyMap<string, string>) => string | undefined;

/** Servers minus the excluded ones; the same array when nothing is excluded, or when everything would be. */
export function candidates(servers: readonly string[], exclude: ReadonlySet<string> | undefined): readonly string[] {
  if (!exclude || exclude.size === 0) return servers;
  const left = servers.filter((s) => !exclude.has(s));
  return left.length > 0 ? left : servers;
}

/** A random integer in [0, n). */
export function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

/** A numeric metadata field, or `fallback` when absent or not a finite number. */
export function metadataNumber(metadata: string, name: string, fallback: number): number;
export function metadataNumber(metadata: string, name: string, fallback: undefined): number | undefined;
export function metadataNumber(metadata: string, name: string, fallback: number | undefined): number | undefined {
  let raw: string | null;
  try {
    raw = new URLSearchParams(metadata).get(name);
  } catch {
    return fallback;
  }
  if (raw === null || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}
