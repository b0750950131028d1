/**
 * The CLI's exit codes, one per kind of failure, so that scripts can tell them apart:
 * 0 ok, 1 an unexpected failure, 2 usage or configuration, 3 no server reachable, 4 the service answered an error,
 * 5 timeout.
 */
import {
  BreakerOpenError,
  ConfigError,
  ConnectionClosedError,
  DialError,
  NoServerError,
  ProtocolError,
  RegistryError,
  ServiceError,
  TimeoutError,
  UnavailableError,
} from '../index.js';

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Unreachable: 3,
  ServiceError: 4,
  Timeout: 5,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError) return ExitCode.Usage;
  if (error instanceof TimeoutError) return ExitCode.Timeout;
  if (error instanceof ServiceError) return ExitCode.ServiceError;
  if (
    error instanceof DialError ||
    error instanceof NoServerError ||
    error instanceof ConnectionClosedError ||
    error instanceof UnavailableError ||
    error instanceof BreakerOpenError ||
    error instanceof ProtocolError ||
    error instanceof RegistryError
  ) {
    return ExitCode.Unreachable;
  }
  return ExitCode.Failure;
}

/** The README's table, also printed by `rpcx-ts help`. */
export const exitCodeHelp = `exit codes: 0 ok, 1 unexpected failure, 2 usage or configuration error, 3 no server reachable,
            4 the service answered an error, 5 timeout`;
