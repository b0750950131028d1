/**
 * A closed-loop load generator in the manner of brpc's rpc_press: `concurrency` callers each keep one call
 * outstanding for `durationMs`, and every latency is recorded for exact percentiles. Used by `rpcx-ts bench` and by
 * `npm run bench` for every stack it compares, so all of them are measured the same way.
 */
export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Called about every 100 ms with the progress so far (0..1) and calls completed. */
  onProgress?: (fraction: number, calls: number, errors: number) => void;
  /** Stop early. */
  signal?: AbortSignal;
}

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The first error seen, for diagnosis. */
  firstError?: unknown;
}

/** Latencies in ms, in a growable typed array (8 bytes a call, no per-call object). */
export class Samples {
  #data = new Float64Array(1 << 16);
  length = 0;
  add(value: number): void {
    if (this.length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = value;
  }
  percentile(p: number): number {
    if (this.length === 0) return 0;
    const sorted = this.#data.subarray(0, this.length).sort();
    return sorted[Math.min(this.length - 1, Math.floor((p / 100) * this.length))]!;
  }
}

export async function runLoad(call: (worker: number) => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  const samples = new Samples();
  let calls = 0;
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  const end = started + options.durationMs;
  let progressTimer: ReturnType<typeof setInterval> | undefined;
  if (options.onProgress) {
    progressTimer = setInterval(() => options.onProgress!(Math.min(1, (performance.now() - started) / options.durationMs), calls, errors), 100);
  }
  const worker = async (id: number): Promise<void> => {
    while (performance.now() < end && !options.signal?.aborted) {
      const t0 = performance.now();
      try {
        await call(id);
        calls++;
        samples.add(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= error;
        // A failing target must not spin the loop at full speed.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  if (progressTimer) clearInterval(progressTimer);
  options.onProgress?.(1, calls, errors);
  const seconds = (performance.now() - started) / 1000;
  return {
    calls,
    errors,
    seconds,
    callsPerSecond: calls / seconds,
    p50Ms: samples.percentile(50),
    p99Ms: samples.percentile(99),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** The line `rpcx-ts bench` ends with. */
export function formatResult(result: LoadResult): string {
  return `calls=${result.calls} errors=${result.errors} calls/s=${Math.round(result.callsPerSecond)} p50_ms=${result.p50Ms.toFixed(3)} p99_ms=${result.p99Ms.toFixed(3)}`;
}

/** A one-line progress bar for terminals. */
export function progressBar(fraction: number, calls: number, errors: number, width = 30): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% calls=${calls} errors=${errors}`;
}
