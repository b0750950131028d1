/**
 * The one catalogue of errors. Every error this library raises is an `RpcError` with a stable `code`
 * that callers can switch on; messages are for people and may change, codes do not. Each class carries its code as
 * a static `code` too (`error.code === TimeoutError.code`); no two classes share one.
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
  static readonly code: string = 'ERR_RPCX_SERVICE';
  constructor(message: string, code = ServiceError.code) {
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
  if (message === SHUTTING_DOWN_TEXT || message === CONNECTION_CLOSING_TEXT) return new UnavailableError(message);
  if (message.startsWith(LIMIT_EXCEEDED_PREFIX)) return LimitExceededError.fromText(message);
  return ServiceError.fromRemote(message);
}

export const SHUTTING_DOWN_TEXT = 'rpcx: server is shutting down';
/** The server read the request on a connection it is closing (after an auth failure): not run; retry elsewhere. */
export const CONNECTION_CLOSING_TEXT = 'rpcx: connection is closing';

/**
 * The server refused the call without running it (it is shutting down). Unlike a ServiceError this is safe to retry
 * on another server.
 */
export class UnavailableError extends RpcError {
  static readonly code = 'ERR_RPCX_UNAVAILABLE';
  constructor(message = SHUTTING_DOWN_TEXT) {
    super(UnavailableError.code, message);
  }
}

export const UNKNOWN_SERVICE_PREFIX = "rpcx: can't find service ";
export const UNKNOWN_METHOD_PREFIX = "rpcx: can't find method ";

export class ServiceNotFoundError extends ServiceError {
  static override readonly code = 'ERR_RPCX_SERVICE_NOT_FOUND';
  constructor(message: string) {
    super(message, ServiceNotFoundError.code);
  }
}

export class MethodNotFoundError extends ServiceError {
  static override readonly code = 'ERR_RPCX_METHOD_NOT_FOUND';
  constructor(message: string) {
    super(message, MethodNotFoundError.code);
  }
}

