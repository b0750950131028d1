/**
 * The server side of a registry. A Server calls `register` for every endpoint it serves (with all its services), and
 * `deregister` first thing on shutdown, before it stops accepting, so that clients move away before it goes.
 * Implementations keep their keys alive with a TTL (etcd lease, Redis key expiry) refreshed in the background, and
 * re-register on their own after the store restarts or comes back.
 */
import type { ServiceRecord } from './layout.js';

export interface Registrar {
  /** Adds these services at `endpoint` (`network@address`) and keeps them alive until deregister. */
  register(endpoint: string, services: ServiceRecord[]): Promise<void>;
  /** Removes everything this registrar wrote and stops refreshing. */
  deregister(): Promise<void>;
  /** Releases the store connection (deregisters first if still registered). */
  close(): Promise<void>;
}
