/**
 * The one catalogue of errors. Every error this library raises is an `RpcError` with a stable `code`
 * that callers can switch on; messages are for people and may change, codes do not.
 */
export class RpcError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** The remote service answered with an error (rpcx status bit + `__rpcx_error__`). Never retried. */
export class ServiceError extends RpcError {
  constructor(message: string, code = 'ERR_RPCX_SERVICE') {
    super(code, message);
  }
  /** Maps rpcx's exact error texts to the most specific class. */
  static fromRemote(message: string): ServiceError {
    if (message.startsWith(UNKNOWN_SERVICE_PREFIX)) return new ServiceNotFoundError(message);
    if (message.startsWith(UNKNOWN_METHOD_PREFIX)) return new MethodNotFoundError(message);
    return new ServiceError(message);
  }
}

/** The error a call's reply carried, as the most specific class: UnavailableError or a ServiceError. */
export function remoteError(message: string): RpcError {
  if (message === SHUTTING_DOWN_TEXT) return new UnavailableError(message);
  return ServiceError.fromRemote(message);
}

export const SHUTTING_DOWN_TEXT = 'rpcx: server is shutting down';

/**
 * The server refused the call without running it (it is shutting down). Unlike a ServiceError this is safe to retry
 * on another server.
 */
export class UnavailableError extends RpcError {
  constructor(message = SHUTTING_DOWN_TEXT) {
    super('ERR_RPCX_UNAVAILABLE', message);
  }
}

export const UNKNOWN_SERVICE_PREFIX = "rpcx: can't find service ";
export const UNKNOWN_METHOD_PREFIX = "rpcx: can't find method ";

export class ServiceNotFoundError extends ServiceError {
  constructor(message: string) {
    super(message, 'ERR_RPCX_SERVICE_NOT_FOUND');
  }
}

export class MethodNotFoundError extends ServiceError {
  constructor(message: string) {
    super(message, 'ERR_RPCX_METHOD_NOT_FOUND');
  }
}

/** The call's deadline passed before a reply arrived. */
export class TimeoutError extends RpcError {
  constructor(message = 'rpcx: call timed out') {
    super('ERR_RPCX_TIMEOUT', message);
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends RpcError {
  constructor(reason?: unknown) {
    super('ERR_RPCX_ABORTED', 'rpcx: call aborted', { cause: reason });
  }
}

/** The connection closed (or was never usable) while the call was pending. */
export class ConnectionClosedError extends RpcError {
  constructor(message = 'rpcx: connection closed', cause?: unknown) {
    super('ERR_RPCX_CONNECTION_CLOSED', message, { cause });
  }
}

/** Dialing a server failed or timed out. */
export class DialError extends RpcError {
  constructor(message: string, cause?: unknown) {
    super('ERR_RPCX_DIAL', message, { cause });
  }
}

/** Bytes on the wire that are not a valid rpcx frame. The connection that carried them is closed. */
export class ProtocolError extends RpcError {
  constructor(message: string, code = 'ERR_RPCX_PROTOCOL') {
    super(code, message);
  }
}

export class BadMagicError extends ProtocolError {
  constructor(byte: number) {
    super(`rpcx: bad magic byte 0x${byte.toString(16).padStart(2, '0')}`, 'ERR_RPCX_BAD_MAGIC');
  }
}

export class FrameTooLargeError extends ProtocolError {
  constructor(size: number, max: number) {
    super(`rpcx: frame of ${size} bytes exceeds the maximum of ${max}`, 'ERR_RPCX_FRAME_TOO_LARGE');
  }
}

/** A payload could not be (de)compressed, or would decompress past the configured cap. */
export class CompressionError extends ProtocolError {
  constructor(message: string) {
    super(message, 'ERR_RPCX_COMPRESSION');
  }
}

/** A payload could not be serialized or deserialized. */
export class CodecError extends RpcError {
  constructor(message: string, cause?: unknown) {
    super('ERR_RPCX_CODEC', message, { cause });
  }
}

/** A configuration or argument mistake by the caller (bad address, unknown network, ...). */
export class ConfigError extends RpcError {
  constructor(message: string) {
    super('ERR_RPCX_CONFIG', message);
  }
}

/** The client or server is closed or shutting down. */
export class ClosedError extends RpcError {
  constructor(message = 'rpcx: closed') {
    super('ERR_RPCX_CLOSED', message);
  }
}

/** An XClient has no server to call: discovery lists none, or none passes the state/group filter. */
export class NoServerError extends RpcError {
  constructor(message = 'rpcx: no server available') {
    super('ERR_RPCX_NO_SERVER', message);
  }
}

/** Every server the call could use has its circuit breaker open (too many consecutive failures). */
export class BreakerOpenError extends RpcError {
  constructor(message = 'rpcx: circuit breaker open') {
    super('ERR_RPCX_BREAKER_OPEN', message);
  }
}

/** rpcx's error text when its request rate limiter refuses a call (`server.ErrReqReachLimit`). */
export const RATE_LIMIT_TEXT = 'request reached rate limit';

/** The error text when the server's auth function refuses a call without giving a reason of its own. */
export const AUTH_FAILED_TEXT = 'rpcx: authentication failed';

/** A file transfer or stream-service data connection failed (reset by the server, dropped, timed out). */
export class TransferError extends RpcError {
  constructor(message: string, cause?: unknown) {
    super('ERR_RPCX_TRANSFER', message, { cause });
  }
}

/** A typed message stream could not go on: the peer does not speak rpcx-ts streams, or broke their rules. */
export class StreamError extends RpcError {
  constructor(message: string) {
    super('ERR_RPCX_STREAM', message);
  }
}
