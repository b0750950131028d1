/**
 * Per-method call statistics, kept cheap enough to update on every call: a few counters and a fixed-bucket latency
 * histogram (an array index found by a short scan). Percentiles are estimated from the buckets when a page asks.
 * Also the optional ring of recent calls behind /rpcz.
 */

/** Upper bounds of the latency buckets, in milliseconds; one more bucket catches everything above the last. */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export class MethodStats {
  readonly service: string;
  readonly method: string;
  calls = 0;
  errors = 0;
  inFlight = 0;
  /** Calls finished (successfully or not) since the start. */
  completed = 0;
  /** Latencies recorded in the histogram (equals `completed` once the current microtask checkpoint is over). */
  timed = 0;
  sumMs = 0;
  maxMs = 0;
  /** One count per bucket of LATENCY_BOUNDS_MS, plus the overflow bucket. */
  readonly buckets = new Float64Array(LATENCY_BOUNDS_MS.length + 1);

  constructor(service: string, method: string) {
    this.service = service;
    this.method = method;
  }

  started(): void {
    this.calls++;
    this.inFlight++;
  }

  /** A call ended; its latency comes separately through observe(). */
  ended(failed: boolean): void {
    this.inFlight--;
    this.completed++;
    if (failed) this.errors++;
  }

  /** Adds one latency to the histogram. */
  observe(durationMs: number): void {
    this.timed++;
    this.sumMs += durationMs;
    if (durationMs > this.maxMs) this.maxMs = durationMs;
    const bounds = LATENCY_BOUNDS_MS;
    let i = 0;
    while (i < bounds.length && durationMs > bounds[i]!) i++;
    this.buckets[i]!++;
  }

  /** A call refused before its handler ran (bad arguments): counted as a call and an error, with no latency. */
  refused(): void {
    this.calls++;
    this.errors++;
  }

  /** Estimated latency at quantile q (0..1) in ms, interpolated inside the bucket; 0 with no data. */
  quantile(q: number): number {
    return histogramQuantile(this.buckets, this.timed, this.maxMs, q);
  }

  toJSON(): MethodStatsJSON {
    return {
      name: this.method,
      calls: this.calls,
      errors: this.errors,
      inFlight: this.inFlight,
      latencyMs: {
        mean: this.timed > 0 ? round(this.sumMs / this.timed) : 0,
        p50: round(this.quantile(0.5)),
        p99: round(this.quantile(0.99)),
        max: round(this.maxMs),
      },
      histogram: Array.from(this.buckets),
    };
  }
}

export interface MethodStatsJSON {
  name: string;
  calls: number;
  errors: number;
  inFlight: number;
  latencyMs: { mean: number; p50: number; p99: number; max: number };
  /** Counts per bucket of `latencyBoundsMs` (the last one is everything above the last bound). */
  histogram: number[];
}

/**
 * Latency at quantile q (0..1) of a histogram over LATENCY_BOUNDS_MS holding `total` calls, interpolated inside the
 * bucket; 0 with no data. Shared by one method's stats and the sum of several processes' histograms.
 */
export function histogramQuantile(buckets: ArrayLike<number>, total: number, maxMs: number, q: number): number {
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (count === 0) continue;
    if (seen + count >= rank) {
      const low = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const high = i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : Math.max(maxMs, low);
      const estimate = low + ((high - low) * (rank - seen)) / count;
      return Math.min(estimate, maxMs);
    }
    seen += count;
  }
  return maxMs;
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** One finished call, as /rpcz lists it. */
export interface RpczEntry {
  id: number;
  /** Start, milliseconds since the epoch. */
  startedAt: number;
  durationMs: number;
  service: string;
  method: string;
  protocol: string;
  network: string;
  remoteAddress: string;
  seq: number;
  status: 'ok' | 'error';
  error?: string;
  requestBytes: number;
  responseBytes?: number;
  traceId?: string;
  /** A typed message stream's kind, and the messages it sent and received. */
  stream?: string;
  messagesSent?: number;
  messagesReceived?: number;
}

/** A fixed-size ring of the most recent calls. */
export class Rpcz {
  readonly capacity: number;
  readonly #ring: Array<RpczEntry | undefined>;
  #next = 0;
  #id = 1;

  constructor(capacity = 1024) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.#ring = new Array<RpczEntry | undefined>(this.capacity);
  }

  record(entry: Omit<RpczEntry, 'id'>): void {
    this.#ring[this.#next] = { id: this.#id++, ...entry };
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Newest first. */
  list(limit = this.capacity, filter?: (entry: RpczEntry) => boolean): RpczEntry[] {
    const out: RpczEntry[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const entry = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (!entry) break;
      if (!filter || filter(entry)) out.push(entry);
    }
    return out;
  }
}
