/**
 * Node-only client instrumentation, installed on import (the package root imports it): `diagnostics_channel` events
 * on `rpcx-ts:client:call:start|end|error` and, once a tracer provider is registered with `@opentelemetry/api`, a
 * client span per call whose context is injected into the call's metadata (W3C `traceparent` with the usual
 * propagator), so the server's span becomes its child. With no subscriber and no provider a call pays three getter
 * reads and one property read.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Span } from '@opentelemetry/api';
import { activeTracer, otel, tracingRegistered } from '../tracing.js';
import { setClientInstrument, type ClientCall, type ClientInstrument } from './plugins.js';

export const ClientChannels = {
  start: 'rpcx-ts:client:call:start',
  end: 'rpcx-ts:client:call:end',
  error: 'rpcx-ts:client:call:error',
} as const;

const startChannel = diagnostics.channel(ClientChannels.start);
const endChannel = diagnostics.channel(ClientChannels.end);
const errorChannel = diagnostics.channel(ClientChannels.error);

/** The message published on the client channels (one object per call: start, then end and/or error). */
export interface ClientCallEvent {
  service: string;
  method: string;
  endpoint: string;
  /** The metadata the call carries (trace context included). */
  metadata: Readonly<Record<string, string>>;
  durationMs?: number;
  error?: Error;
  /** A typed message stream's kind; with its message counts on end. */
  stream?: string;
  messagesSent?: number;
  messagesReceived?: number;
}

interface CallState {
  started: number;
  event: ClientCallEvent;
  span: Span | undefined;
}

const STATE = 'rpcx-ts:instrumentation';

export const clientInstrumentation: ClientInstrument = {
  name: 'rpcx-ts instrumentation',
  active() {
    return startChannel.hasSubscribers || endChannel.hasSubscribers || errorChannel.hasSubscribers || tracingRegistered();
  },
  preCall(call: ClientCall) {
    let span: Span | undefined;
    const tracer = activeTracer();
    if (tracer) {
      const { context, propagation, SpanKind, trace } = otel();
      const parent = context.active();
      span = tracer.startSpan(
        `${call.service}/${call.method}`,
        { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'rpcx', 'rpc.service': call.service, 'rpc.method': call.method, 'server.address': call.endpoint } },
        parent,
      );
      if (call.stream) span.setAttribute('rpcx.stream', call.stream.kind);
      propagation.inject(trace.setSpan(parent, span), call.metadata);
    }
    const event: ClientCallEvent = { service: call.service, method: call.method, endpoint: call.endpoint, metadata: call.metadata };
    if (call.stream) event.stream = call.stream.kind;
    (call.state ??= {})[STATE] = { started: performance.now(), event, span } satisfies CallState;
    if (startChannel.hasSubscribers) startChannel.publish(event);
  },
  postCall(call: ClientCall, _reply: unknown, error: Error | undefined) {
    const state = call.state?.[STATE] as CallState | undefined;
    if (!state) return;
    const { event, span } = state;
    event.durationMs = performance.now() - state.started;
    if (error) event.error = error;
    if (call.stream) {
      event.messagesSent = call.stream.messagesSent;
      event.messagesReceived = call.stream.messagesReceived;
      span?.setAttributes({ 'rpcx.stream.messages_sent': event.messagesSent, 'rpcx.stream.messages_received': event.messagesReceived });
    }
    if (span) {
      span.setAttribute('rpcx.status', error ? 'error' : 'ok');
      const { SpanStatusCode } = otel();
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      else span.setStatus({ code: SpanStatusCode.OK });
      span.end();
    }
    if (error && errorChannel.hasSubscribers) errorChannel.publish(event);
    if (endChannel.hasSubscribers) endChannel.publish(event);
  },
};

setClientInstrument(clientInstrumentation);
