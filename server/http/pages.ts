/**
 * Builtin pages, in the spirit of brpc's builtin services. JSON for programs, one HTML page for people:
 *
 *   /status       services, methods, calls, errors, in-flight, latency (mean, p50, p99, max) and histogram
 *   /connections  open connections: protocol, network, remote, opened, requests, in-flight
 *   /metrics      Prometheus text (prom-client)
 *   /rpcz         recent calls with timings (only when the server was started with `rpcz`; 404 otherwise)
 *   /health       200 {"status":"ok"}, 503 while shutting down
 *   /dashboard    live HTML dashboard polling /status
 *   /hotspots/cpu /hotspots/heap   profiles of the live process (hotspots.ts)
 *   /vars /flags  every counter and gauge as text, the effective options (vars.ts)
 *
 * Each page can be turned off (ServerOptions.pages), and all of them moved to an admin listener (ServerOptions.admin,
 * Server.serveAdmin), after which the public ports answer 404 for them. When the server has an `auth` function every
 * page but /health requires a token it accepts, in the `Authorization` header (401 otherwise); the dashboard also takes
 * it as `?token=` in its address and sends it in the header of its own requests. `admin.auth: false` lifts that on
 * the admin listener.
 */
import type http from 'node:http';
import { PAGE_PATHS } from './constants.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { serveHotspots } from './hotspots.js';
import { serveVars } from './vars.js';
import { send, sendJson } from './helpers.js';
import type { ServerMetrics } from '../observability/metrics.js';
import type { ConnectionInfo } from '../plugins.js';
import type { ServiceRegistry } from '../service-registry.js';
import { LATENCY_BOUNDS_MS, type MethodStatsJSON, type Rpcz, type RpczEntry } from '../observability/stats.js';

export { PAGE_PATHS };

export function isPagePath(path: string): boolean {
  return PAGE_PATHS.includes(path);
}

/** Page names for the `pages` option; `hotspots` covers /hotspots/cpu and /hotspots/heap. */
export type PageName = 'status' | 'connections' | 'metrics' | 'rpcz' | 'health' | 'dashboard' | 'hotspots' | 'vars' | 'flags';

/** `pages` option: all on (true), all off (false), or page by page (a page left out stays on). */
export type PagesOption = boolean | Partial<Record<PageName, boolean>>;

export function pageEnabled(option: PagesOption, path: string): boolean {
  if (typeof option === 'boolean') return option;
  return option[path.slice(1).split('/')[0] as PageName] !== false;
}

export interface PagesHost {
  readonly pages: PagesOption;
  /** Present when the server has auth: decides whether `token` may read `page`. */
  readonly authorize?: (token: string | undefined, page: string) => boolean | Promise<boolean>;
  readonly startedAt: number;
  readonly addresses: string[];
  /** Listeners serving only the builtin pages (the admin address), when any. */
  readonly adminAddresses?: string[];
  readonly draining: boolean;
  readonly registry: ServiceRegistry;
  readonly rpcz: Rpcz | undefined;
  readonly refused: number;
  readonly unknown: number;
  connectionList(): ConnectionInfo[];
  metrics(): ServerMetrics;
  /** The effective options, for /flags. */
  flags?(): Record<string, unknown>;
  /** A worker of a multi-process server: turns this process's /status into the sum over every worker. */
  readonly aggregateStatus?: (local: StatusJSON) => Promise<StatusJSON>;
}

export interface StatusJSON {
  server: {
    startedAt: string;
    uptimeSeconds: number;
    addresses: string[];
    /** Where the pages are served when the server has an admin listener (absent otherwise). */
    adminAddresses?: string[];
    connections: number;
    inFlight: number;
    calls: number;
    errors: number;
    refused: number;
    unknown: number;
    draining: boolean;
    pid: number;
    node: string;
    rssBytes: number;
  };
  /** Upper bounds (ms) of the histogram buckets; each method's histogram has one more count (above the last). */
  latencyBoundsMs: readonly number[];
  services: Array<{ name: string; metadata: string; methods: MethodStatsJSON[] }>;
}

