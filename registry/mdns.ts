/**
 * Multicast DNS-SD registry in rpcx's format (package multicast-dns, loaded on first use), for a LAN without any store.
 *
 * What rpcx's mdns plugin publishes (through grandcat/zeroconf) and its MDNSDiscovery reads:
 *   PTR  _rpcxservices.local.                    → <instance>._rpcxservices.local.
 *   SRV  <instance>._rpcxservices.local.         → <host>.local. : <port of the first endpoint>
 *   TXT  <instance>._rpcxservices.local.         → one string: Go url.QueryEscape of the JSON array
 *                                                  [{"service":..., "meta":..., "service_address":"tcp@ip:port"}]
 *   A    <host>.local.                           → the interface's (or endpoint's) IPv4 address
 * The JSON is written as Go's encoding/json writes it (`&`, `<`, `>` as \u0026 ...; empty fields left out), and the
 * escaping is Go's (space as `+`, everything but letters, digits and `-_.~` as %XX), so Go reads ours byte for byte.
 * A TXT string holds at most 255 bytes: a longer list is split over several strings of the one record, and the
 * discovery joins them (Go's reader takes only the first string, so keep Go-read lists short).
 *
 * Registrar: answers queries for `_rpcxservices.<domain>` (and the DNS-SD `_services._dns-sd._udp` listing),
 * announces itself on every change, and says goodbye (TTL 0) on deregister so that browsers drop it at once. Records
 * carry `ttlSeconds`; a server killed with SIGKILL stops answering and is dropped when its records expire.
 *
 * Discovery: queries on start and collects answers for `timeoutMs`, then listens to every response on the group,
 * queries again at 80% of the shortest TTL it holds (RFC 6762 cache maintenance) and every `browseIntervalMs`, and
 * drops an instance whose records expired. Of each instance's list it keeps the entries of its own service (rpcx's
 * Go discovery forgets that filter).
 */
import { hostname } from 'node:os';
import type { MulticastDNS } from 'multicast-dns';
import type { Answer } from 'dns-packet';
import { stderrLogger, type Logger } from '../logger.js';
import type { ServiceRecord } from './layout.js';
import type { Registrar } from './registrar.js';
import { RegistryError } from '../errors.js';
import { ResyncingDiscovery } from './resyncing-discovery.js';

export const MDNS_SERVICE_TYPE = '_rpcxservices';
const DNS_SD_LISTING = '_services._dns-sd._udp';

type MdnsFactory = typeof import('multicast-dns');
let loaded: Promise<MdnsFactory> | undefined;
function loadMdns(): Promise<MdnsFactory> {
  // A CommonJS module: its export arrives as the default export.
  loaded ??= import('multicast-dns').then((m) => (m as unknown as { default: MdnsFactory }).default);
  return loaded;
}

export interface MdnsOptions {
  /** DNS-SD domain (default `local.`). */
  domain?: string;
  /** IPv4 address of the interface to send and listen on (default: the system's choice, every interface). */
  interfaceAddress?: string;
  /** UDP port (default 5353; another one keeps a test or a private group apart). */
  port?: number;
  logger?: Logger;
}

export interface MdnsRegistrarOptions extends MdnsOptions {
  /** TTL of the published records in seconds (default 10): how long a killed server stays listed. */
  ttlSeconds?: number;
  /** The DNS-SD instance name (default `<hostname>-<port>`, unique per server on a host). */
  instance?: string;
}

export interface MdnsDiscoveryOptions extends MdnsOptions {
  service: string;
  /** How long the first browse collects answers before `create` resolves (ms, default 1000). */
  timeoutMs?: number;
  /** A browse for new servers this often (ms, default 10000); announcements are heard at once anyway. */
  browseIntervalMs?: number;
}

/** One entry of rpcx's TXT list. */
export interface MdnsServiceEntry {
  service: string;
  meta: string;
  service_address: string;
}

/** Go's url.QueryEscape. */
export function goQueryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

