/**
 * brpc-style introspection pages, plain text for people and scripts:
 *
 *   /vars                every counter and gauge, one `name : value` a line, sorted by name (server totals,
 *                        connections by protocol, each method's calls / errors / in-flight / latency, process
 *                        memory, CPU time, event-loop utilisation and handles); `?filter=glob` keeps the names matching
 *                        a `*` wildcard pattern, e.g. `/vars?filter=rpc_Arith_*`
 *   /flags               the server's effective options (limits, timeouts, protocols, networks, plugins), as JSON
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { send, sendJson } from './helpers.js';
import { statusJson, type PagesHost } from './pages.js';

export function serveVars(host: PagesHost, path: string, query: URLSearchParams, res: http.ServerResponse): void {
  if (path === '/flags') return sendJson(res, 200, host.flags?.() ?? {});
  const vars = collectVars(host);
  const filter = query.get('filter');
  const matches = filter ? globMatcher(filter) : undefined;
  const names = [...vars.keys()].filter((name) => !matches || matches(name)).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  const text = names.map((name) => `${name.padEnd(width)} : ${vars.get(name)}\n`).join('');
  send(res, 200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, text);
}

/** Every variable by name. */
export function collectVars(host: PagesHost): Map<string, number> {
  const vars = new Map<string, number>();
  const status = statusJson(host);
  const s = status.server;
  vars.set('server_uptime_seconds', s.uptimeSeconds);
  vars.set('server_connections', s.connections);
  vars.set('server_in_flight', s.inFlight);
  vars.set('server_calls', s.calls);
  vars.set('server_errors', s.errors);
  vars.set('server_refused', s.refused);
  vars.set('server_unknown', s.unknown);
  vars.set('server_draining', s.draining ? 1 : 0);
  vars.set('server_listeners', s.addresses.length);
  for (const protocol of ['rpcx', 'http', 'grpc']) vars.set(`server_connections_${protocol}`, 0);
  for (const c of host.connectionList()) vars.set(`server_connections_${varName(c.protocol)}`, (vars.get(`server_connections_${varName(c.protocol)}`) ?? 0) + 1);
  for (const service of status.services) {
    for (const m of service.methods) {
      const prefix = `rpc_${varName(service.name)}_${varName(m.name)}_`;
      vars.set(prefix + 'calls', m.calls);
      vars.set(prefix + 'errors', m.errors);
      vars.set(prefix + 'in_flight', m.inFlight);
      vars.set(prefix + 'latency_mean_ms', m.latencyMs.mean);
      vars.set(prefix + 'latency_p50_ms', m.latencyMs.p50);
      vars.set(prefix + 'latency_p99_ms', m.latencyMs.p99);
      vars.set(prefix + 'latency_max_ms', m.latencyMs.max);
    }
  }
  const memory = process.memoryUsage();
  vars.set('process_rss_bytes', memory.rss);
  vars.set('process_heap_used_bytes', memory.heapUsed);
  vars.set('process_heap_total_bytes', memory.heapTotal);
  vars.set('process_external_bytes', memory.external);
  vars.set('process_array_buffers_bytes', memory.arrayBuffers);
  const cpu = process.cpuUsage();
  vars.set('process_cpu_user_seconds', cpu.user / 1e6);
  vars.set('process_cpu_system_seconds', cpu.system / 1e6);
  vars.set('process_event_loop_utilization', Math.round(performance.eventLoopUtilization().utilization * 1e4) / 1e4);
  vars.set('process_active_resources', process.getActiveResourcesInfo().length);
  vars.set('process_uptime_seconds', Math.round(process.uptime() * 10) / 10);
  return vars;
}

/** Service and method names as variable names: anything but letters, digits and `_` becomes `_`. */
function varName(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, '_');
}

function globMatcher(pattern: string): (name: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`);
  return (name) => regex.test(name);
}
