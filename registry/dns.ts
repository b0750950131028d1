/**
 * Discovery through plain DNS (node:dns, no store, no registrar: servers are published in DNS itself).
 *
 * - `a`: like rpcx's DNSDiscovery, the A and AAAA records of a name are the servers, all on one given port and
 *   network: `tcp@10.0.0.7:8972`, `tcp@[fd00::7]:8972`. The metadata is empty, as in rpcx.
 * - `srv`: the SRV records of `_rpcx._tcp.<name>` (a name that already starts with `_` is taken as it is), as a
 *   Kubernetes headless service publishes its pods. Each target brings its own port and its `weight=` (the record's
 *   weight, 0 read as 1) for the weighted selector; only the lowest priority is used (RFC 2782: higher ones are
 *   backups). A target's address is looked up (A, then AAAA) so that clients dial what DNS says now, and a TXT record
 *   on the target (one `key=value` per string, as DNS-SD does) adds to its metadata (`group=blue`, `state=inactive`, ...).
 *
 * The name is looked up again when the shortest TTL among the answers runs out, but never sooner than
 * `minRefreshMs` nor later than `maxRefreshMs` (a TTL of 0 would otherwise mean a busy loop). While DNS fails the
 * last good list is kept, and retried every `minRefreshMs`. A name that resolves to nothing (NXDOMAIN, no data) is an
 * answer, not a failure: it empties the list.
 */
import { Resolver } from 'node:dns/promises';
import type { Discovery, DiscoveryListener, ServicePair } from '../client/discovery/discovery.js';
import { ConfigError } from '../errors.js';
import { stderrLogger, type Logger } from '../logger.js';
import { RegistryError } from '../errors.js';
import { ServerSet } from './server-set.js';

export interface DnsDiscoveryOptions {
  /** The name to resolve: `rpcx.example.com` (for `srv`, `_rpcx._tcp.` is put in front of a bare name). */
  name: string;
  /** `a` for A/AAAA records on a given port, `srv` for SRV records. */
  mode: 'a' | 'srv';
  /** The port of every server (`a` only; SRV records carry their own). */
  port?: number;
  /** The rpcx network of the servers (default `tcp`). */
  network?: string;
  /** DNS servers to ask (`127.0.0.1:5353`, `[::1]:53`); none means the system's resolvers. */
  servers?: string[];
  /** Bounds on the re-resolve interval taken from the TTL (defaults 1000 and 60000 ms). */
  minRefreshMs?: number;
  maxRefreshMs?: number;
  /** ms one DNS query may take before it is tried again (default 2000, 2 tries). */
  queryTimeoutMs?: number;
  logger?: Logger;
}

/** The answer codes that mean "this name has no such records", not "DNS failed". */
const noRecords = new Set(['ENODATA', 'ENOTFOUND']);

interface Resolved {
  servers: Map<string, string>;
  /** Shortest TTL seen, in seconds (undefined when no answer carried one). */
  ttl: number | undefined;
}

export class DnsDiscovery implements Discovery {
  readonly #options: Required<Omit<DnsDiscoveryOptions, 'port' | 'logger' | 'servers'>> & { port: number; servers: string[] };
  readonly #resolver: Resolver;
  readonly #logger: Logger;
  readonly #set = new ServerSet();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Resolves once; rejects if that first lookup fails (a bad server, a timeout), so a typo is seen at once. */
  static async create(options: DnsDiscoveryOptions): Promise<DnsDiscovery> {
    const discovery = new DnsDiscovery(options);
    try {
      discovery.#schedule(await discovery.#refresh());
    } catch (error) {
      await discovery.close();
      throw new RegistryError(`rpcx: DNS discovery of ${discovery.name} failed: ${(error as Error).message}`, error);
    }
    return discovery;
  }

  private constructor(options: DnsDiscoveryOptions) {
    if (options.mode === 'a' && !(Number.isInteger(options.port) && options.port! > 0 && options.port! <= 65535)) {
      throw new ConfigError('rpcx: DNS A/AAAA discovery needs the servers\' port (1..65535)');
    }
    const timeout = options.queryTimeoutMs ?? 2000;
    this.#options = {
      mode: options.mode,
      name: options.mode === 'srv' && !options.name.startsWith('_') ? `_rpcx._tcp.${options.name}` : options.name,
      port: options.port ?? 0,
      network: options.network ?? 'tcp',
      servers: options.servers ?? [],
      minRefreshMs: options.minRefreshMs ?? 1000,
      maxRefreshMs: Math.max(options.maxRefreshMs ?? 60_000, options.minRefreshMs ?? 1000),
      queryTimeoutMs: timeout,
    };
    this.#logger = options.logger ?? stderrLogger;
    this.#resolver = new Resolver({ timeout, tries: 2 });
    if (this.#options.servers.length > 0) this.#resolver.setServers(this.#options.servers);
  }