/** The call's deadline passed before a reply arrived. */
export class TimeoutError extends RpcError {
  static readonly code = 'ERR_RPCX_TIMEOUT';
  constructor(message = 'rpcx: call timed out') {
    super(TimeoutError.code, message);
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends RpcError {
  static readonly code = 'ERR_RPCX_ABORTED';
  constructor(reason?: unknown) {
    super(AbortedError.code, 'rpcx: call aborted', { cause: reason });
  }
}

/** The connection closed (or was never usable) while the call was pending. */
export class ConnectionClosedError extends RpcError {
  static readonly code = 'ERR_RPCX_CONNECTION_CLOSED';
  constructor(message = 'rpcx: connection closed', cause?: unknown) {
    super(ConnectionClosedError.code, message, { cause });
  }
}

/** Dialing a server failed or timed out. */
export class DialError extends RpcError {
  static readonly code = 'ERR_RPCX_DIAL';
  constructor(message: string, cause?: unknown) {
    super(DialError.code, message, { cause });
  }
}

/** Bytes on the wire that are not a valid rpcx frame. The connection that carried them is closed. */
export class ProtocolError extends RpcError {
  static readonly code: string = 'ERR_RPCX_PROTOCOL';
  constructor(message: string, code = ProtocolError.code) {
    super(code, message);
  }
}

export class BadMagicError extends ProtocolError {
  static override readonly code = 'ERR_RPCX_BAD_MAGIC';
  /** The byte found where rpcx's magic 0x08 belongs (0x48 'H' is HTTP, 0x15/0x16 a TLS record). */
  readonly byte: number;
  constructor(byte: number, message = `rpcx: bad magic byte 0x${byte.toString(16).padStart(2, '0')}`) {
    super(message, BadMagicError.code);
    this.byte = byte;
  }
}

export class FrameTooLargeError extends ProtocolError {
  static override readonly code = 'ERR_RPCX_FRAME_TOO_LARGE';
  constructor(size: number, max: number) {
    super(`rpcx: frame of ${size} bytes exceeds the maximum of ${max}`, FrameTooLargeError.code);
  }
}

/** An HTTP CONNECT head that is not rpcx's handshake: too long, or not sent in time. The connection is closed. */
export class HandshakeError extends ProtocolError {
  static override readonly code = 'ERR_RPCX_HANDSHAKE';
  constructor(message: string) {
    super(message, HandshakeError.code);
  }
}

export const LIMIT_EXCEEDED_PREFIX = 'rpcx: limit exceeded: ';

/**
 * A configured limit (see limits.ts) was hit. `limit` names it as the `limits` option does (`maxInflatedLength`,
 * `maxBatchLength`, ...). On the server a request that hits a limit is answered with this error (its text starts with
 * "rpcx: limit exceeded: <limit>"), and the client raises it again as this class: the request itself is too big, so
 * retrying it elsewhere will not help; send less. Limits on what a connection holds (unfinished frames) close that
 * connection instead.
 */
export class LimitExceededError extends ProtocolError {
  static override readonly code = 'ERR_RPCX_LIMIT_EXCEEDED';
  readonly limit: string;
  constructor(limit: string, detail = '') {
    super(`${LIMIT_EXCEEDED_PREFIX}${limit}: ${detail}`, LimitExceededError.code);
    this.limit = limit;
  }
  static fromText(text: string): LimitExceededError {
    const rest = text.slice(LIMIT_EXCEEDED_PREFIX.length);
    const colon = rest.indexOf(': ');
    const error = new LimitExceededError(colon < 0 ? rest : rest.slice(0, colon), colon < 0 ? '' : rest.slice(colon + 2));
    error.message = text;
    return error;
  }
}

/** A payload could not be (de)compressed, or would decompress past the configured cap. */
export class CompressionError extends ProtocolError {
  static override readonly code = 'ERR_RPCX_COMPRESSION';
  constructor(message: string) {
    super(message, CompressionError.code);
  }
}

/** A payload could not be serialized or deserialized. */
export class CodecError extends RpcError {
  static readonly code = 'ERR_RPCX_CODEC';
  constructor(message: string, cause?: unknown) {
    super(CodecError.code, message, { cause });
  }
}

/** A configuration or argument mistake by the caller (bad address, unknown network, ...). */
export class ConfigError extends RpcError {
  static readonly code = 'ERR_RPCX_CONFIG';
  constructor(message: string) {
    super(ConfigError.code, message);
  }
}

/** The client or server is closed or shutting down. */
export class ClosedError extends RpcError {
  static readonly code = 'ERR_RPCX_CLOSED';
  constructor(message = 'rpcx: closed') {
    super(ClosedError.code, message);
  }
}

/** An XClient has no server to call: discovery lists none, or none passes the state/group filter. */
export class NoServerError extends RpcError {
  static readonly code = 'ERR_RPCX_NO_SERVER';
  constructor(message = 'rpcx: no server available') {
    super(NoServerError.code, message);
  }
}

/** Every server the call could use has its circuit breaker open (too many consecutive failures). */
export class BreakerOpenError extends RpcError {
  static readonly code = 'ERR_RPCX_BREAKER_OPEN';
  constructor(message = 'rpcx: circuit breaker open') {
    super(BreakerOpenError.code, message);
  }
}

/** A request body (HTTP gateway, JSON-RPC) over the server's `maxHttpBodyLength`; answered with 413. */
export class BodyTooLargeError extends RpcError {
  static readonly code = 'ERR_RPCX_BODY_TOO_LARGE';
  constructor(limit: number) {
    super(BodyTooLargeError.code, `rpcx: request body over ${limit} bytes`);
  }
}

/** A gRPC request message over the server's `maxHttpBodyLength`; the call ends with RESOURCE_EXHAUSTED. */
export class MessageTooLargeError extends RpcError {
  static readonly code = 'ERR_RPCX_MESSAGE_TOO_LARGE';
  constructor(length: number, limit: number) {
    super(MessageTooLargeError.code, `grpc: message of ${length} bytes exceeds the limit of ${limit}`);
  }
}

/** The server's rate limiter refused a request (the method did not run); the reply carries rpcx's RATE_LIMIT_TEXT. */
export class RateLimitError extends RpcError {
  static readonly code = 'ERR_RPCX_RATE_LIMITED';
  constructor() {
    super(RateLimitError.code, RATE_LIMIT_TEXT);
  }
}

/** An operation this connection or call cannot do (a server push to an HTTP caller, ...). */
export class UnsupportedError extends RpcError {
  static readonly code = 'ERR_RPCX_UNSUPPORTED';
  constructor(message: string) {
    super(UnsupportedError.code, message);
  }
}

/** Something that is not an Error was thrown (a string, a number, ...); `value` keeps it, the message is its text. */
export class ThrownValueError extends RpcError {
  static readonly code = 'ERR_RPCX_THROWN_VALUE';
  readonly value: unknown;
  constructor(value: unknown) {
    super(ThrownValueError.code, String(value));
    this.value = value;
  }
}

/** The text of a thrown value: an Error's message, or the value as a string. */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/** `thrown` itself when it is an Error, otherwise a ThrownValueError around it. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new ThrownValueError(thrown);
}

/** A registry store (etcd, Redis) could not be reached or refused an operation. */
export class RegistryError extends RpcError {
  static readonly code = 'ERR_RPCX_REGISTRY';
  constructor(message: string, cause?: unknown) {
    super(RegistryError.code, message, { cause });
  }
}

/** Errors raised by the KCP transport; the subclasses say which. */
export class KcpError extends RpcError {
  static readonly code: string = 'ERR_RPCX_KCP';
  constructor(message: string, cause?: unknown, code = KcpError.code) {
    super(code, message, { cause });
  }
}

/** A segment was retransmitted `deadLink` times without being acknowledged: the peer is gone. */
export class KcpDeadLinkError extends KcpError {
  static override readonly code = 'ERR_RPCX_KCP_DEAD_LINK';
  constructor(remote: string) {
    super(`rpcx: kcp session to ${remote} is dead (no acknowledgement after repeated retransmission)`, undefined, KcpDeadLinkError.code);
  }
}

/** Nothing arrived from the peer for the configured idle timeout. */
export class KcpIdleTimeoutError extends KcpError {
  static override readonly code = 'ERR_RPCX_KCP_IDLE_TIMEOUT';
  constructor(remote: string, idleMs: number) {
    super(`rpcx: kcp session to ${remote} idle for ${idleMs} ms, closed`, undefined, KcpIdleTimeoutError.code);
  }
}

/** The UDP socket under a session failed or closed. */
export class KcpSocketError extends KcpError {
  static override readonly code = 'ERR_RPCX_KCP_SOCKET';
  constructor(message: string, cause?: unknown) {
    super(message, cause, KcpSocketError.code);
  }
}

/** Forward error correction could not encode or rebuild a group of shards (inconsistent shards). */
export class KcpFecError extends KcpError {
  static override readonly code = 'ERR_RPCX_KCP_FEC';
  constructor(message: string) {
    super(message, undefined, KcpFecError.code);
  }
}

export interface QuicErrorDetails {
  /** The QUIC error code on the wire (transport or application), when there is one. */
  quicCode?: number;
  /** True when `quicCode` is an application error code. */
  isApp?: boolean;
  /** True when the peer sent the error; false when this side detected it. */
  remote?: boolean;
  cause?: unknown;
}

/** A QUIC connection failed or was closed with an error; the subclasses name the common causes. */
export class QuicError extends RpcError {
  static readonly code: string = 'ERR_RPCX_QUIC';
  /** The QUIC error code on the wire (transport or application), when there is one. */
  readonly quicCode: number | undefined;
  /** True when `quicCode` is an application error code. */
  readonly isApp: boolean;
  /** True when the peer sent the error; false when this side detected it. */
  readonly remote: boolean;

  constructor(message: string, details: QuicErrorDetails = {}, code = QuicError.code) {
    super(code, message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.quicCode = details.quicCode;
    this.isApp = details.isApp === true;
    this.remote = details.remote === true;
  }
}

/** The QUIC TLS handshake failed (a TLS alert, ours or the peer's). */
export class QuicTlsError extends QuicError {
  static override readonly code = 'ERR_RPCX_QUIC_TLS';
  constructor(message: string, details: QuicErrorDetails = {}) {
    super(message, details, QuicTlsError.code);
  }
}

/** No packets arrived within the QUIC idle timeout. */
export class QuicIdleTimeoutError extends QuicError {
  static override readonly code = 'ERR_RPCX_QUIC_IDLE_TIMEOUT';
  constructor(message: string) {
    super(message, {}, QuicIdleTimeoutError.code);
  }
}

/** The peer closed the QUIC connection with an error code. */
export class QuicPeerClosedError extends QuicError {
  static override readonly code = 'ERR_RPCX_QUIC_PEER_CLOSED';
  constructor(message: string, details: QuicErrorDetails = {}) {
    super(message, { ...details, remote: true }, QuicPeerClosedError.code);
  }
}

/** rpcx's error text when its request rate limiter refuses a call (`server.ErrReqReachLimit`). */
export const RATE_LIMIT_TEXT = 'request reached rate limit';

/** The error text when the server's auth function refuses a call without giving a reason of its own. */
export const AUTH_FAILED_TEXT = 'rpcx: authentication failed';

/**
 * How a transfer's data connection failed: `refused` (the server reset or dropped it: a missing file, a handler that
 * threw, an upload it rejected), `timeout` (no byte moved for the stall timeout), `unreachable` (it could not be
 * reached), `failed` (anything else, a local file error for example).
 */
export type TransferFailure = 'refused' | 'timeout' | 'unreachable' | 'failed';

const REFUSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/** A file transfer or stream-service data connection failed (reset by the server, dropped, timed out). */
export class TransferError extends RpcError {
  static readonly code = 'ERR_RPCX_TRANSFER';
  /** Why, read from the cause (see TransferFailure). */
  readonly reason: TransferFailure;
  constructor(message: string, cause?: unknown) {
    super(TransferError.code, message, { cause });
    this.reason = transferFailure(cause);
  }
}

function transferFailure(cause: unknown): TransferFailure {
  for (let error = cause, depth = 0; error instanceof Error && depth < 5; error = error.cause, depth++) {
    if (error instanceof TimeoutError || (error as { code?: string }).code === 'ETIMEDOUT') return 'timeout';
    if (error instanceof DialError) return 'unreachable';
    const code = (error as { code?: string }).code ?? '';
    if (REFUSED_CODES.has(code)) return 'refused';
    if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  }
  return 'failed';
}

/** A typed message stream could not go on: the peer does not speak rpcx-ts streams, or broke their rules. */
export class StreamError extends RpcError {
  static readonly code = 'ERR_RPCX_STREAM';
  constructor(message: string) {
    super(StreamError.code, message);
  }
}
