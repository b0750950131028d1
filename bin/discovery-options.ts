/**
 * The CLI's discovery argument: one `network@addr`, several joined by commas, or a registry URL
 * (`etcd://host:port/basePath`, `redis://host:port/basePath`), with `--fail` and `--select` for the XClient built on it.
 */
import {
  ConfigError,
  FailMode,
  MultipleServersDiscovery,
  SelectMode,
  XClient,
  type ClientOptions,
  type Discovery,
} from '../index.js';
import { createDiscovery, isRegistryUrl } from '../registry/url.js';
import { clientOptionsFor } from './network-options.js';

export const xclientFlags = {
  fail: { type: 'string' },
  select: { type: 'string' },
  retries: { type: 'string' },
} as const;

const failModes = Object.values(FailMode) as string[];
const selectModes = Object.values(SelectMode) as string[];

export async function discoveryFor(spec: string, service: string): Promise<Discovery> {
  if (isRegistryUrl(spec)) return createDiscovery(spec, service);
  const endpoints = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new ConfigError('rpcx: no server given');
  return new MultipleServersDiscovery(endpoints);
}

/** Builds an XClient for `service` over the discovery; the caller closes both. */
export async function xclientFor(
  spec: string,
  service: string,
  values: Record<string, unknown>,
  extra: ClientOptions = {},
): Promise<{ xclient: XClient; discovery: Discovery }> {
  const fail = typeof values.fail === 'string' ? values.fail : 'failover';
  const select = typeof values.select === 'string' ? values.select : 'roundrobin';
  if (!failModes.includes(fail)) throw new ConfigError(`--fail takes ${failModes.join('|')}, got "${fail}"`);
  if (!selectModes.includes(select)) throw new ConfigError(`--select takes ${selectModes.join('|')}, got "${select}"`);
  const discovery = await discoveryFor(spec, service);
  // TLS and KCP settings follow the first server's network; servers of one service normally share one.
  const first = discovery.list()[0]?.key ?? (isRegistryUrl(spec) ? 'tcp@x:0' : spec.split(',')[0]!);
  const xclient = new XClient(service, fail as FailMode, select as SelectMode, discovery, {
    ...clientOptionsFor(first, values),
    ...extra,
    ...(values.retries !== undefined ? { retries: Number(values.retries) } : {}),
  });
  return { xclient, discovery };
}
