/** `rpcx-ts call <network@addr> <Service.Method> '<json>'`: one call, the reply printed as JSON. */
import { ConfigError, SerializeType } from '../../index.js';
import { xclientFlags, xclientFor } from '../discovery-options.js';
import { networkFlags } from '../network-options.js';
import { metaOption, numberOption, parse, serializeOption, serviceMethod } from '../options.js';

export const usage = `rpcx-ts call <network@addr[,network@addr...] | etcd://host:port/base | redis://host:port/base | zk://host:port/base | mdns:// | dns://server/name?port=N | dns+srv://server/name> <Service.Method> '<json>' [--serialize json|msgpack|raw] [--meta k=v]... [--timeout ms] [--tls-ca FILE | --insecure] [--kcp-key PASSWORD] [--fail failfast|failover|failtry|failbackup] [--select random|roundrobin|weighted|latency|hash|closest|p2c]`;

export async function call(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    serialize: { type: 'string' },
    meta: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    ...networkFlags,
    ...xclientFlags,
  });
  const [endpoint, target, argsText] = positionals;
  if (!endpoint || !target) throw new ConfigError(`usage: ${usage}`);
  const { service, method } = serviceMethod(target);
  const serializeType = serializeOption(values.serialize, 'json');
  const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');
  const metadata = metaOption(values.meta);
  let args: unknown;
  if (serializeType === SerializeType.None) args = new TextEncoder().encode(argsText ?? '');
  else {
    try {
      args = argsText === undefined || argsText === '' ? null : JSON.parse(argsText);
    } catch {
      throw new ConfigError(`the arguments must be JSON: ${argsText}`);
    }
  }
  const { xclient, discovery } = await xclientFor(endpoint, service, values, { connectTimeoutMs: Math.min(timeoutMs || 10_000, 10_000) });
  try {
    const reply = await xclient.call(method, args, { serializeType, timeoutMs, ...(metadata ? { metadata } : {}) });
    process.stdout.write(JSON.stringify(toJson(reply)) + '\n');
    return 0;
  } finally {
    await xclient.close();
    await discovery.close();
  }
}

/** Bytes print as their UTF-8 text, which is what raw replies almost always are. */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return value;
}
