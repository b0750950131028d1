/** Options of one call, shared by Client and XClient. */
import type { ProtobufType } from '../codec/protobuf.js';
import type { Metadata } from '../protocol/message.js';

export interface CallOptions {
  /** Cancels the call; the promise rejects with AbortedError. */
  signal?: AbortSignal;
  /** Deadline in milliseconds (0 = none); sent to the server as `__ServerTimeout`. Overrides the client default. */
  timeoutMs?: number;
  /** Request metadata. */
  metadata?: Metadata;
  /** Serialize type for this call (default: the client's, msgpack unless configured). */
  serializeType?: number;
  /** Compress type for this call (payloads over 1 KiB only, as rpcx). */
  compressType?: number;
  /** protobuf type of the argument (serialize type 2). */
  requestType?: ProtobufType;
  /** protobuf type of the reply (serialize type 2). */
  replyType?: ProtobufType;
  /** Return the reply payload bytes without decoding them. */
  raw?: boolean;
}

export interface CallResult<T> {
  value: T;
  /** Response metadata sent by the server. */
  metadata: Metadata;
}
