/**
 * The CLI's discovery argument: one `network@addr`, several joined by commas (each may carry metadata as
 * `network@addr?weight=7`), or a registry URL (`etcd://`, `redis://`, `zk://`, `mdns://`, `dns://`, `dns+srv://`: see
 * registry/url.ts), with `--fail`, `--select` and `--retries` for the XClient built on it. Everything is checked before anything dials.
 */
import {
  ConfigError,
  FailMode,
  MultipleServersDiscovery,
  SelectMode,
  TimeoutError,
  XClient,
  type ClientOptions,
  type Discovery,
  type ServicePair,
} from '../index.js';
import { checkServerKey } from '../client/discovery/server-key.js';
import { createDiscovery, isRegistryUrl, namesStoreServers, parseRegistryUrl } from '../registry/url.js';
import type { Flags } from './command.js';
import { clientOptionsFor } from './network-options.js';
import { numberOption } from './options.js';

const failModes = Object.values(FailMode) as string[];
const selectModes = Object.values(SelectMode) as string[];

export const xclientFlags: Flags = {
  fail: { type: 'string', value: 'MODE', help: `what to do when a call fails: ${failModes.join('|')} (default failover)` },
  select: { type: 'string', value: 'MODE', help: `how to pick a server: ${selectModes.join('|')} (default roundrobin)` },
  retries: { type: 'string', value: 'N', help: 'extra attempts for failover and failtry (default 3)' },
};

export const endpointHelp = `<endpoint> is network@host:port (tcp, tls via --tls-ca/--insecure, unix@/path, http, ws, wss, quic, wt, kcp, reuseport),
several joined by commas (each may carry metadata: tcp@host:port?weight=7), or a registry URL:
etcd://host:port[,host:port]/basePath, redis://host:port/basePath, zk://host:port[,host:port]/basePath,
mdns://[?interface=IP], dns://[server:port]/name?port=N or dns+srv://[server:port]/name.`;

/** Checks a registry URL completely (scheme, hosts with ports); ConfigError naming `where` otherwise. */
export function checkRegistryUrl(url: string, where: string): void {
  let location: ReturnType<typeof parseRegistryUrl>;
  try {
    location = parseRegistryUrl(url);
  } catch (error) {
    throw new ConfigError(`${where}: ${(error as Error).message.replace(/^rpcx: /, '')}`);
  }
  // Store servers need their port; DNS servers default to 53 and mDNS names none.
  const storeHosts = namesStoreServers(location.kind) ? location.hosts : [];
  for (const host of storeHosts) {
    const port = /:(\d+)$/.exec(host.replace(/^\w+:\/\//, ''));
    if (!port || Number(port[1]) < 1 || Number(port[1]) > 65535) throw new ConfigError(`${where}: registry host "${host}" needs a port (in "${url}")`);
  }
}

/** The comma list as pairs, metadata split off at `?`; every key checked. */
export function parseServerList(spec: string): ServicePair[] {
  const entries = spec.split(',').map((s) => s.trim());
  if (entries.some((e) => e === '')) throw new ConfigError(`empty entry in the server list "${spec}"`);
  return entries.map((entry) => {
    const q = entry.indexOf('?');
    const key = q < 0 ? entry : entry.slice(0, q);
    const value = q < 0 ? '' : entry.slice(q + 1);
    if (value !== '' && !/^[^=&]+=[^&]*(&[^=&]+=[^&]*)*$/.test(value)) throw new ConfigError(`bad metadata in server "${entry}" (expected key=value&...)`);
    return { key: checkServerKey(key), value };
  });
}

/** Checks the discovery argument without connecting (for a fail-fast pass over every flag). */
export function checkDiscoverySpec(spec: string): void {
  if (isRegistryUrl(spec)) checkRegistryUrl(spec, 'registry');
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new ConfigError(`unknown registry "${spec}" (etcd://, redis://, zk://, mdns://, dns://, dns+srv://)`);
  else parseServerList(spec);
}

/** The discovery for `spec`; a registry that does not answer before `deadline` (ms since the epoch) is a timeout. */
export async function discoveryFor(spec: string, service: string, deadline = Infinity): Promise<Discovery> {
  checkDiscoverySpec(spec);
  if (!isRegistryUrl(spec)) return new MultipleServersDiscovery(parseServerList(spec));
  const created = createDiscovery(spec, service);
  if (deadline === Infinity) return created;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`rpcx: discovery of ${service} from ${spec} timed out after ${Math.max(0, Math.round(deadline - Date.now()))} ms`)), Math.max(0, deadline - Date.now()));
  });
  const started = Date.now();
  try {
    return await Promise.race([created, timeout]);
  } catch (error) {
    if (error instanceof TimeoutError) {
      void created.then((d) => d.close(), () => undefined);
      throw new TimeoutError(`rpcx: discovery of ${service} from ${spec} timed out after ${Date.now() - started} ms`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export interface XClientSettings {
  fail: FailMode;
  select: SelectMode;
  retries?: number;
}

/** Reads and checks --fail, --select and --retries. */
export function xclientSettings(values: Record<string, unknown>): XClientSettings {
  const fail = typeof values.fail === 'string' ? values.fail : 'failover';
  const select = typeof values.select === 'string' ? values.select : 'roundrobin';
  if (!failModes.includes(fail)) throw new ConfigError(`--fail takes ${failModes.join('|')}, got "${fail}"`);
  if (!selectModes.includes(select)) throw new ConfigError(`--select takes ${selectModes.join('|')}, got "${select}"`);
  const settings: XClientSettings = { fail: fail as FailMode, select: select as SelectMode };
  if (values.retries !== undefined) settings.retries = numberOption(values.retries, 3, 'retries', { integer: true });
  return settings;
}

/** Builds an XClient for `service` over the discovery; the caller closes both. */
export async function xclientFor(
  spec: string,
  service: string,
  values: Record<string, unknown>,
  extra: ClientOptions = {},
  deadline = Infinity,
): Promise<{ xclient: XClient; discovery: Discovery }> {
  const settings = xclientSettings(values);
  checkDiscoverySpec(spec);
  // TLS and KCP settings follow the first server's network; servers of one service normally share one.
  const first = isRegistryUrl(spec) ? 'tcp@x:1' : parseServerList(spec)[0]!.key;
  const clientOptions = clientOptionsFor(first, values);
  const discovery = await discoveryFor(spec, service, deadline);
  try {
    const xclient = new XClient(service, settings.fail, settings.select, discovery, {
      ...clientOptions,
      ...extra,
      ...(settings.retries !== undefined ? { retries: settings.retries } : {}),
    });
    return { xclient, discovery };
  } catch (error) {
    await discovery.close();
    throw error;
  }
}
