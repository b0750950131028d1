/**
 * `rpcx-ts bench <network@addr> <Service.Method>`: rpc_press for rpcx. A progress bar on a terminal, then a last line
 * `calls=<n> errors=<n> calls/s=<n> p50_ms=<x> p99_ms=<x>`.
 */
import { ConfigError, SerializeType } from '../../index.js';
import { xclientFlags, xclientFor } from '../discovery-options.js';
import { formatResult, progressBar, runLoad } from '../../bench/load.js';
import { networkFlags } from '../network-options.js';
import { numberOption, parse, serializeOption, serviceMethod } from '../options.js';

export const usage = `rpcx-ts bench <network@addr[,...] | etcd://... | redis://... | zk://... | mdns:// | dns://... | dns+srv://...> <Service.Method> [--concurrency 100] [--duration 10] [--payload 1024] [--serialize raw] [--args '<json>'] [--timeout ms] [--tls-ca FILE | --insecure] [--kcp-key PASSWORD] [--fail mode] [--select mode]`;

export async function bench(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    payload: { type: 'string' },
    serialize: { type: 'string' },
    args: { type: 'string' },
    timeout: { type: 'string' },
    ...networkFlags,
    ...xclientFlags,
  });
  const [endpoint, target] = positionals;
  if (!endpoint || !target) throw new ConfigError(`usage: ${usage}`);
  const { service, method } = serviceMethod(target);
  const concurrency = Math.max(1, Math.floor(numberOption(values.concurrency, 100, 'concurrency')));
  const durationMs = numberOption(values.duration, 10, 'duration') * 1000;
  const payloadSize = Math.floor(numberOption(values.payload, 1024, 'payload'));
  const serializeType = serializeOption(values.serialize, 'raw');
  const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');
  const args = benchArgs(serializeType, payloadSize, values.args);
  const { xclient, discovery } = await xclientFor(endpoint, service, values);
  const tty = process.stderr.isTTY === true;
  try {
    const result = await runLoad(() => xclient.call(method, args, { serializeType, timeoutMs, raw: true }), {
      concurrency,
      durationMs,
      ...(tty ? { onProgress: (f: number, c: number, e: number) => process.stderr.write('\r' + progressBar(f, c, e)) } : {}),
    });
    if (tty) process.stderr.write('\n');
    if (result.firstError) process.stderr.write(`first error: ${(result.firstError as Error).message}\n`);
    for (const [server, stats] of [...xclient.serverStats()].sort(([a], [b]) => a.localeCompare(b))) {
      process.stdout.write(`server ${server} calls=${stats.calls}\n`);
    }
    process.stdout.write(formatResult(result) + '\n');
    return result.errors > 0 && result.calls === 0 ? 1 : 0;
  } finally {
    await xclient.close();
    await discovery.close();
  }
}

function benchArgs(serializeType: number, size: number, json: unknown): unknown {
  if (typeof json === 'string') {
    const value = JSON.parse(json) as unknown;
    return serializeType === SerializeType.None ? new TextEncoder().encode(json) : value;
  }
  if (serializeType === SerializeType.None) return new Uint8Array(size).fill(0x78);
  return 'x'.repeat(size);
}
