/** The limits of the gRPC side (ServerOptions.grpc), apart from the front end so the server knows them without loading it. */
export interface GrpcLimits {
  /**
   * Streams (calls) one connection may have open at once, announced in SETTINGS (default: the server's
   * `limits.maxConcurrentCallsPerConnection`, 1024); a client going past it gets REFUSED_STREAM, which gRPC clients
   * retry.
   */
  maxConcurrentStreams?: number;
  /**
   * A connection that starts no call and has none running for this long gets GOAWAY (gRPC's max connection idle;
   * pings do not count); calls still open finish. Checked by the server's timeout sweep, so it fires up to a quarter
   * of the shortest timeout (at most a second) late. Default 300,000 ms; 0: never.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_GRPC_IDLE_TIMEOUT_MS = 300_000;

/** `limits` with defaults applied; `callsPerConnection` is the server's limit for every other protocol. */
export function grpcLimits(limits: GrpcLimits, callsPerConnection: number): Required<GrpcLimits> {
  return {
    maxConcurrentStreams: limits.maxConcurrentStreams ?? callsPerConnection,
    idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_GRPC_IDLE_TIMEOUT_MS,
  };
}
