/** The limits of the gRPC side (ServerOptions.grpc), apart from the front end so the server knows them without loading it. */
export interface GrpcLimits {
  /**
   * Streams (calls) one connection may have open at once, announced in SETTINGS (default 1000); a client going past
   * it gets REFUSED_STREAM, which gRPC clients retry.
   */
  maxConcurrentStreams?: number;
  /** A connection with no frames for this long gets GOAWAY; calls still open finish (default 300,000 ms; 0: never). */
  idleTimeoutMs?: number;
}

export const DEFAULT_GRPC_MAX_CONCURRENT_STREAMS = 1000;
export const DEFAULT_GRPC_IDLE_TIMEOUT_MS = 300_000;

export function grpcLimits(limits: GrpcLimits): Required<GrpcLimits> {
  return {
    maxConcurrentStreams: limits.maxConcurrentStreams ?? DEFAULT_GRPC_MAX_CONCURRENT_STREAMS,
    idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_GRPC_IDLE_TIMEOUT_MS,
  };
}
