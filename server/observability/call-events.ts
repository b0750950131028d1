/**
 * Call instrumentation that costs nothing unless someone listens: `diagnostics_channel` events (checked with
 * `hasSubscribers`) and OpenTelemetry server spans (only once a tracer provider has been registered with
 * `@opentelemetry/api`; the check is one property read on the API's global). Trace context arrives in the request
 * metadata (W3C `traceparent`/`tracestate`, through whatever propagator is registered).
 */
import diagnostics from 'node:diagnostics_channel';
import type { Context, Span } from '@opentelemetry/api';
import { activeTracer, otel, tracingRegistered } from '../../tracing.js';

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
  /** A typed message stream's kind (`server`, `client`, `bidi`); with its message counts on end. */
  stream?: string;
  messagesSent?: number;
  messagesReceived?: number;
}

export { activeTracer, tracingRegistered };

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
    const { propagation, ROOT_CONTEXT, SpanKind, trace } = otel();
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
          ...(event.stream !== undefined ? { 'rpcx.stream': event.stream } : {}),
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
    if (event.stream !== undefined) span.setAttributes({ 'rpcx.stream.messages_sent': event.messagesSent ?? 0, 'rpcx.stream.messages_received': event.messagesReceived ?? 0 });
    const { SpanStatusCode } = otel();
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    else span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  }
  if (error !== undefined && serverCallError.hasSubscribers) serverCallError.publish(event);
  if (serverCallEnd.hasSubscribers) serverCallEnd.publish(event);
}

/** Runs fn inside the call's trace context, so nested client calls become child spans. */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return otel().context.with(ctx, fn);
}
