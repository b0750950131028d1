/**
 * The names the HTTP front answers to: rpcx's gateway headers, the JSON-RPC 2.0 error codes and the builtin page paths.
 * Kept apart from the handlers so the package root can export them without loading the HTTP front.
 */

/** rpcx's HTTP gateway headers (request and response). */
export const GatewayHeader = {
  Version: 'X-RPCX-Version',
  MessageType: 'X-RPCX-MessageType',
  Heartbeat: 'X-RPCX-Heartbeat',
  Oneway: 'X-RPCX-Oneway',
  MessageStatusType: 'X-RPCX-MessageStatusType',
  SerializeType: 'X-RPCX-SerializeType',
  CompressType: 'X-RPCX-CompressType',
  MessageID: 'X-RPCX-MessageID',
  ServicePath: 'X-RPCX-ServicePath',
  ServiceMethod: 'X-RPCX-ServiceMethod',
  Meta: 'X-RPCX-Meta',
  ErrorMessage: 'X-RPCX-ErrorMessage',
} as const;

/** JSON-RPC 2.0 error codes, the standard ones and rpcx-ts's. */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** A service error: the message is rpcx's error text. */
  ServerError: -32000,
  /** The auth function refused the call. */
  Unauthorized: -32001,
} as const;

/** The builtin pages served on sniffed ports. */
export const PAGE_PATHS: readonly string[] = ['/status', '/connections', '/metrics', '/rpcz', '/health', '/dashboard', '/hotspots/cpu', '/hotspots/heap', '/vars', '/flags'];
