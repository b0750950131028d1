/**
 * /status of a multi-process server: the `StatusJSON` of every worker summed into one, in the same shape a single
 * process answers (so the dashboard and scripts read it unchanged), plus a `workers` list with each process's share.
 * Latency percentiles are re-estimated from the summed histograms; means are weighted by each process's timed calls.
 */
import type { StatusJSON } from '../http/pages.js';
import { histogramQuantile, round, type MethodStatsJSON } from './stats.js';

export interface WorkerStatusJSON {
  pid: number;
  uptimeSeconds: number;
  connections: number;
  inFlight: number;
  calls: number;
  errors: number;
  rssBytes: number;
  draining: boolean;
}

export interface ClusterStatusJSON extends StatusJSON {
  workers: WorkerStatusJSON[];
  /** Workers that did not answer in time (their pids); their figures are missing from the sums. */
  unanswered?: number[];
}

/** Sums the workers' answers; `primaryPid` is reported as the server's pid. */
export function mergeStatus(parts: readonly StatusJSON[], primaryPid: number, unanswered: readonly number[] = []): ClusterStatusJSON {
  const first = parts[0];
  if (first === undefined) throw new Error('rpcx: no worker status to merge');
  const server = { ...first.server, connections: 0, inFlight: 0, calls: 0, errors: 0, refused: 0, unknown: 0, rssBytes: 0, draining: false, pid: primaryPid };
  let startedAt = Date.parse(first.server.startedAt);
  const services = new Map<string, { name: string; metadata: string; methods: Map<string, MethodStatsJSON[]> }>();
  for (const part of parts) {
    const s = part.server;
    server.connections += s.connections;
    server.inFlight += s.inFlight;
    server.calls += s.calls;
    server.errors += s.errors;
    server.refused += s.refused;
    server.unknown += s.unknown;
    server.rssBytes += s.rssBytes;
    server.draining ||= s.draining;
    server.uptimeSeconds = Math.max(server.uptimeSeconds, s.uptimeSeconds);
    startedAt = Math.min(startedAt, Date.parse(s.startedAt));
    for (const service of part.services) {
      let merged = services.get(service.name);
      if (!merged) services.set(service.name, (merged = { name: service.name, metadata: service.metadata, methods: new Map() }));
      for (const method of service.methods) {
        const list = merged.methods.get(method.name);
        if (list) list.push(method);
        else merged.methods.set(method.name, [method]);
      }
    }
  }
  server.startedAt = new Date(startedAt).toISOString();
  return {
    server,
    latencyBoundsMs: first.latencyBoundsMs,
    services: [...services.values()].map((s) => ({ name: s.name, metadata: s.metadata, methods: [...s.methods.values()].map(mergeMethod) })),
    workers: parts.map((p) => ({
      pid: p.server.pid,
      uptimeSeconds: p.server.uptimeSeconds,
      connections: p.server.connections,
      inFlight: p.server.inFlight,
      calls: p.server.calls,
      errors: p.server.errors,
      rssBytes: p.server.rssBytes,
      draining: p.server.draining,
    })),
    ...(unanswered.length > 0 ? { unanswered: [...unanswered] } : {}),
  };
}

function mergeMethod(parts: MethodStatsJSON[]): MethodStatsJSON {
  const histogram = parts[0]!.histogram.map((_, i) => parts.reduce((sum, p) => sum + (p.histogram[i] ?? 0), 0));
  const timed = histogram.reduce((a, b) => a + b, 0);
  const maxMs = Math.max(...parts.map((p) => p.latencyMs.max));
  const weightedMean = parts.reduce((sum, p) => sum + p.latencyMs.mean * p.histogram.reduce((a, b) => a + b, 0), 0);
  return {
    name: parts[0]!.name,
    calls: parts.reduce((sum, p) => sum + p.calls, 0),
    errors: parts.reduce((sum, p) => sum + p.errors, 0),
    inFlight: parts.reduce((sum, p) => sum + p.inFlight, 0),
    latencyMs: {
      mean: timed > 0 ? round(weightedMean / timed) : 0,
      p50: round(histogramQuantile(histogram, timed, maxMs, 0.5)),
      p99: round(histogramQuantile(histogram, timed, maxMs, 0.99)),
      max: maxMs,
    },
    histogram,
  };
}
