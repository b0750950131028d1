/**
 * Prometheus metrics through prom-client. Nothing is counted twice: the per-method counters and histograms the
 * dispatcher already keeps are read at scrape time (collect callbacks and a histogram view over the fixed buckets),
 * so serving calls costs nothing extra for metrics. prom-client loads when the first ServerMetrics is made (the
 * server makes it on the first /metrics scrape or `server.metrics` read), not with the package.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Metric, Registry } from 'prom-client';
import type { ConnectionInfo } from '../plugins.js';
import type { ServiceRegistry } from '../service-registry.js';
import { LATENCY_BOUNDS_MS, type MethodStats } from './stats.js';

export interface MetricsSource {
  readonly registry: ServiceRegistry;
  connectionList(): ConnectionInfo[];
  /** Requests refused before a method ran (auth, rate limit). */
  readonly refused: number;
  /** Requests for unknown services or methods. */
  readonly unknown: number;
  /** Connections closed on a protocol error, per error code. */
  readonly protocolErrors?: ReadonlyMap<string, number>;
}

let promClient: typeof PromClient | undefined;

export class ServerMetrics {
  /** The prom-client registry; register your own metrics here to have them on /metrics. */
  readonly registry: Registry;

  constructor(source: MetricsSource, registry?: Registry) {
    const { Counter, Gauge, Registry } = (promClient ??= createRequire(import.meta.url)('prom-client') as typeof PromClient);
    registry ??= new Registry();
    this.registry = registry;
    const registers = [registry];
    const methods = (): MethodStats[] => source.registry.services().flatMap((s) => [...s.methods.values()].map((m) => m.stats));
    const labelNames = ['service', 'method'] as const;

    new Counter({
      name: 'rpcx_server_calls_total',
      help: 'Calls started, per service and method.',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const m of methods()) this.inc({ service: m.service, method: m.method }, m.calls);
      },
    });
    new Counter({
      name: 'rpcx_server_errors_total',
      help: 'Calls that ended with an error, per service and method.',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const m of methods()) this.inc({ service: m.service, method: m.method }, m.errors);
      },
    });
    new Gauge({
      name: 'rpcx_server_in_flight',
      help: 'Calls running now, per service and method.',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const m of methods()) this.set({ service: m.service, method: m.method }, m.inFlight);
      },
    });
    new Counter({
      name: 'rpcx_server_refused_total',
      help: 'Requests refused before a method ran (auth, rate limit, plugins).',
      registers,
      collect() {
        this.reset();
        this.inc(source.refused);
      },
    });
    new Counter({
      name: 'rpcx_server_unknown_calls_total',
      help: 'Requests for a service or method that does not exist.',
      registers,
      collect() {
        this.reset();
        this.inc(source.unknown);
      },
    });
    new Counter({
      name: 'rpcx_server_protocol_errors_total',
      help: 'Connections closed on a protocol error (bad frame, limit, timeout), per error code.',
      labelNames: ['code'],
      registers,
      collect() {
        this.reset();
        for (const [code, n] of source.protocolErrors ?? []) this.inc({ code }, n);
      },
    });
    new Gauge({
      name: 'rpcx_server_connections',
      help: 'Open connections, per protocol (rpcx binary or http).',
      labelNames: ['protocol'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>([['rpcx', 0], ['http', 0]]);
        for (const c of source.connectionList()) counts.set(c.protocol, (counts.get(c.protocol) ?? 0) + 1);
        for (const [protocol, n] of counts) this.set({ protocol }, n);
      },
    });
    registry.registerMetric(latencyHistogram(methods) as unknown as Metric);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A histogram "metric" in prom-client's shape whose values come from the dispatcher's buckets. */
function latencyHistogram(methods: () => MethodStats[]): object {
  const name = 'rpcx_server_call_duration_seconds';
  const bounds = LATENCY_BOUNDS_MS.map((ms) => ms / 1000);
  const help = 'Call latency (handler start to reply encoded), per service and method.';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    labelNames: ['service', 'method'],
    reset() {},
    async get() {
      const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
      for (const m of methods()) {
        const labels = { service: m.service, method: m.method };
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += m.buckets[i]!;
          values.push({ value: cumulative, labels: { ...labels, le: bounds[i]! }, metricName: `${name}_bucket` });
        }
        cumulative += m.buckets[bounds.length]!;
        values.push({ value: cumulative, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
        values.push({ value: m.sumMs / 1000, labels, metricName: `${name}_sum` });
        values.push({ value: m.timed, labels, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
}
