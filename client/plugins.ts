/**
 * Client plugins, in rpcx's client hook order: connCreated when the Client is made on a connection, preCall before a
 * call is encoded, postCall when it settles, connClosed when the connection goes. Hooks are synchronous; with none
 * registered a call pays one length check.
 *
 * This file uses no Node API (the browser Client loads it). The Node entry installs an extra "instrument" here:
 * diagnostics_channel events and OpenTelemetry client spans (see client/instrumentation.ts).
 */
import type { Metadata } from '../protocol/message.js';
import type { Conn } from '../transport/transport.js';

/** One call as client plugins see it. */
export interface ClientCall {
  readonly service: string;
  readonly method: string;
  readonly args: unknown;
  /** The server, as `network@address`. */
  readonly endpoint: string;
  /** Metadata sent with the call; preCall hooks may add keys (trace context, for example). */
  readonly metadata: Metadata;
  /** Free per-call state for the plugin's own use between preCall and postCall. */
  state?: Record<string, unknown>;
}

export interface ClientPlugin {
  readonly name?: string;
  /** Before the call is encoded and sent. Throw to refuse it (the call rejects with what was thrown). */
  preCall?(call: ClientCall): void;
  /** After the call settled, with its reply or error. */
  postCall?(call: ClientCall, reply: unknown, error: Error | undefined): void;
  /** A Client was made on a new connection. */
  connCreated?(conn: Conn, endpoint: string): void;
  /** The Client's connection closed. */
  connClosed?(conn: Conn, endpoint: string, error?: Error): void;
}

/** A process-wide plugin that decides per call whether it wants to see it (diagnostics channels, tracing). */
export interface ClientInstrument extends ClientPlugin {
  /** Cheap check made on every call. */
  active(): boolean;
}

let instrument: ClientInstrument | undefined;

/** Installs the process-wide instrument (done by the Node entry; browsers have none). */
export function setClientInstrument(value: ClientInstrument | undefined): void {
  instrument = value;
}

export function clientInstrument(): ClientInstrument | undefined {
  return instrument;
}
