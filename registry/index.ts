/** Registries on real stores: etcd v3 and Redis, in rpcx's key layout. */
export type { Registrar } from './registrar.js';
export { EtcdDiscovery, EtcdRegistrar, type EtcdDiscoveryOptions, type EtcdRegistrarOptions } from './etcd.js';
export { RedisDiscovery, RedisRegistrar, type RedisDiscoveryOptions, type RedisRegistrarOptions } from './redis.js';
export { createDiscovery, createRegistrar, isRegistryUrl, parseRegistryUrl, type RegistryLocation } from './url.js';
export { nodeKey, servicePrefix, type ServiceRecord } from './layout.js';
