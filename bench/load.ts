/**
 * Load generators, used by `rpcx-ts bench` and by `npm run bench` so that every stack is measured the same way.
 *
 * - `runLoad`, closed loop in the manner of brpc's rpc_press: `concurrency` callers each keep one call outstanding for
 *   `durationMs`. Measures throughput; its latencies are those of a server that is never made to queue.
 * - `runOpenLoad`, open loop in the manner of wrk2 and ghz: calls are started at a fixed rate whatever the answers do,
 *   and each latency is measured from the time the call was *meant* to start. A server that stalls is charged for
 *   every call that should have been sent meanwhile, so the percentiles show the stall (no coordinated omission).
 *
 * Every latency is recorded (8 bytes each) for exact percentiles.
 */
export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Called about every `progressIntervalMs` (default 100) with the progress so far (0..1) and the counts. */
  onProgress?: (fraction: number, calls: number, errors: number) => void;
  progressIntervalMs?: number;
  /** Stop early. */
  signal?: AbortSignal;
}

export interface OpenLoadOptions extends Omit<LoadOptions, 'concurrency'> {
  /** Calls started per second. */
  ratePerSecond: number;
  /** Most calls outstanding at once (default 10 000); a call due while at the cap waits, and that wait counts. */
  maxOutstanding?: number;
}

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Latency percentiles in ms: p50, p90, p99, p99.9 and the maximum. */
  latency: LatencySummary;
  /** The first error seen, for diagnosis. */
  firstError?: unknown;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
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
  summary(): LatencySummary {
    if (this.length === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    const sorted = this.#data.subarray(0, this.length).sort();
    const at = (p: number): number => sorted[Math.min(this.length - 1, Math.floor((p / 100) * this.length))]!;
    return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: sorted[this.length - 1]! };
  }
}

/** Counts, samples and the progress timer that both generators share. */
export class Recorder {
  readonly samples = new Samples();
  calls = 0;
  errors = 0;
  firstError: unknown;
  readonly started = performance.now();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  readonly #options: LoadOptions | OpenLoadOptions;

  constructor(options: LoadOptions | OpenLoadOptions) {
    this.#options = options;
    if (options.onProgress) {
      this.#timer = setInterval(
        () => options.onProgress!(Math.min(1, (performance.now() - this.started) / options.durationMs), this.calls, this.errors),
        options.progressIntervalMs ?? 100,
      );
    }
  }

  ok(latencyMs: number): void {
    this.calls++;
    this.samples.add(latencyMs);
  }

  failed(error: unknown): void {
    this.errors++;
    this.firstError ??= error;
  }

  finish(): LoadResult {
    if (this.#timer) clearInterval(this.#timer);
    this.#options.onProgress?.(1, this.calls, this.errors);
    const seconds = (performance.now() - this.started) / 1000;
    const latency = this.samples.summary();
    return {
      calls: this.calls,
      errors: this.errors,
      seconds,
      callsPerSecond: this.calls / seconds,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      latency,
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
    };
  }
}

export async function runLoad(call: (worker: number) => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  const recorder = new Recorder(options);
  const end = recorder.started + options.durationMs;
  const worker = async (id: number): Promise<void> => {
    while (performance.now() < end && !options.signal?.aborted) {
      const t0 = performance.now();
      try {
        await call(id);
        recorder.ok(performance.now() - t0);
      } catch (error) {
        recorder.failed(error);
        // A failing target must not spin the loop at full speed.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  return recorder.finish();
}

/**
 * Starts call i at `start + i / rate` (timers fire late: every call already due is started on each tick) and records
 * its latency from that intended time.
 */
export async function runOpenLoad(call: () => Promise<unknown>, options: OpenLoadOptions): Promise<LoadResult> {
  const recorder = new Recorder(options);
  const intervalMs = 1000 / options.ratePerSecond;
  const maxOutstanding = options.maxOutstanding ?? 10_000;
  const end = recorder.started + options.durationMs;
  let outstanding = 0;
  let next = 0;
  let wake: (() => void) | undefined;
  const settle = (): void => {
    outstanding--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const start = (intended: number): void => {
    outstanding++;
    void call().then(
      () => {
        recorder.ok(performance.now() - intended);
        settle();
      },
      (error: unknown) => {
        recorder.failed(error);
        settle();
      },
    );
  };
  while (!options.signal?.aborted) {
    const intended = recorder.started + next * intervalMs;
    if (intended >= end) break;
    const now = performance.now();
    if (intended > now) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, intended - now)));
      continue;
    }
    if (outstanding >= maxOutstanding) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    start(intended);
    next++;
  }
  // Let the calls in flight finish: their latencies belong to the run.
  while (outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  return recorder.finish();
}

/** The line `rpcx-ts bench` ends with. */
export function formatResult(result: LoadResult): string {
  return `calls=${result.calls} errors=${result.errors} calls/s=${Math.round(result.callsPerSecond)} p50_ms=${result.p50Ms.toFixed(3)} p99_ms=${result.p99Ms.toFixed(3)}`;
}

/** The latency percentiles as a small bar chart, one line each, bars relative to the maximum. */
export function formatHistogram(latency: LatencySummary, width = 40): string {
  const rows: Array<[string, number]> = [
    ['p50', latency.p50],
    ['p90', latency.p90],
    ['p99', latency.p99],
    ['p99.9', latency.p999],
    ['max', latency.max],
  ];
  const top = latency.max || 1;
  const digits = Math.max(...rows.map(([, v]) => v.toFixed(3).length));
  const lines = rows.map(([name, value]) => `  ${name.padEnd(5)} ${value.toFixed(3).padStart(digits)} ms  ${'#'.repeat(Math.max(value > 0 ? 1 : 0, Math.round((value / top) * width)))}`);
  return ['latency:', ...lines].join('\n');
}

/** A one-line progress bar for terminals. */
export function progressBar(fraction: number, calls: number, errors: number, width = 30): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% calls=${calls} errors=${errors}`;
}

/** A progress line for logs and pipes (printed once a second when stderr is not a terminal). */
export function progressLine(elapsedSeconds: number, calls: number, errors: number, lastSecondCalls: number): string {
  return `progress ${elapsedSeconds.toFixed(0)}s calls=${calls} errors=${errors} calls/s=${lastSecondCalls}`;
}
