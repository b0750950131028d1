/**
 * Whether an OpenTelemetry tracer provider is registered, and its tracer: shared by the client's and the server's
 * instrumentation. Looking costs one property read on the API's global, so untraced calls pay almost nothing.
 */
import { ProxyTracerProvider, trace, type Tracer } from '@opentelemetry/api';

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
