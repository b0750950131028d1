/**
 * Networks by name. `network@address` strings are resolved here; a transport registers itself once with
 * `registerTransport` and is then reachable from every server and client by its name.
 */
import { ConfigError } from '../errors.js';
import type { Transport } from './transport.js';

const transports = new Map<string, Transport>();

export function registerTransport(transport: Transport): void {
  for (const network of transport.networks) transports.set(network, transport);
}

export function getTransport(network: string): Transport {
  const transport = transports.get(network);
  if (!transport) {
    throw new ConfigError(`rpcx: unknown network "${network}" (known: ${[...transports.keys()].join(', ')})`);
  }
  return transport;
}

export function registeredNetworks(): string[] {
  return [...transports.keys()];
}

export interface Endpoint {
  network: string;
  address: string;
}

/** Splits `network@address`; no `@` means tcp, as in rpcx. */
export function parseEndpoint(spec: string): Endpoint {
  const at = spec.indexOf('@');
  if (at < 0) return { network: 'tcp', address: spec };
  const network = spec.slice(0, at);
  const address = spec.slice(at + 1);
  if (!network || !address) throw new ConfigError(`rpcx: bad endpoint "${spec}" (expected network@address)`);
  return { network, address };
}

/** Splits `host:port`, accepting `[v6]:port`. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw new ConfigError(`rpcx: address "${address}" has no port`);
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`rpcx: bad port in "${address}"`);
  return { host: host || '0.0.0.0', port };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
