/** The HTTP headers of rpcx's gateway protocol (request and answer), by their canonical names. */
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
