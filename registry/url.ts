/**
 * Registry URLs, for configuration and the CLI (the base path defaults to `/rpcx`):
 *
 *   etcd://host:port[,host:port...]/basePath     etcd v3
 *   redis://host:port/basePath                   Redis, as rpcx's libkv store
 *   zk://host:port[,host:port...]/basePath       ZooKeeper, as rpcx's libkv store
 *   mdns://[?domain=local.&interface=IP&port=5353]   multicast DNS-SD, as rpcx's mdns plugin (no store at all)
 *   dns://[server:port]/name?port=8972[&network=tcp]   discovery only: the A/AAAA records of `name`
 *   dns+srv://[server:port]/name[?network=tcp]         discovery only: SRV records (`_rpcx._tcp.` added to a bare name)
 *
 * Each registry's module, and the client library it needs, is imported only when its scheme is used.
 */
import type { Discovery } from '../client/discovery/discovery.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';

export type RegistryKind = 'etcd' | 'redis' | 'zk' | 'mdns' | 'dns' | 'dns+srv';

export interface RegistryLocation {
  kind: RegistryKind;
  /** Store servers (`host:port`); for dns and dns+srv the DNS servers to ask (none: the system's resolvers). */
  hosts: string[];
  /** Root of rpcx's key layout; for dns and dns+srv the name to resolve. */
  basePath: string;
  /** The query string's settings (`port`, `network`, `domain`, `interface`, ...). */
  params: URLSearchParams;
}

export interface RegistryOptions {
  ttlSeconds?: number;
  logger?: Logger;
}

interface Scheme {
  usage: string;
  hosts: 'one' | 'some' | 'any';
  registrar?: (location: RegistryLocation, options: RegistryOptions) => Promise<Registrar>;
  discovery: (location: RegistryLocation, service: string, options: { logger?: Logger }) => Promise<Discovery>;
}

const schemes: Record<RegistryKind, Scheme> = {
  etcd: {
    usage: 'etcd://host:port[,host:port]/basePath',
    hosts: 'some',
    registrar: async (l, o) => new (await import('./etcd.js')).EtcdRegistrar({ hosts: l.hosts, basePath: l.basePath, ...o }),
    discovery: async (l, service, o) => (await import('./etcd.js')).EtcdDiscovery.create({ hosts: l.hosts, basePath: l.basePath, service, ...o }),
  },
  redis: {
    usage: 'redis://host:port/basePath',
    hosts: 'one',
    registrar: async (l, o) => new (await import('./redis.js')).RedisRegistrar({ host: l.hosts[0]!, basePath: l.basePath, ...o }),
    discovery: async (l, service, o) => (await import('./redis.js')).RedisDiscovery.create({ host: l.hosts[0]!, basePath: l.basePath, service, ...o }),
  },
  zk: {
    usage: 'zk://host:port[,host:port]/basePath',
    hosts: 'some',
    registrar: async (l, o) => new (await import('./zookeeper.js')).ZooKeeperRegistrar({ hosts: l.hosts, basePath: l.basePath, ...o }),
    discovery: async (l, service, o) => (await import('./zookeeper.js')).ZooKeeperDiscovery.create({ hosts: l.hosts, basePath: l.basePath, service, ...o }),
  },
  mdns: {
    usage: 'mdns://[?domain=local.&interface=IP&port=5353]',
    hosts: 'any',
    registrar: async (l, o) => new (await import('./mdns.js')).MdnsRegistrar({ ...mdnsSettings(l), ...o }),
    discovery: async (l, service, o) => (await import('./mdns.js')).MdnsDiscovery.create({ ...mdnsSettings(l), service, ...o }),
  },
  dns: {
    usage: 'dns://[server:port]/name?port=8972[&network=tcp]',
    hosts: 'any',
    discovery: async (l, _service, o) => {
      const port = Number(l.params.get('port'));
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`rpcx: a dns:// discovery URL needs ?port=1..65535`);
      return (await import('./dns.js')).DnsDiscovery.create({ ...dnsSettings(l), mode: 'a', port, ...o });
    },
  },
  'dns+srv': {
    usage: 'dns+srv://[server:port]/name[?network=tcp]',
    hosts: 'any',
    discovery: async (l, _service, o) => (await import('./dns.js')).DnsDiscovery.create({ ...dnsSettings(l), mode: 'srv', ...o }),
  },
};

