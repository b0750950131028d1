/** Registries: etcd v3, Redis and ZooKeeper in rpcx's key layout, mDNS in rpcx's format, and DNS discovery. */
export type { Registrar } from './registrar.js';
export { EtcdDiscovery, EtcdRegistrar, type EtcdDiscoveryOptions, type EtcdRegistrarOptions } from './etcd.js';
export { RedisDiscovery, RedisRegistrar, type RedisDiscoveryOptions, type RedisRegistrarOptions } from './redis.js';
export { ZooKeeperDiscovery, ZooKeeperRegistrar, type ZooKeeperDiscoveryOptions, type ZooKeeperRegistrarOptions } from './zookeeper.js';
export { MdnsDiscovery, MdnsRegistrar, type MdnsDiscoveryOptions, type MdnsRegistrarOptions } from './mdns.js';
export { DnsDiscovery, type DnsDiscoveryOptions } from './dns.js';
export { createDiscovery, createRegistrar, isRegistryUrl, parseRegistryUrl, type RegistryKind, type RegistryLocation } from './url.js';
export { nodeKey, servicePrefix, type ServiceRecord } from './layout.js';
