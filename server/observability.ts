/**
 * Call instrumentation that costs nothing unless someone listens: `diagnostics_channel` events (checked with
 * `hasSubscribers`) and OpenTelemetry server spans (only once a tracer provider has been registered with
 * `@opentelemetry/api`; the check is one property read on the API's global). Trace context arrives in the request
 * metadata (W3C `traceparent`/`tracestate`, through whatever propagator is registered).
 */
import diagnostics from 'node:diagnostics_channel';
import { context, propagation, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';

/** Channel names; the client publishes the same events on `rpcx-ts:client:call:*`. */
export const ServerChannels = {
  start: 'rpcx-ts:server:call:start',
  end: 'rpcx-ts:server:call:end',
  error: 'rpcx-ts:server:call:error',
} as const;

export const serverCallStart = diagnostics.channel(ServerChannels.start);
export const serverCallEnd = diagnostics.channel(ServerChannels.end);
export const serverCallError = diagnostics.channel(ServerChannels.error);

/** The message published on the server channels (the same object for start, then end/error of one call). */
export interface ServerCallEvent {
  service: string;
  method: string;
  protocol: string;
  network: string;
  remoteAddress: string;
  seq: number;
  /** Request metadata. */
  metadata: Readonly<Record<string, string>>;
  /** Set on end and error. */
  durationMs?: number;
  /** The error text (end and error events of a failed call). */
  error?: string;
}

const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');
/** The no-op provider a proxy hands out before a real one is set (the API keeps one shared instance). */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
let tracerSource: unknown;
let cachedTracer: Tracer | undefined;

type OtelGlobal = { trace?: unknown } | undefined;
/** The API's global registry object; once made it stays (unregistering deletes its fields, not the object). */
let otelGlobal: OtelGlobal;
let otelLookedAt = -Infinity;

/**
 * True once a tracer provider was registered globally. `now` (performance.now()) lets the server look for the API's
 * global at most every 200 ms while there is none, so untraced servers pay a comparison per call; a provider
 * registered while serving is picked up within 200 ms.
 */
export function tracingRegistered(now?: number): boolean {
  if (otelGlobal === undefined) {
    if (now !== undefined) {
      if (now - otelLookedAt < 200) return false;
      otelLookedAt = now;
    }
    otelGlobal = (globalThis as unknown as Record<symbol, OtelGlobal>)[OTEL_GLOBAL];
    if (otelGlobal === undefined) return false;
  }
  return otelGlobal.trace !== undefined;
}

/** The tracer of the registered provider, or undefined when none is registered. */
export function activeTracer(): Tracer | undefined {
  if (!tracingRegistered()) return undefined;
  const provider = trace.getTracerProvider();
  let source: unknown = provider;
  if (provider instanceof ProxyTracerProvider) {
    // The proxy always exists; only a delegate means a real provider.
    source = provider.getDelegate();
    if (source === NOOP_PROVIDER) return undefined;
  }
  if (source !== tracerSource) {
    tracerSource = source;
    cachedTracer = trace.getTracer('rpcx-ts');
  }
  return cachedTracer;
}

/** Whether a call should be observed at all (cheap: three getters and a comparison). */
export function serverObserved(now: number): boolean {
  return serverCallStart.hasSubscribers || serverCallEnd.hasSubscribers || serverCallError.hasSubscribers || tracingRegistered(now);
}

/** Per-call state of an observed call. */
export interface Observation {
  /** Milliseconds since the epoch at start. */
  startedAt: number;
  event: ServerCallEvent;
  span: Span | undefined;
  /** The context the handler runs in (the span's), when tracing. */
  context: Context | undefined;
}

export function startObservation(event: ServerCallEvent, metadata: Record<string, string>): Observation {
  const observation: Observation = { startedAt: Date.now(), event, span: undefined, context: undefined };
  const tracer = activeTracer();
  if (tracer) {
    const parent = propagation.extract(ROOT_CONTEXT, metadata);
    const span = tracer.startSpan(
      `${event.service}/${event.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'rpcx',
          'rpc.service': event.service,
          'rpc.method': event.method,
          'rpcx.protocol': event.protocol,
          'network.transport': event.network,
          'client.address': event.remoteAddress,
        },
      },
      parent,
    );
    observation.span = span;
    observation.context = trace.setSpan(parent, span);
  }
  if (serverCallStart.hasSubscribers) serverCallStart.publish(event);
  return observation;
}

export function endObservation(observation: Observation, durationMs: number, error: string | undefined): void {
  const event = observation.event;
  event.durationMs = durationMs;
  if (error !== undefined) event.error = error;
  const span = observation.span;
  if (span) {
    span.setAttribute('rpcx.status', error === undefined ? 'ok' : 'error');
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    else span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  }
  if (error !== undefined && serverCallError.hasSubscribers) serverCallError.publish(event);
  if (serverCallEnd.hasSubscribers) serverCallEnd.publish(event);
}

/** Runs fn inside the call's trace context, so nested client calls become child spans. */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
