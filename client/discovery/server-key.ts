/**
 * Checks a discovered server's key (`network@address`) before anything dials it: the network must be registered and
 * the address must have the shape that network takes (a path for unix, `host:port` with an optional `/path` for ws and
 * wss, `host:port` for the rest). A bad key is a ConfigError naming the entry, never a dial failure later.
 */
import { ConfigError } from '../../errors.js';
import { getTransport, parseEndpoint, splitHostPort } from '../../transport/networks.js';
import { normalizeServerKey } from './discovery.js';

const PATH_NETWORKS = new Set(['unix']);
const PATH_SUFFIX_NETWORKS = new Set(['ws', 'wss']);

/** The normalized key, or ConfigError saying what is wrong with it. */
export function checkServerKey(key: string): string {
  const normalized = normalizeServerKey(key.trim());
  try {
    const { network, address } = parseEndpoint(normalized);
    getTransport(network);
    if (/\s/.test(normalized)) throw new ConfigError('it contains white space');
    if (PATH_NETWORKS.has(network)) return normalized;
    if (address.includes('?')) throw new ConfigError('metadata (`?k=v`) belongs in the server\'s value, not in its key');
    const slash = PATH_SUFFIX_NETWORKS.has(network) ? address.indexOf('/') : -1;
    const hostPort = slash < 0 ? address : address.slice(0, slash);
    const { port } = splitHostPort(hostPort);
    if (!/:\d+$/.test(hostPort) || port === 0) throw new ConfigError(`"${hostPort}" needs a port from 1 to 65535`);
    return normalized;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`rpcx: bad server "${key}": ${error.message.replace(/^rpcx: /, '')}`);
  }
}