/** Go's url.QueryUnescape; throws on a malformed escape. */
export function goQueryUnescape(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

/** The TXT text rpcx writes for these entries: Go's JSON (omitempty, HTML-safe escapes), query-escaped. */
export function encodeServiceEntries(entries: MdnsServiceEntry[]): string {
  const json = JSON.stringify(
    entries.map((e) => ({
      ...(e.service ? { service: e.service } : {}),
      ...(e.meta ? { meta: e.meta } : {}),
      ...(e.service_address ? { service_address: e.service_address } : {}),
    })),
  ).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  return goQueryEscape(json);
}

/** The entries in a TXT text; undefined if it is not rpcx's format. */
export function decodeServiceEntries(text: string): MdnsServiceEntry[] | undefined {
  try {
    const parsed = JSON.parse(goQueryUnescape(text)) as unknown;
    if (!Array.isArray(parsed)) return undefined;
    return parsed
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .map((e) => ({
        service: typeof e.service === 'string' ? e.service : '',
        meta: typeof e.meta === 'string' ? e.meta : '',
        service_address: typeof e.service_address === 'string' ? e.service_address : '',
      }));
  } catch {
    return undefined;
  }
}

/** TXT strings of at most 255 bytes each (cut on byte boundaries: the text is ASCII once escaped). */
function txtStrings(text: string): Buffer[] {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts.length > 0 ? parts : [Buffer.alloc(0)];
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function sameName(a: string, b: string): boolean {
  return fqdn(a).toLowerCase() === fqdn(b).toLowerCase();
}

async function openSocket(options: MdnsOptions): Promise<MulticastDNS> {
  const factory = await loadMdns();
  const socket = factory({
    port: options.port ?? 5353,
    // Bound to the wildcard: a socket bound to one address does not receive multicast sent to the group.
    bind: '0.0.0.0',
    reuseAddr: true,
    loopback: true,
    ...(options.interfaceAddress ? { interface: options.interfaceAddress } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(new RegistryError(`rpcx: mdns socket failed: ${error.message}`, error));
    socket.once('error', onError);
    socket.once('ready', () => {
      socket.off('error', onError);
      resolve();
    });
  });
  return socket;
}

let instanceCounter = 0;

export class MdnsRegistrar implements Registrar {
  readonly #options: MdnsRegistrarOptions;
  readonly #domain: string;
  readonly #ttl: number;
  readonly #logger: Logger;
  readonly #entries: MdnsServiceEntry[] = [];
  #instance: string | undefined;
  #socket: Promise<MulticastDNS> | undefined;

  constructor(options: MdnsRegistrarOptions = {}) {
    this.#options = options;
    this.#domain = fqdn(options.domain ?? 'local.');
    this.#ttl = options.ttlSeconds ?? 10;
    this.#logger = options.logger ?? stderrLogger;
  }

  get #serviceName(): string {
    return `${MDNS_SERVICE_TYPE}.${this.#domain}`;
  }

  get #instanceName(): string {
    return `${this.#instance}.${this.#serviceName}`;
  }

  get #host(): string {
    return `${hostname().split('.')[0] || 'rpcx'}.${this.#domain}`;
  }

  async register(endpoint: string, services: ServiceRecord[]): Promise<void> {
    const port = Number(/:(\d+)$/.exec(endpoint)?.[1] ?? 0);
    this.#instance ??= this.#options.instance ?? `${hostname().split('.')[0] || 'rpcx'}-${port || `${process.pid}-${++instanceCounter}`}`;
    for (const s of services) {
      const existing = this.#entries.find((e) => e.service === s.name && e.service_address === endpoint);
      if (existing) existing.meta = s.metadata;
      else this.#entries.push({ service: s.name, meta: s.metadata, service_address: endpoint });
    }
    try {
      const socket = await this.#connected();
      await this.#send(socket, this.#ttl);
    } catch (error) {
      throw new RegistryError(`rpcx: mdns registration of ${endpoint} failed: ${(error as Error).message}`, error);
    }
  }

  async deregister(): Promise<void> {
    if (this.#entries.length === 0 || !this.#socket) return;
    try {
      await this.#send(await this.#socket, 0);
    } catch (error) {
      this.#logger.warn('mdns goodbye failed; browsers drop this server when its records expire', { error });
    }
    this.#entries.length = 0;
  }

  async close(): Promise<void> {
    await this.deregister();
    const socket = await this.#socket?.catch(() => undefined);
    this.#socket = undefined;
    await new Promise<void>((resolve) => (socket ? socket.destroy(() => resolve()) : resolve()));
  }

  #connected(): Promise<MulticastDNS> {
    if (this.#socket) return this.#socket;
    const opening = openSocket(this.#options).then((socket) => {
      socket.on('query', (query) => this.#answer(socket, query));
      socket.on('error', (error: Error) => this.#logger.debug('mdns socket error', { error: error.message }));
      return socket;
    });
    this.#socket = opening;
    opening.catch(() => {
      if (this.#socket === opening) this.#socket = undefined;
    });
    return opening;
  }

  #answer(socket: MulticastDNS, query: { questions?: Array<{ name: string; type: string }> | undefined }): void {
    if (this.#entries.length === 0) return;
    const asked = (query.questions ?? []).some(
      (q) =>
        ((q.type === 'PTR' || q.type === 'ANY') && (sameName(q.name, this.#serviceName) || sameName(q.name, `${DNS_SD_LISTING}.${this.#domain}`))) ||
        ((q.type === 'SRV' || q.type === 'TXT' || q.type === 'ANY') && sameName(q.name, this.#instanceName)),
    );
    if (asked) void this.#send(socket, this.#ttl);
  }

  #records(ttl: number): Answer[] {
    const first = this.#entries[0]?.service_address ?? '';
    const port = Number(/:(\d+)$/.exec(first)?.[1] ?? 0);
    const hostIp = this.#options.interfaceAddress ?? /@(\d+\.\d+\.\d+\.\d+):\d+$/.exec(first)?.[1];
    const answers: Answer[] = [
      { name: this.#serviceName, type: 'PTR', ttl, data: this.#instanceName },
      { name: `${DNS_SD_LISTING}.${this.#domain}`, type: 'PTR', ttl, data: this.#serviceName },
      { name: this.#instanceName, type: 'SRV', ttl, data: { priority: 0, weight: 0, port, target: this.#host } },
      { name: this.#instanceName, type: 'TXT', ttl, data: txtStrings(encodeServiceEntries(this.#entries)) },
    ];
    if (hostIp && hostIp !== '0.0.0.0') answers.push({ name: this.#host, type: 'A', ttl, data: hostIp });
    return answers;
  }

  /** Sends our records to the group; resolves once the datagram left (a goodbye must, before the socket closes). */
  #send(socket: MulticastDNS, ttl: number): Promise<void> {
    return new Promise((resolve) =>
      socket.respond({ answers: this.#records(ttl) }, (error: Error | null) => {
        if (error) this.#logger.debug('mdns send failed', { error: error.message });
        resolve();
      }),
    );
  }
}

interface HeardInstance {
  entries: MdnsServiceEntry[];
  heardAt: number;
  ttlMs: number;
}

export class MdnsDiscovery extends ResyncingDiscovery {
  readonly #socket: MulticastDNS;
  readonly #service: string;
  readonly #serviceName: string;
  readonly #browseIntervalMs: number;
  readonly #instances = new Map<string, HeardInstance>();
  #tick: ReturnType<typeof setInterval> | undefined;
  #lastQuery = 0;

  /** Browses for `timeoutMs`, then keeps listening. Rejects only if the multicast socket cannot be opened. */
  static async create(options: MdnsDiscoveryOptions): Promise<MdnsDiscovery> {
    const socket = await openSocket(options);
    const discovery = new MdnsDiscovery(socket, options);
    discovery.#query();
    await new Promise((resolve) => setTimeout(resolve, options.timeoutMs ?? 1000));
    await discovery.resync();
    discovery.#tick = setInterval(() => discovery.#maintain(), 250);
    discovery.#tick.unref?.();
    return discovery;
  }

  private constructor(socket: MulticastDNS, options: MdnsDiscoveryOptions) {
    super('mdns', options.logger ?? stderrLogger);
    this.#socket = socket;
    this.#service = options.service;
    this.#serviceName = `${MDNS_SERVICE_TYPE}.${fqdn(options.domain ?? 'local.')}`;
    this.#browseIntervalMs = options.browseIntervalMs ?? 10_000;
    socket.on('response', (response: { answers?: Answer[]; additionals?: Answer[] }) => this.#heard([...(response.answers ?? []), ...(response.additionals ?? [])]));
    socket.on('error', (error: Error) => this.logger.debug('mdns socket error', { error: error.message }));
  }

  protected release(): Promise<void> {
    if (this.#tick) clearInterval(this.#tick);
    return new Promise((resolve) => this.#socket.destroy(() => resolve()));
  }

  protected async relist(): Promise<Map<string, string>> {
    const next = new Map<string, string>();
    for (const instance of this.#instances.values()) {
      for (const e of instance.entries) if (e.service === this.#service && e.service_address) next.set(e.service_address, e.meta);
    }
    return next;
  }

  #query(): void {
    this.#lastQuery = Date.now();
    this.#socket.query({ questions: [{ name: this.#serviceName, type: 'PTR' }] }, (error: Error | null) => {
      if (error) this.logger.debug('mdns query failed', { error: error.message });
    });
  }

  /** Takes in the TXT records of our service type's instances; TTL 0 is a goodbye. */
  #heard(answers: Answer[]): void {
    let changed = false;
    const suffix = '.' + this.#serviceName.toLowerCase();
    for (const answer of answers) {
      if (answer.type !== 'TXT' || !fqdn(answer.name).toLowerCase().endsWith(suffix)) continue;
      const instance = fqdn(answer.name).toLowerCase();
      const ttl = answer.ttl ?? 0;
      if (ttl === 0) {
        changed = this.#instances.delete(instance) || changed;
        continue;
      }
      const strings = (Array.isArray(answer.data) ? answer.data : [answer.data]).map((d) => d.toString());
      const entries = decodeServiceEntries(strings.join(''));
      if (!entries) {
        this.logger.debug('mdns TXT record not in rpcx format', { instance });
        continue;
      }
      this.#instances.set(instance, { entries, heardAt: Date.now(), ttlMs: ttl * 1000 });
      changed = true;
    }
    if (changed) this.schedule();
  }

  /** Drops expired instances, and asks again before the others expire or when a browse is due. */
  #maintain(): void {
    const now = Date.now();
    let expired = false;
    let refreshDue = now - this.#lastQuery >= this.#browseIntervalMs;
    for (const [name, instance] of this.#instances) {
      const age = now - instance.heardAt;
      if (age >= instance.ttlMs) {
        this.#instances.delete(name);
        expired = true;
      } else if (age >= instance.ttlMs * 0.8 && now - this.#lastQuery >= instance.ttlMs * 0.2) {
        refreshDue = true;
      }
    }
    if (refreshDue) this.#query();
    if (expired) this.schedule();
  }
}
