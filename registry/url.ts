/**
 * Registry URLs, for configuration and the CLI: `etcd://host:port[,host:port...]/basePath` and
 * `redis://host:port/basePath` (basePath defaults to `/rpcx`).
 */
import type { Discovery } from '../client/discovery/discovery.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { EtcdDiscovery, EtcdRegistrar } from './etcd.js';
import { RedisDiscovery, RedisRegistrar } from './redis.js';
import type { Registrar } from './registrar.js';

export interface RegistryLocation {
  kind: 'etcd' | 'redis';
  hosts: string[];
  basePath: string;
}

export function isRegistryUrl(text: string): boolean {
  return /^(etcd|redis):\/\//.test(text);
}

export function parseRegistryUrl(url: string): RegistryLocation {
  const match = /^(etcd|redis):\/\/([^/]+)(\/.*)?$/.exec(url);
  if (!match) throw new ConfigError(`rpcx: bad registry URL "${url}" (etcd://host:port/basePath or redis://host:port/basePath)`);
  const hosts = match[2]!.split(',').filter(Boolean);
  if (match[1] === 'redis' && hosts.length !== 1) throw new ConfigError('rpcx: a redis registry URL names one host');
  return { kind: match[1] as 'etcd' | 'redis', hosts, basePath: match[3] && match[3] !== '/' ? match[3] : '/rpcx' };
}

export interface RegistryOptions {
  ttlSeconds?: number;
  logger?: Logger;
}

export function createRegistrar(url: string, options: RegistryOptions = {}): Registrar {
  const location = parseRegistryUrl(url);
  const common = { basePath: location.basePath, ...options };
  return location.kind === 'etcd'
    ? new EtcdRegistrar({ hosts: location.hosts, ...common })
    : new RedisRegistrar({ host: location.hosts[0]!, ...common });
}

export function createDiscovery(url: string, service: string, options: { logger?: Logger } = {}): Promise<Discovery> {
  const location = parseRegistryUrl(url);
  return location.kind === 'etcd'
    ? EtcdDiscovery.create({ hosts: location.hosts, basePath: location.basePath, service, ...options })
    : RedisDiscovery.create({ host: location.hosts[0]!, basePath: location.basePath, service, ...options });
}
