/**
 * `rpcx-ts bench <endpoint> <Service.Method>`: rpc_press for rpcx. Warms up, checks that one call works (exit 3 when
 * no server answers, 4 when the method refuses the argument), then measures: closed loop with `--concurrency`
 * callers, or open loop at `--rate` calls/s. Progress goes to stderr (a bar on a terminal, a line a second
 * otherwise); stdout gets one line per server, the latency histogram and the last line
 * `calls=<n> errors=<n> calls/s=<n> p50_ms=<x> p99_ms=<x>`.
 */
import { ConfigError, NoServerError, SerializeType, ServiceError, type XClient } from '../../index.js';
import { formatHistogram, formatResult, progressBar, progressLine, runLoad, runOpenLoad, type LoadResult } from '../../bench/load.js';
import { callFlags, callSettings } from '../call-flags.js';
import type { Command } from '../command.js';
import { endpointHelp, xclientFlags, xclientFor } from '../discovery-options.js';
import { ExitCode } from '../exit-codes.js';
import { clientNetworkFlags } from '../network-options.js';
import { jsonOption, numberOption, serializeOption, serviceMethod } from '../options.js';

export const bench: Command = {
  name: 'bench',
  summary: 'Load-tests one method and prints throughput and a latency histogram.',
  args: '<endpoint> <Service.Method>',
  positionals: { min: 2, max: 2 },
  flags: {
    concurrency: { type: 'string', value: 'N', help: 'calls outstanding at once (closed loop; the cap on outstanding calls with --rate) (default 100)' },
    duration: { type: 'string', value: 's', help: 'seconds to measure (default 10)' },
    warmup: { type: 'string', value: 's', help: 'seconds of load before measuring, not counted (default 1)' },
    rate: { type: 'string', value: 'N', help: 'open loop: start N calls a second, latency from each intended start' },
    payload: { type: 'string', value: 'BYTES', help: 'size of the raw payload when no --args is given (default 1024)' },
    args: { type: 'string', value: 'JSON', help: 'the argument of every call (sent as json, or --serialize msgpack)' },
    ...callFlags,
    ...clientNetworkFlags,
    ...xclientFlags,
  },
  details: `${endpointHelp}
Serialization follows the method's argument: without --args the payload is --payload raw bytes (for methods taking
bytes, such as Echo.Echo); with --args the JSON value is sent as json (or msgpack). One call is made first: if it cannot
reach a server bench exits 3, if the method answers an error (e.g. it needs --args) bench exits 4.`,

  async run({ values, positionals }) {
    const [endpoint, target] = positionals as [string, string];
    const { service, method } = serviceMethod(target);
    const concurrency = numberOption(values.concurrency, 100, 'concurrency', { integer: true, min: 1 });
    const durationMs = numberOption(values.duration, 10, 'duration') * 1000;
    if (durationMs <= 0) throw new ConfigError(`--duration takes a number of seconds > 0, got "${String(values.duration)}"`);
    const warmupMs = numberOption(values.warmup, 1, 'warmup') * 1000;
    const rate = values.rate === undefined ? undefined : numberOption(values.rate, 0, 'rate', { min: 1 });
    const payloadSize = numberOption(values.payload, 1024, 'payload', { integer: true });
    const hasArgs = typeof values.args === 'string';
    if (hasArgs && values.payload !== undefined) throw new ConfigError('--payload and --args exclude each other (--payload is for raw methods)');
    const serializeType = serializeOption(values.serialize, hasArgs ? 'json' : 'raw');
    if (!hasArgs && serializeType !== SerializeType.None) throw new ConfigError(`--serialize ${String(values.serialize)} needs --args (the argument to encode)`);
    const settings = callSettings(values, 10_000);
    const args = hasArgs ? benchArgs(serializeType, values.args as string) : new Uint8Array(payloadSize).fill(0x78);
    const { xclient, discovery } = await xclientFor(endpoint, service, values, settings.auth ? { auth: settings.auth } : {});
    const callOptions = {
      serializeType,
      timeoutMs: settings.timeoutMs,
      compressType: settings.compressType,
      raw: true,
      ...(settings.metadata ? { metadata: settings.metadata } : {}),
    };
    const once = (): Promise<unknown> => xclient.call(method, args, callOptions);
    try {
      await probe(once, target, hasArgs);
      if (warmupMs > 0) await measure(once, { concurrency, durationMs: warmupMs, rate, quiet: true });
      const before = xclient.serverStats();
      const result = await measure(once, { concurrency, durationMs, rate, quiet: false });
      if (result.firstError) process.stderr.write(`first error: ${(result.firstError as Error).message}\n`);
      printServers(xclient, before);
      process.stdout.write(formatHistogram(result.latency) + '\n');
      process.stdout.write(formatResult(result) + '\n');
      return result.calls === 0 ? ExitCode.Unreachable : ExitCode.Ok;
    } finally {
      await xclient.close();
      await discovery.close();
    }
  },
};

