/**
 * Every bound a server or client puts on what a peer can make it hold or wait for, in one place with its default.
 * `new Server({ limits: { ... } })` and `Client.connect(..., { limits: { ... } })` take any subset; the README's
 * "Limits and timeouts" section says what a peer sees when each one is hit. Sizes are bytes, times milliseconds.
 */
export interface Limits {
  /** Largest frame, header included. A bigger one closes the connection (FrameTooLargeError). Default 64 MiB. */
  maxFrameLength: number;
  /** Bytes one connection may hold for a frame not yet complete. Past it the connection closes. Default 64 MiB. */
  maxUnfinishedBytesPerConnection: number;
  /** Server: bytes all connections together may hold for unfinished frames. Past it the connection that asked for
   *  more closes. Default 256 MiB. */
  maxUnfinishedBytes: number;
  /** Outbound bytes queued on a connection past which it is no longer read until they drain (backpressure).
   *  Default 1 MiB. */
  maxQueuedOutboundBytes: number;
  /** Server: open connections (all listeners). Further ones are closed at accept. Default 10,000. */
  maxConnections: number;
  /** Server: open connections per listener. Default 10,000. */
  maxConnectionsPerListener: number;
  /** Server: calls running at once on one connection; at the limit the connection is not read until one finishes.
   *  Default 1,024. */
  maxConcurrentCallsPerConnection: number;
  /** Server: rpcx-ts typed message streams open at once on one connection; one more is refused with an error reply
   *  ("rpcx: too many open streams on this connection (limit N)"). Default 256. */
  maxStreamsPerConnection: number;
  /** Server: entries in one JSON-RPC 2.0 batch. A longer batch is answered with one error. Default 1,000. */
  maxBatchLength: number;
  /** Largest payload after decompression. Default 64 MiB. */
  maxInflatedLength: number;
  /** Largest inflated/compressed ratio, checked as the payload inflates once past 1 MiB of output (a bomb stops
   *  there, not at maxInflatedLength). Default 200. */
  maxInflateRatio: number;
  /** A frame whose first byte arrived must be complete within this; else the connection closes. Default 30 s. */
  frameTimeoutMs: number;
  /** A connection with no frame (heartbeats count) for this long is closed; 0 = never (rpcx's ReadTimeout).
   *  Default 0. */
  idleTimeoutMs: number;
  /** Server, HTTP on a shared port: the request head must arrive within this from the connection's first byte (or
   *  from the end of the previous request). Also bounds how long a new connection may stay silent. Default 30 s. */
  httpHeadersTimeoutMs: number;
  /** Server, HTTP: the whole request (head and body) must arrive within this. Default 30 s. */
  httpRequestTimeoutMs: number;
  /** Server, HTTP: an idle keep-alive connection is closed after this. Default 5 s. */
  httpKeepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameLength: 64 * 1024 * 1024,
  maxUnfinishedBytesPerConnection: 64 * 1024 * 1024,
  maxUnfinishedBytes: 256 * 1024 * 1024,
  maxQueuedOutboundBytes: 1024 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerListener: 10_000,
  maxConcurrentCallsPerConnection: 1024,
  maxStreamsPerConnection: 256,
  maxBatchLength: 1000,
  maxInflatedLength: 64 * 1024 * 1024,
  maxInflateRatio: 200,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 0,
  httpHeadersTimeoutMs: 30_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
});

/** The defaults, overridden by `given`; `legacy` carries older top-level options (maxFrameLength ...). */
export function resolveLimits(given: Partial<Limits> | undefined, legacy: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const source of [legacy, given ?? {}]) {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      if (!(key in DEFAULT_LIMITS)) continue;
      if (typeof value !== 'number' || !(value >= 0)) throw new TypeError(`rpcx: limits.${key} must be a number >= 0`);
      out[key as keyof Limits] = value;
    }
  }
  return out;
}
