/**
 * What an XClient does when a call fails (rpcx's FailMode):
 * - failfast: one attempt; its error is the call's error.
 * - failover: up to retries+1 attempts, asking the selector again each time and preferring servers not yet tried.
 * - failtry: up to retries+1 attempts on the same server.
 * - failbackup: a second request goes to another server if the first has not answered after backupLatencyMs; the
 *   first answer wins and the other request is aborted.
 * Errors returned by a service (ServiceError) are answers, never retried; neither is the caller's abort.
 */
import { AbortedError, BreakerOpenError, CodecError, ConfigError, RpcError, ServiceError } from '../errors.js';

export const FailMode = {
  Failfast: 'failfast',
  Failover: 'failover',
  Failtry: 'failtry',
  Failbackup: 'failbackup',
} as const;

export type FailMode = (typeof FailMode)[keyof typeof FailMode];

/** Whether another attempt (on this or another server) may succeed where this one failed. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof RpcError)) return false;
  return !(error instanceof ServiceError || error instanceof AbortedError || error instanceof CodecError || error instanceof ConfigError);
}

/** Whether the error says something about the server's health (counts towards its circuit breaker). */
export function countsAsServerFailure(error: unknown): boolean {
  return isRetryable(error) && !(error instanceof BreakerOpenError);
}