/** One call before any load: a target that cannot be called at all ends the bench at once with the right code. */
async function probe(once: () => Promise<unknown>, target: string, hasArgs: boolean): Promise<void> {
  try {
    await once();
  } catch (error) {
    if (error instanceof ServiceError && !hasArgs) {
      throw new ServiceError(`${target} refused a raw payload (${error.message}); give its argument with --args '<json>'`, error.code);
    }
    throw error;
  }
}

interface MeasureOptions {
  concurrency: number;
  durationMs: number;
  rate: number | undefined;
  quiet: boolean;
}

async function measure(once: () => Promise<unknown>, options: MeasureOptions): Promise<LoadResult> {
  const tty = process.stderr.isTTY === true;
  let lastCalls = 0;
  let ticks = 0;
  const onProgress = options.quiet
    ? undefined
    : tty
      ? (f: number, c: number, e: number): void => void process.stderr.write('\r' + progressBar(f, c, e))
      : (f: number, c: number, e: number): void => {
          if (f >= 1) return;
          process.stderr.write(progressLine(++ticks, c, e, c - lastCalls) + '\n');
          lastCalls = c;
        };
  // Every server gone mid-run: stop instead of counting errors until the end.
  const stop = new AbortController();
  let okCalls = 0;
  let failedCalls = 0;
  let idleSince = performance.now();
  const counted = (): Promise<unknown> =>
    once().then(
      (value) => {
        okCalls++;
        idleSince = performance.now();
        return value;
      },
      (error: unknown) => {
        failedCalls++;
        throw error;
      },
    );
  const watchdog = setInterval(() => {
    if (failedCalls > 0 && performance.now() - idleSince > NO_SUCCESS_STOP_MS) stop.abort();
  }, 250);
  const common = {
    durationMs: options.durationMs,
    signal: stop.signal,
    ...(onProgress ? { onProgress, progressIntervalMs: tty ? 100 : 1000 } : {}),
  };
  try {
    const result =
      options.rate !== undefined
        ? await runOpenLoad(counted, { ...common, ratePerSecond: options.rate, maxOutstanding: options.concurrency })
        : await runLoad(counted, { ...common, concurrency: options.concurrency });
    if (onProgress && tty) process.stderr.write('\n');
    if (stop.signal.aborted) {
      process.stderr.write(`stopped early: no call succeeded for ${NO_SUCCESS_STOP_MS / 1000} s (${okCalls} succeeded before)\n`);
      const last = result.firstError as Error | undefined;
      if (last instanceof ServiceError) throw last;
      throw new NoServerError(`rpcx: no call succeeded for ${NO_SUCCESS_STOP_MS / 1000} s${last ? `: ${last.message}` : ''}`);
    }
    return result;
  } finally {
    clearInterval(watchdog);
  }
}

/** How long a bench keeps going while every call fails. */
const NO_SUCCESS_STOP_MS = 3000;

/** `server <key> calls=<n>` for the measured run only (warm-up and probe excluded). */
function printServers(xclient: XClient, before: Map<string, { calls: number }>): void {
  for (const [server, stats] of [...xclient.serverStats()].sort(([a], [b]) => a.localeCompare(b))) {
    process.stdout.write(`server ${server} calls=${stats.calls - (before.get(server)?.calls ?? 0)}\n`);
  }
}

function benchArgs(serializeType: number, json: string): unknown {
  const value = jsonOption(json, '--args');
  return serializeType === SerializeType.None ? new TextEncoder().encode(json) : value;
}
