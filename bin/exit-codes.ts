/**
 * The CLI's exit codes, one per kind of failure, so that scripts can tell them apart:
 * 0 ok, 1 an unexpected failure, 2 usage or configuration, 3 no server reachable, 4 the service answered an error,
 * 5 timeout. A file transfer's TransferError maps by its reason: refused 4, unreachable 3, timeout 5.
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
  StreamError,
  TimeoutError,
  TransferError,
  UnavailableError,
  type TransferFailure,
} from '../index.js';

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Unreachable: 3,
  ServiceError: 4,
  Timeout: 5,
} as const;

/** A transfer's data connection: reset by the server = it refused (4), not reached (3), stalled (5). */
const TRANSFER_EXIT: Record<TransferFailure, number> = {
  refused: ExitCode.ServiceError,
  unreachable: ExitCode.Unreachable,
  timeout: ExitCode.Timeout,
  failed: ExitCode.Failure,
};

export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError) return ExitCode.Usage;
  if (error instanceof TimeoutError) return ExitCode.Timeout;
  if (error instanceof ServiceError) return ExitCode.ServiceError;
  if (error instanceof TransferError) return TRANSFER_EXIT[error.reason];
  // A typed stream the server answered the wrong way (not an rpcx-ts peer, or it broke the stream's rules).
  if (error instanceof StreamError) return ExitCode.ServiceError;
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
