/**
 * `rpcx-ts replay <file> <network@addr>`: rpc_replay for rpcx. Sends the calls a server recorded (ServerOptions.record)
 * to another (or the same) server, in their recorded order, as fast as `--concurrency` allows or paced at `--rate`
 * calls per second, and ends with the same line as `bench`: `calls=<n> errors=<n> calls/s=<n> p50_ms=<x> p99_ms=<x>`.
 *
 * Each call keeps its service, method, serialize type, compress type and metadata; the payload is decoded with its
 * codec and encoded again by the client (for raw bytes and protobuf the bytes go out unchanged). Recorded auth
 * tokens are never stored: give one with `--auth`.
 */
import { getCodec, Client, ConfigError, MetaKey, silentLogger, type Metadata } from '../../index.js';
import { formatResult, Samples, type LoadResult } from '../../bench/load.js';
import { decompress } from '../../protocol/compression.js';
import { readRecords } from '../../server/observability/call-record.js';
import { clientOptionsFor, networkFlags } from '../network-options.js';
import { numberOption, parse } from '../options.js';

export const usage = `rpcx-ts replay <file> <network@addr> [--rate calls/s] [--concurrency 10] [--timeout ms] [--auth TOKEN] [--tls-ca FILE | --insecure] [--kcp-key PASSWORD]`;

interface PreparedCall {
  service: string;
  method: string;
  args: unknown;
  serializeType: number;
  compressType: number;
  oneway: boolean;
  metadata: Metadata | undefined;
}

export async function replay(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    rate: { type: 'string' },
    concurrency: { type: 'string' },
    timeout: { type: 'string' },
    auth: { type: 'string' },
    ...networkFlags,
  });
  const [file, endpoint] = positionals;
  if (!file || !endpoint) throw new ConfigError(`usage: ${usage}`);
  const rate = numberOption(values.rate, 0, 'rate');
  const concurrency = Math.max(1, Math.floor(numberOption(values.concurrency, 10, 'concurrency')));
  const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');

  // Decode everything first, so the run measures calls only.
  const calls: PreparedCall[] = [];
  for await (const record of readRecords(file)) {
    const bytes = decompress(record.compressType ?? 0, Buffer.from(record.payload, 'base64'));
    const metadata = { ...record.metadata };
    delete metadata[MetaKey.ServerTimeout]; // the client sends its own deadline (--timeout)
    calls.push({
      service: record.service,
      method: record.method,
      args: getCodec(record.serializeType).decode(bytes),
      serializeType: record.serializeType,
      compressType: record.compressType ?? 0,
      oneway: record.oneway === true,
      metadata: Object.keys(metadata).length > 0 ? metadata : undefined,
    });
  }
  if (calls.length === 0) throw new ConfigError(`${file} holds no call records`);

  const client = await Client.connect(endpoint, {
    ...clientOptionsFor(endpoint, values),
    logger: silentLogger,
    ...(typeof values.auth === 'string' ? { auth: values.auth } : {}),
  });
  try {
    const result = await run(client, calls, { concurrency, rate, timeoutMs });
    if (result.firstError) process.stderr.write(`first error: ${(result.firstError as Error).message}\n`);
    process.stdout.write(formatResult(result) + '\n');
    return result.errors > 0 && result.calls === 0 ? 1 : 0;
  } finally {
    await client.close();
  }
}

/** Sends every call once: at most `concurrency` outstanding, and no faster than `rate` per second when rate > 0. */
async function run(client: Client, calls: PreparedCall[], options: { concurrency: number; rate: number; timeoutMs: number }): Promise<LoadResult> {
  const samples = new Samples();
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < calls.length) {
      const index = next++;
      const call = calls[index]!;
      if (options.rate > 0) {
        const due = started + (index * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const callOptions = {
        serializeType: call.serializeType,
        compressType: call.compressType,
        timeoutMs: options.timeoutMs,
        raw: true,
        ...(call.metadata ? { metadata: call.metadata } : {}),
      };
      const t0 = performance.now();
      try {
        if (call.oneway) await client.send(call.service, call.method, call.args, callOptions);
        else await client.call(call.service, call.method, call.args, callOptions);
        done++;
        samples.add(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, calls.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    calls: done,
    errors,
    seconds,
    callsPerSecond: done / seconds,
    p50Ms: samples.percentile(50),
    p99Ms: samples.percentile(99),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
