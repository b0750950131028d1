/**
 * rpcx-ts: what a plain server or client is written against. Importing it registers the built-in codecs, networks and
 * gzip, and loads nothing a plain server or client does not need: the registry clients live in `rpcx-ts/registry`
 * (`rpcx-ts/registry/etcd`, `rpcx-ts/registry/redis`), and prom-client, protobufjs and @opentelemetry/api load the
 * first time metrics, a protobuf schema or a registered tracer provider is used.
 */
import 'reflect-metadata';
import './codec/index.js';
import './transport/builtin.js';
import './protocol/gzip.js';

// Errors and logging.
export * from './errors.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { silentLogger, stderrLogger, verboseLogger, type Logger } from './logger.js';

// The wire vocabulary a caller sets or reads.
export { CompressType, MessageType, MetaKey, SerializeType, StatusType, serializeTypeFromName } from './protocol/constants.js';
export type { Message, Metadata } from './protocol/message.js';
export { getCodec, registerCodec, type Codec } from './codec/index.js';
export type { ProtobufType } from './codec/protobuf.js';

// Networks: `network@address`, and adding one.
export { registerTransport, registeredNetworks, parseEndpoint } from './transport/networks.js';
export type { Conn, Listener, ListenOptions, DialOptions, TlsOptions, Transport } from './transport/transport.js';

// Server.
export { service, method, type ServiceOptions, type MethodOptions } from './server/decorators.js';
export { Server, type ServerOptions, type CloseOptions } from './server/server.js';
export { CallContext } from './server/context.js';
export { type ConnectionInfo, type ServerPlugin } from './server/plugins.js';
export { type AuthFunction } from './server/dispatcher.js';
export { RateLimitPlugin, type RateLimitOptions } from './server/rate-limit.js';
export type { ServerMetrics } from './server/observability/metrics.js';
export type { MethodStatsJSON, RpczEntry } from './server/observability/stats.js';
export { ServerChannels, type ServerCallEvent } from './server/observability/call-events.js';
export { GatewayHeader, JsonRpcCode } from './server/http/constants.js';
export type { StatusJSON } from './server/http/pages.js';
export type { CorsOptions } from './server/http/cors.js';

// Clients.
export { Client, type ClientOptions, type PushMessage, type HeartbeatOptions } from './client/client.js';
export type { CallOptions, CallResult } from './client/call-options.js';
export { createProxy, type ServiceProxy, type Caller } from './client/proxy.js';
export { XClient, type XClientOptions, type InformResult } from './client/xclient.js';
export { FailMode, isRetryable } from './client/fail-modes.js';
export { type BreakerOptions, type BreakerState } from './client/breaker.js';
export { type ClientPlugin, type ClientCall } from './client/plugins.js';
export { ClientChannels, type ClientCallEvent } from './client/instrumentation.js';

// Service discovery without a store (registries: `rpcx-ts/registry`), and server selection.
export type { Discovery, DiscoveryListener, ServicePair } from './client/discovery/discovery.js';
export { Peer2PeerDiscovery } from './client/discovery/peer2peer.js';
export { MultipleServersDiscovery } from './client/discovery/multiple.js';
export { type ServerFilterOptions } from './client/discovery/filter.js';
export {
  SelectMode,
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
export { rpcxHashKey } from './client/selectors/jump-hash.js';
export type { Registrar } from './registry/registrar.js';
