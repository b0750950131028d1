/**
 * The key layout rpcx's etcd, Redis, ZooKeeper and Consul plugins share, so that rpcx's Go plugins could read what
 * ours write and the other way round:
 *
 *   <basePath>                          = "rpcx_path"
 *   <basePath>/<Service>                = "<Service>"
 *   <basePath>/<Service>/<network@addr> = the server's metadata query string (written with a TTL)
 *
 * Discovery lists `<basePath>/<Service>/` and takes what follows the prefix as the server key.
 */
export const ROOT_VALUE = 'rpcx_path';

/** `/rpcx_test/` → `/rpcx_test` (a trailing slash is dropped, as rpcx does). */
export function normalizeBasePath(basePath: string): string {
  return basePath.length > 1 && basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
}

export function serviceKey(basePath: string, service: string): string {
  return `${normalizeBasePath(basePath)}/${service}`;
}

export function nodeKey(basePath: string, service: string, endpoint: string): string {
  return `${serviceKey(basePath, service)}/${endpoint}`;
}

/** The prefix under which one service's servers live. */
export function servicePrefix(basePath: string, service: string): string {
  return serviceKey(basePath, service) + '/';
}

/** A server key (`network@address`) from a full key under `prefix`, or undefined if it is not one level below. */
export function serverFromKey(key: string, prefix: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  return rest.length > 0 && !rest.includes('/') ? rest : undefined;
}

/** What a server registers: each service with its metadata, at one advertised endpoint. */
export interface ServiceRecord {
  name: string;
  metadata: string;
}

/**
 * Adds what registering `services` at `endpoint` writes: the root and service keys (`dirs`, kept without a TTL) and
 * one node per service (`nodes`, kept alive by the registrar). Returns the node keys that were not there before.
 */
export function addRegistration(basePath: string, endpoint: string, services: ServiceRecord[], dirs: Map<string, string>, nodes: Map<string, string>): string[] {
  dirs.set(basePath, ROOT_VALUE);
  const added: string[] = [];
  for (const s of services) {
    dirs.set(serviceKey(basePath, s.name), s.name);
    const key = nodeKey(basePath, s.name, endpoint);
    if (!nodes.has(key)) added.push(key);
    nodes.set(key, s.metadata);
  }
  return added;
}
