/**
 * `rpcx-ts replay <file> <endpoint>`: rpc_replay for rpcx. Sends the calls a server recorded (ServerOptions.record)
 * to another (or the same) server, in their recorded order, as fast as `--concurrency` allows or started at `--rate`
 * calls per second (latency then counted from each intended start, as bench's open loop), and ends with bench's line
 * `calls=<n> errors=<n> calls/s=<n> p50_ms=<x> p99_ms=<x>`.
 *
 * Each call keeps its service, method, serialize type, compress type and metadata; the payload is decoded with its
 * codec and encoded again by the client (raw bytes and protobuf go out unchanged). Recordings hold no auth token:
 * give one with `--auth`.
 */
import { Client, ConfigError, getCodec, MetaKey, silentLogger, type Metadata } from '../../index.js';
import { formatResult, Recorder, type LoadResult } from '../../bench/load.js';
import { decompress } from '../../protocol/compression.js';
import { readRecords } from '../../server/observability/call-record.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { clientNetworkFlags, clientOptionsFor } from '../network-options.js';
import { numberOption } from '../options.js';

interface PreparedCall {
  service: string;
  method: string;
  args: unknown;
  serializeType: number;
  compressType: number;
  oneway: boolean;
  metadata: Metadata | undefined;
}

export const replay: Command = {
  name: 'replay',
  summary: 'Sends the calls a server recorded (ServerOptions.record) to a server again, and prints bench\'s stats line.',
  args: '<file> <network@addr>',
  positionals: { min: 2, max: 2 },
  flags: {
    concurrency: { type: 'string', value: 'N', help: 'calls outstanding at once (default 10)' },
    rate: { type: 'string', value: 'N', help: 'start N calls a second, latency from each intended start (default: as fast as --concurrency allows)' },
    timeout: { type: 'string', value: 'ms', help: 'deadline of each call (default 10000; 0 = none)' },
    auth: { type: 'string', value: 'TOKEN', help: 'auth token for every call (recordings hold none)' },
    ...clientNetworkFlags,
  },
  details: 'The file is JSON lines, one call a line, as the server writes them; rotated files (calls.rec.1, ...) are replayed one by one.',

  async run({ values, positionals }) {
    const [file, endpoint] = positionals as [string, string];
    const concurrency = numberOption(values.concurrency, 10, 'concurrency', { integer: true, min: 1 });
    const rate = values.rate === undefined ? 0 : numberOption(values.rate, 0, 'rate', { min: 0.001 });
    const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');
    const clientOptions = clientOptionsFor(endpoint, values);
    if (values.auth === '') throw new ConfigError('--auth takes a non-empty token');
    const calls = await prepare(file);
    const client = await Client.connect(endpoint, {
      ...clientOptions,
      logger: silentLogger,
      ...(typeof values.auth === 'string' ? { auth: values.auth } : {}),
    });
    try {
      const result = await send(client, calls, { concurrency, rate, timeoutMs });
      if (result.firstError) process.stderr.write(`first error: ${(result.firstError as Error).message}\n`);
      process.stdout.write(formatResult(result) + '\n');
      return result.calls === 0 ? ExitCode.Unreachable : ExitCode.Ok;
    } finally {
      await client.close();
    }
  },
};

/** Reads and decodes every record first, so the run measures calls only. */
async function prepare(file: string): Promise<PreparedCall[]> {
  const calls: PreparedCall[] = [];
  for await (const record of readRecords(file)) {
    const bytes = decompress(record.compressType ?? 0, Buffer.from(record.payload, 'base64'));
    const metadata = { ...record.metadata };
    delete metadata[MetaKey.ServerTimeout]; // each call carries its own deadline (--timeout)
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
  return calls;
}

/** Sends every call once: at most `concurrency` outstanding, started no faster than `rate` a second when rate > 0. */
async function send(client: Client, calls: PreparedCall[], options: { concurrency: number; rate: number; timeoutMs: number }): Promise<LoadResult> {
  const recorder = new Recorder({ concurrency: options.concurrency, durationMs: 1 });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls.length) {
      const index = next++;
      const call = calls[index]!;
      let started = performance.now();
      if (options.rate > 0) {
        const due = recorder.started + (index * 1000) / options.rate;
        if (due > started) await new Promise((resolve) => setTimeout(resolve, due - started));
        started = due;
      }
      const callOptions = {
        serializeType: call.serializeType,
        compressType: call.compressType,
        timeoutMs: options.timeoutMs,
        raw: true,
        ...(call.metadata ? { metadata: call.metadata } : {}),
      };
      try {
        if (call.oneway) await client.send(call.service, call.method, call.args, callOptions);
        else await client.call(call.service, call.method, call.args, callOptions);
        recorder.ok(performance.now() - started);
      } catch (error) {
        recorder.failed(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, calls.length) }, worker));
  return recorder.finish();
}