  /** The name actually looked up. */
  get name(): string {
    return this.#options.name;
  }

  list(): ServicePair[] {
    return this.#set.list();
  }

  watch(listener: DiscoveryListener): () => void {
    return this.#set.watch(listener);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#resolver.cancel();
    this.#set.clear();
  }

  #schedule(ttl: number | undefined): void {
    if (this.#closed) return;
    const { minRefreshMs, maxRefreshMs } = this.#options;
    const delay = Math.min(maxRefreshMs, Math.max(minRefreshMs, (ttl ?? 0) * 1000));
    this.#timer = setTimeout(() => {
      this.#refresh().then(
        (ttl) => this.#schedule(ttl),
        (error: Error) => {
          this.#logger.debug('DNS lookup failed; keeping the last known servers', { name: this.name, error: error.message });
          this.#schedule(undefined);
        },
      );
    }, delay);
    this.#timer.unref?.();
  }

  /** One lookup; replaces the list and returns the TTL to wait. Throws only when DNS itself failed. */
  async #refresh(): Promise<number | undefined> {
    const resolved = this.#options.mode === 'a' ? await this.#resolveA() : await this.#resolveSrv();
    if (!this.#closed) this.#set.replace(new Map([...resolved.servers].sort(([a], [b]) => a.localeCompare(b))));
    return resolved.ttl;
  }

  /** A and AAAA records of `host` with their TTLs; empty when the name has neither. */
  async #addresses(host: string): Promise<Array<{ address: string; ttl: number }>> {
    const lookups = await Promise.allSettled([this.#resolver.resolve4(host, { ttl: true }), this.#resolver.resolve6(host, { ttl: true })]);
    const failed = lookups.filter((l): l is PromiseRejectedResult => l.status === 'rejected' && !noRecords.has((l.reason as { code?: string }).code ?? ''));
    // One family failing for real while the other answered still leaves a usable answer; both failing is a failure.
    if (failed.length === 2 || (failed.length === 1 && lookups.every((l) => l.status === 'rejected'))) throw failed[0]!.reason;
    return lookups.flatMap((l) => (l.status === 'fulfilled' ? l.value : []));
  }

  async #resolveA(): Promise<Resolved> {
    const records = await this.#addresses(this.#options.name);
    const servers = new Map<string, string>();
    for (const r of records) servers.set(`${this.#options.network}@${hostPort(r.address, this.#options.port)}`, '');
    return { servers, ttl: minTtl(records.map((r) => r.ttl)) };
  }

  async #resolveSrv(): Promise<Resolved> {
    let records;
    try {
      records = await this.#resolver.resolveSrv(this.#options.name);
    } catch (error) {
      if (noRecords.has((error as { code?: string }).code ?? '')) return { servers: new Map(), ttl: undefined };
      throw error;
    }
    const best = Math.min(...records.map((r) => r.priority));
    const servers = new Map<string, string>();
    const ttls: number[] = [];
    await Promise.all(
      records
        .filter((r) => r.priority === best)
        .map(async (r) => {
          const [addresses, txt] = await Promise.all([this.#addresses(r.name).catch(() => []), this.#resolver.resolveTxt(r.name).catch(() => [])]);
          ttls.push(...addresses.map((a) => a.ttl));
          // Each string of a TXT record is one `key=value`, as in DNS-SD (RFC 6763), not chunks of one long text.
          const metadata = new URLSearchParams();
          for (const entry of txt.flat()) {
            const eq = entry.indexOf('=');
            if (eq > 0) metadata.append(entry.slice(0, eq), entry.slice(eq + 1));
          }
          metadata.set('weight', String(r.weight > 0 ? r.weight : 1));
          // An unresolvable target is still listed by name: the transport resolves it when it dials.
          const hosts = addresses.length > 0 ? addresses.map((a) => a.address) : [r.name];
          for (const host of hosts) servers.set(`${this.#options.network}@${hostPort(host, r.port)}`, metadata.toString());
        }),
    );
    // SRV TTLs are not exposed by node:dns; the targets' address TTLs bound how long this answer is good for.
    return { servers, ttl: minTtl(ttls) };
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function minTtl(ttls: number[]): number | undefined {
  return ttls.length > 0 ? Math.min(...ttls) : undefined;
}
