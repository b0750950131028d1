/** rpcx-ts public API. */
import 'reflect-metadata';
import './codec/index.js';
import './transport/builtin.js';
import './protocol/gzip.js';

export * from './errors.js';
export { silentLogger, stderrLogger, verboseLogger, type Logger } from './logger.js';
export { CompressType, MessageType, MetaKey, SerializeType, StatusType, serializeTypeFromName } from './protocol/constants.js';
export { Message, type Metadata, type MessageInit } from './protocol/message.js';
export { FrameParser } from './protocol/frame-parser.js';
export { getCodec, registerCodec, type Codec } from './codec/index.js';
export { registerTransport, getTransport, parseEndpoint, registeredNetworks } from './transport/networks.js';
export type { Conn, Listener, ListenOptions, DialOptions, TlsOptions, Transport } from './transport/transport.js';
export { service, method, type ServiceOptions, type MethodOptions } from './server/decorators.js';
export { Server, type ServerOptions, type CloseOptions } from './server/server.js';
export { CallContext } from './server/context.js';
export { ServiceRegistry } from './server/service-registry.js';
export { Client, type ClientOptions, type PushMessage, type HeartbeatOptions } from './client/client.js';
export type { CallOptions, CallResult } from './client/call-options.js';
export { createProxy, type ServiceProxy, type Caller } from './client/proxy.js';
export { XClient, type XClientOptions, type InformResult } from './client/xclient.js';
export { FailMode, isRetryable } from './client/fail-modes.js';
export { CircuitBreaker, type BreakerOptions, type BreakerState } from './client/breaker.js';
export { ConnectionPool, type ConnectionPoolOptions } from './client/connection-pool.js';
export { DiscoveryWatchers, normalizeServerKey, parseServerMetadata, type Discovery, type DiscoveryListener, type ServicePair } from './client/discovery/discovery.js';
export { Peer2PeerDiscovery } from './client/discovery/peer2peer.js';
export { MultipleServersDiscovery } from './client/discovery/multiple.js';
export { filterServers, type ServerFilterOptions } from './client/discovery/filter.js';
export {
  SelectMode,
  createSelector,
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
  LatencySelector,
  ConsistentHashSelector,
  ClosestSelector,
  P2CSelector,
  FunctionSelector,
  type SelectModeName,
  type Selector,
  type SelectInfo,
  type SelectorHost,
  type SelectFunction,
} from './client/selectors/index.js';
export { jumpHash, jumpConsistentHash, fnv1a64, rpcxHashKey } from './client/selectors/jump-hash.js';
export { createDiscovery, createRegistrar, EtcdDiscovery, EtcdRegistrar, RedisDiscovery, RedisRegistrar, type Registrar } from './registry/index.js';
export { type ConnectionInfo, type ServerPlugin, PluginContainer } from './server/plugins.js';
export { type AuthFunction, type DispatchTarget } from './server/dispatcher.js';
export { RateLimitPlugin, TokenBucket, type RateLimitOptions } from './server/rate-limit.js';
export { ServerMetrics } from './server/observability/metrics.js';
export { MethodStats, Rpcz, LATENCY_BOUNDS_MS, type RpczEntry, type MethodStatsJSON } from './server/observability/stats.js';
export { ServerChannels, type ServerCallEvent } from './server/observability/call-events.js';
export { GatewayHeader } from './server/http/gateway.js';
export { JsonRpcCode } from './server/http/jsonrpc.js';
export { PAGE_PATHS, type StatusJSON } from './server/http/pages.js';
export { type ClientPlugin, type ClientCall } from './client/plugins.js';
export { ClientChannels, clientInstrumentation, type ClientCallEvent } from './client/instrumentation.js';
