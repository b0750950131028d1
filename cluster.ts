/**
 * `rpcx-ts/cluster`: one server served from several processes (worker processes sharing each tcp port with
 * SO_REUSEPORT); see server/cluster.ts and the README's "Several cores".
 */
export { ServerCluster, type ServerClusterOptions } from './server/cluster.js';
export type { WorkerLogLevel, WorkerServerOptions } from './server/cluster-worker.js';
export { mergeStatus, type ClusterStatusJSON, type WorkerStatusJSON } from './server/observability/status-merge.js';
export { loadServiceModules } from './server/service-modules.js';
export type { StatusJSON } from './server/http/pages.js';
