/**
 * Client plugins, in rpcx's client hook order: connCreated when the Client is made on a connection, preCall before a
 * call is encoded, postCall when it settles, connClosed when the connection goes. Hooks are synchronous; with none
 * registered a call pays one length check.
 *
 * This file uses no Node API (the browser Client loads it). The Node entry installs an extra "instrument" here:
 * diagnostics_channel events and OpenTelemetry client spans (see client/instrumentation.ts).
 */
import type { Logger } from '../logger.js';
import type { Metadata } from '../protocol/message.js';
import type { StreamKind } from '../protocol/stream-frames.js';
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
  /**
   * Set for a typed message stream (one call from open to end, docs/streams.md): its kind, and by postCall the
   * messages it sent and received. `args` is the open's argument (null for client and bidi streams).
   */
  stream?: StreamCallInfo;
}

export interface StreamCallInfo {
  readonly kind: StreamKind;
  messagesSent: number;
  messagesReceived: number;
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

/** The hooks that see a call now: the instrument when it is active, then the client's plugins; undefined if none. */
export function activeCallHooks(plugins: readonly ClientPlugin[]): ClientPlugin[] | undefined {
  const active = instrument !== undefined && instrument.active();
  if (!active && plugins.length === 0) return undefined;
  return active ? [instrument!, ...plugins] : [...plugins];
}

/** Runs every postCall hook; one that throws is logged and does not stop the others. */
export function runPostCall(hooks: readonly ClientPlugin[], call: ClientCall, reply: unknown, error: Error | undefined, logger: Logger): void {
  for (const hook of hooks) {
    try {
      hook.postCall?.(call, reply, error);
    } catch (thrown) {
      logger.warn('postCall plugin threw', { plugin: hook.name, error: thrown });
    }
  }
}