function dnsSettings(l: RegistryLocation): { name: string; servers: string[]; network: string } {
  const name = l.basePath.replace(/^\/+/, '');
  if (!name) throw new ConfigError(`rpcx: a ${l.kind}:// discovery URL names the DNS name to resolve: ${schemes[l.kind].usage}`);
  return { name, servers: l.hosts, network: l.params.get('network') ?? 'tcp' };
}

function mdnsSettings(l: RegistryLocation): { domain?: string; interfaceAddress?: string; port?: number } {
  const domain = l.params.get('domain');
  const iface = l.params.get('interface');
  const port = l.params.get('port');
  if (port !== null && !(Number.isInteger(Number(port)) && Number(port) > 0 && Number(port) <= 65535)) {
    throw new ConfigError(`rpcx: an mdns:// URL's port is 1..65535, got "${port}"`);
  }
  return { ...(domain ? { domain } : {}), ...(iface ? { interfaceAddress: iface } : {}), ...(port ? { port: Number(port) } : {}) };
}

const schemePattern = /^([a-z][a-z0-9+]*):\/\/([^/?]*)(\/[^?]*)?(?:\?(.*))?$/;

export function isRegistryUrl(text: string): boolean {
  const match = schemePattern.exec(text);
  return !!match && Object.hasOwn(schemes, match[1]!);
}

/** Whether a URL of this kind names store servers (`host:port`); DNS names resolvers (port optional), mDNS none. */
export function namesStoreServers(kind: RegistryKind): boolean {
  return schemes[kind].hosts !== 'any';
}

export function parseRegistryUrl(url: string): RegistryLocation {
  const match = schemePattern.exec(url);
  const kind = match?.[1] as RegistryKind | undefined;
  const scheme = kind && Object.hasOwn(schemes, kind) ? schemes[kind] : undefined;
  if (!match || !kind || !scheme) {
    throw new ConfigError(`rpcx: bad registry URL "${url}" (${Object.values(schemes).map((s) => s.usage).join(', ')})`);
  }
  const hosts = match[2]!.split(',').map((h) => h.trim()).filter(Boolean);
  if (scheme.hosts === 'one' && hosts.length !== 1) throw new ConfigError(`rpcx: a ${kind} registry URL names one host: ${scheme.usage}`);
  if (scheme.hosts === 'some' && hosts.length === 0) throw new ConfigError(`rpcx: a ${kind} registry URL names its servers: ${scheme.usage}`);
  const path = match[3] && match[3] !== '/' ? match[3] : undefined;
  return { kind, hosts, basePath: path ?? (kind === 'dns' || kind === 'dns+srv' ? '' : '/rpcx'), params: new URLSearchParams(match[4] ?? '') };
}

/**
 * The registrar for a URL. Its module loads on the first `register`, so that this stays synchronous and a bad URL
 * fails here, at once.
 */
export function createRegistrar(url: string, options: RegistryOptions = {}): Registrar {
  const location = parseRegistryUrl(url);
  const make = schemes[location.kind].registrar;
  if (!make) throw new ConfigError(`rpcx: ${location.kind}:// is for discovery only; servers are published in DNS itself`);
  return new LazyRegistrar(() => make(location, options));
}

export function createDiscovery(url: string, service: string, options: { logger?: Logger } = {}): Promise<Discovery> {
  const location = parseRegistryUrl(url);
  return schemes[location.kind].discovery(location, service, options);
}

/** A registrar whose implementation is imported and built when first needed. */
class LazyRegistrar implements Registrar {
  readonly #make: () => Promise<Registrar>;
  #inner: Promise<Registrar> | undefined;

  constructor(make: () => Promise<Registrar>) {
    this.#make = make;
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    this.#inner ??= this.#make();
    return (await this.#inner).register(endpoint, services);
  }

  async deregister(): Promise<void> {
    await (await this.#inner)?.deregister();
  }

  async close(): Promise<void> {
    await (await this.#inner)?.close();
  }
}
