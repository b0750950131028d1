/** Wire constants of the rpcx protocol (v1.9.x), as smallnest/rpcx's protocol/message.go defines them. */

export const MAGIC = 0x08;
export const VERSION = 0;
/** Bytes before the body: magic, version, flags, serialize type, seq (8), total length (4). */
export const HEADER_LENGTH = 16;

export const MessageType = { Request: 0, Response: 1 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const SerializeType = { None: 0, JSON: 1, ProtoBuffer: 2, MsgPack: 3, Thrift: 4 } as const;
export type SerializeType = number;

export const CompressType = { None: 0, Gzip: 1 } as const;
export type CompressType = number;

export const StatusType = { Normal: 0, Error: 1 } as const;
export type StatusType = (typeof StatusType)[keyof typeof StatusType];

/** Bits of the flags byte (offset 2). */
export const Flag = {
  Response: 0x80,
  Heartbeat: 0x40,
  Oneway: 0x20,
  CompressMask: 0x1c,
  CompressShift: 2,
  StatusMask: 0x03,
} as const;

/** Reserved metadata keys. */
export const MetaKey = {
  Error: '__rpcx_error__',
  Auth: '__AUTH',
  ServerTimeout: '__ServerTimeout',
  /**
   * rpcx-ts only: on a heartbeat frame, the seq of a call the client gave up on (see docs/streams.md). Go servers
   * skip auth for heartbeats and echo them, so they never see it as a call.
   */
  Cancel: '__rpcx_cancel',
  /** rpcx-ts only: marks a frame of a typed message stream and says which kind (docs/streams.md). */
  Stream: '__rpcx_stream',
  /** rpcx-ts only: on a stream's open or credit frame, how many more messages the peer may send. */
  StreamCredit: '__rpcx_stream_credit',
} as const;

/** The HTTP path rpcx serves on: the CONNECT target and the WebSocket endpoint (Go's `share.DefaultRPCPath`). */
export const RPCX_PATH = '/_rpcx_';

/** Default cap on one frame (rpcx's default MaxMessageLength is unlimited; we bound it). */
export const DEFAULT_MAX_FRAME_LENGTH = 64 * 1024 * 1024;
/** Default cap on a decompressed payload. */
export const DEFAULT_MAX_DECOMPRESSED_LENGTH = 64 * 1024 * 1024;
/** rpcx compresses only payloads over this size. */
export const COMPRESS_THRESHOLD = 1024;

const serializeNames: Record<string, number> = { raw: 0, none: 0, json: 1, protobuf: 2, msgpack: 3, thrift: 4 };

/** `json` → 1, `msgpack` → 3, or a decimal number. Returns undefined for unknown names. */
export function serializeTypeFromName(name: string): number | undefined {
  const lower = name.toLowerCase();
  if (lower in serializeNames) return serializeNames[lower];
  const n = Number(name);
  return Number.isInteger(n) && n >= 0 && n < 16 ? n : undefined;
}
