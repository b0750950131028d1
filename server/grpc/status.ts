/**
 * gRPC status codes and how an rpcx call's failure becomes one. The README's table is this file:
 *
 *   handler threw an error whose `code` is a number 0..16   → that code (as grpc-js users write `{ code: status.NOT_FOUND }`)
 *   unknown service or method                               → 12 UNIMPLEMENTED
 *   auth function refused                                   → 16 UNAUTHENTICATED
 *   rate limit                                              → 8  RESOURCE_EXHAUSTED
 *   server shutting down                                    → 14 UNAVAILABLE
 *   argument could not be decoded (CodecError, bad frame)   → 3  INVALID_ARGUMENT
 *   reply could not be encoded                              → 13 INTERNAL
 *   deadline passed (TimeoutError, grpc-timeout)            → 4  DEADLINE_EXCEEDED
 *   call aborted (AbortedError, client cancelled)           → 1  CANCELLED
 *   message over the size limit                             → 8  RESOURCE_EXHAUSTED
 *   anything else a handler throws                          → 2  UNKNOWN
 */
import { AUTH_FAILED_TEXT, RATE_LIMIT_TEXT, SHUTTING_DOWN_TEXT, UNKNOWN_METHOD_PREFIX, UNKNOWN_SERVICE_PREFIX } from '../../errors.js';

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** rpcx error codes (errors.ts) with a gRPC meaning of their own. */
const BY_RPCX_CODE: Record<string, GrpcStatusCode> = {
  ERR_RPCX_CODEC: GrpcStatus.INVALID_ARGUMENT,
  ERR_RPCX_COMPRESSION: GrpcStatus.INVALID_ARGUMENT,
  ERR_RPCX_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  ERR_RPCX_ABORTED: GrpcStatus.CANCELLED,
  ERR_RPCX_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  ERR_RPCX_SERVICE_NOT_FOUND: GrpcStatus.UNIMPLEMENTED,
  ERR_RPCX_METHOD_NOT_FOUND: GrpcStatus.UNIMPLEMENTED,
  ERR_RPCX_MESSAGE_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  ERR_RPCX_RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
};

/** The status for a failure the handler threw (the error object is known). */
export function statusOfError(error: Error): GrpcStatusCode {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 16) return code as GrpcStatusCode;
  if (typeof code === 'string' && code in BY_RPCX_CODE) return BY_RPCX_CODE[code]!;
  return statusOfText(error.message);
}

/** The status for a failure known only by its rpcx error text (refusals before the handler ran). */
export function statusOfText(text: string): GrpcStatusCode {
  if (text.startsWith(UNKNOWN_SERVICE_PREFIX) || text.startsWith(UNKNOWN_METHOD_PREFIX)) return GrpcStatus.UNIMPLEMENTED;
  if (text === AUTH_FAILED_TEXT) return GrpcStatus.UNAUTHENTICATED;
  if (text === RATE_LIMIT_TEXT) return GrpcStatus.RESOURCE_EXHAUSTED;
  if (text === SHUTTING_DOWN_TEXT) return GrpcStatus.UNAVAILABLE;
  if (/^rpcx: \w+ decode failed/.test(text)) return GrpcStatus.INVALID_ARGUMENT;
  if (/^rpcx: \w+ encode failed/.test(text)) return GrpcStatus.INTERNAL;
  return GrpcStatus.UNKNOWN;
}

/** grpc-message is percent-encoded UTF-8 (visible ASCII except '%' passes through). */
export function encodeGrpcMessage(text: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(text) ? text : encodeURIComponent(text).replace(/%20/g, ' ');
}