export function statusJson(host: PagesHost): StatusJSON {
  let calls = 0;
  let errors = 0;
  let inFlight = 0;
  const services = host.registry.services().map((s) => ({
    name: s.name,
    metadata: s.metadata,
    methods: [...s.methods.values()].map((m) => {
      calls += m.stats.calls;
      errors += m.stats.errors;
      inFlight += m.stats.inFlight;
      return m.stats.toJSON();
    }),
  }));
  return {
    server: {
      startedAt: new Date(host.startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - host.startedAt) / 100) / 10,
      addresses: host.addresses,
      ...(host.adminAddresses !== undefined && host.adminAddresses.length > 0 ? { adminAddresses: host.adminAddresses } : {}),
      connections: host.connectionList().length,
      inFlight,
      calls,
      errors,
      refused: host.refused,
      unknown: host.unknown,
      draining: host.draining,
      pid: process.pid,
      node: process.version,
      rssBytes: process.memoryUsage.rss(),
    },
    latencyBoundsMs: LATENCY_BOUNDS_MS,
    services,
  };
}

export function connectionsJson(host: PagesHost): { connections: Array<Record<string, unknown>> } {
  const now = Date.now();
  return {
    connections: host.connectionList().map((c) => ({
      id: c.id,
      protocol: c.protocol,
      network: c.network,
      remote: c.remoteAddress,
      local: c.localAddress,
      opened: new Date(c.openedAt).toISOString(),
      ageSeconds: Math.round((now - c.openedAt) / 100) / 10,
      requests: c.requests,
      inFlight: c.inFlight,
    })),
  };
}

export function rpczJson(rpcz: Rpcz, query: URLSearchParams): { capacity: number; calls: RpczEntry[] } {
  const limit = Math.max(1, Math.min(Number(query.get('limit')) || 100, rpcz.capacity));
  const service = query.get('service');
  const method = query.get('method');
  const errorsOnly = query.get('errors') === '1' || query.get('errors') === 'true';
  const filter =
    service || method || errorsOnly
      ? (e: RpczEntry) => (!service || e.service === service) && (!method || e.method === method) && (!errorsOnly || e.status === 'error')
      : undefined;
  return { capacity: rpcz.capacity, calls: rpcz.list(limit, filter) };
}

export async function servePage(host: PagesHost, path: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  req.resume();
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  if (!pageEnabled(host.pages, path)) return send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
  if (host.authorize && path !== '/health') {
    const token = req.headers.authorization ?? (path === '/dashboard' ? (query.get('token') ?? undefined) : undefined);
    // A throwing or rejecting auth function refuses, as it does for calls.
    const allowed = await Promise.resolve()
      .then(() => host.authorize!(token, path.slice(1)))
      .catch(() => false);
    if (!allowed) return send(res, 401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer' }, '401 unauthorized: send the token in Authorization\n');
  }
  switch (path) {
    case '/status': {
      const local = statusJson(host);
      // Should the other workers not answer, this process's own figures are still worth more than an error.
      return sendJson(res, 200, host.aggregateStatus ? await host.aggregateStatus(local).catch(() => local) : local);
    }
    case '/connections':
      return sendJson(res, 200, connectionsJson(host));
    case '/health':
      return host.draining ? sendJson(res, 503, { status: 'draining' }) : sendJson(res, 200, { status: 'ok' });
    case '/rpcz':
      if (!host.rpcz) return sendJson(res, 404, { error: 'rpcz is off: start the server with { rpcz: true } to record recent calls' });
      return sendJson(res, 200, rpczJson(host.rpcz, query));
    case '/metrics': {
      const metrics = host.metrics();
      const text = await metrics.text();
      return send(res, 200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }, text);
    }
    case '/dashboard':
      return send(res, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, DASHBOARD_HTML);
    case '/hotspots/cpu':
    case '/hotspots/heap':
      return serveHotspots(path, query, res);
    case '/vars':
    case '/flags':
      return serveVars(host, path, query, res);
    default:
      return send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
  }
}
