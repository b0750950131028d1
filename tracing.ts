/**
 * Whether an OpenTelemetry tracer provider is registered, and its tracer: shared by the client's and the server's
 * instrumentation. Looking costs one property read on the API's global, so untraced calls pay almost nothing.
 *
 * @opentelemetry/api itself loads only once a provider is registered: whoever registered it has the API loaded. The
 * API keeps its state (providers, context manager, propagator) on one versioned global precisely so that several
 * copies of it in one process (here possibly its CommonJS build beside the application's ES module build) agree.
 */
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Tracer, TracerProvider } from '@opentelemetry/api';

const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');
let api: typeof OtelApi | undefined;
/** The no-op provider a proxy hands out before a real one is set (the API keeps one shared instance). */
let noopProvider: TracerProvider | undefined;

/** The OpenTelemetry API, loaded on first use; call it only once tracingRegistered() said true. */
export function otel(): typeof OtelApi {
  return (api ??= createRequire(import.meta.url)('@opentelemetry/api') as typeof OtelApi);
}
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
  const { trace, ProxyTracerProvider } = otel();
  const provider = trace.getTracerProvider();
  let source: unknown = provider;
  // The API registers a proxy whose delegate is the real provider (the proxy may come from another copy of the API,
  // hence the duck typing); a proxy still handing out its no-op delegate means no provider.
  const proxy = provider as Partial<Pick<OtelApi.ProxyTracerProvider, 'getDelegate'>>;
  if (typeof proxy.getDelegate === 'function') {
    source = proxy.getDelegate();
    noopProvider ??= new ProxyTracerProvider().getDelegate();
    if (source === noopProvider) return undefined;
  }
  if (source !== tracerSource) {
    tracerSource = source;
    cachedTracer = trace.getTracer('rpcx-ts');
  }
  return cachedTracer;
}
