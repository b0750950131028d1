/**
 * `rpcx-ts/streams`: the public names of file transfer, the stream service and typed message streams (the classes
 * themselves are reached through Server and Client; errors are in the root entry's catalogue).
 */
export { FileTransferService, type FileTransferOptions, type Upload, type DownloadRequest } from './server/transfer/file-transfer.js';
export { StreamService, STREAM_REFUSED_TEXT, type StreamServiceOptions } from './server/transfer/stream-service.js';
export type { TokenGateOptions } from './server/transfer/token-gate.js';
export type { SendFileOptions, TransferOptions, TransferResult } from './client/file-transfer.js';
export type { StreamCallOptions } from './client/message-stream.js';
export {
  FILE_TRANSFER_SERVICE,
  STREAM_SERVICE,
  TOKEN_LENGTH,
  type DownloadFileArgs,
  type FileTransferArgs,
  type StreamServiceArgs,
  type TransferReply,
} from './protocol/transfer-structs.js';
export { DEFAULT_STREAM_WINDOW, MAX_STREAM_WINDOW, StreamFrame, type StreamKind } from './protocol/stream-frames.js';
