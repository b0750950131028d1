/**
 * Server plugins, in rpcx's hook order:
 *
 *   postConnAccept ─► preReadRequest ─► postReadRequest ─► (auth) ─► preCall ─► handler ─► postCall
 *                                        ─► preWriteResponse ─► postWriteResponse ─► … ─► postConnClose
 *
 * Every hook is optional and synchronous. The container keeps one array per hook, so a hook nobody registered costs
 * the server a single `length` check.
 */
import { asError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Message } from '../protocol/message.js';
import type { Conn } from '../transport/transport.js';
import type { CallContext } from './context.js';

/** What plugins and pages see of a connection, whatever protocol it speaks. */
export interface ConnectionInfo {
  readonly id: number;
  /** `rpcx` (binary, also after HTTP CONNECT) or `http` (gateway, JSON-RPC and pages). */
  readonly protocol: string;
  readonly network: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Milliseconds since the epoch. */
  readonly openedAt: number;
  readonly requests: number;
  readonly inFlight: number;
  readonly conn: Conn;
}

export interface ServerPlugin {
  /** A name for logs. */
  readonly name?: string;
  /** A connection was accepted, before anything was read from it. Return false to reject it (it is closed at once). */
  postConnAccept?(conn: Conn): boolean | void;
  /**
   * Bytes are about to be read as requests: once per received chunk on binary connections, once per HTTP request.
   * Throwing closes a binary connection (HTTP: answers 500).
   */
  preReadRequest?(connection: ConnectionInfo): void;
  /**
   * A request was read (heartbeats are not shown). Throw to refuse it: the caller gets the error's message as an
   * rpcx error and the method does not run (the rate limiter works this way).
   */
  postReadRequest?(request: Message, connection: ConnectionInfo): void;
  /** Just before the handler. Return a value to replace the arguments; throw to fail the call. */
  preCall?(ctx: CallContext, args: unknown): unknown;
  /** Just after the handler. Return a value to replace the reply; throw to turn the call into an error. */
  postCall?(ctx: CallContext, args: unknown, reply: unknown, error: Error | undefined): unknown;
  /** A reply is about to be written (oneway calls have none). */
  preWriteResponse?(request: Message, reply: Message, connection: ConnectionInfo): void;
  /** A reply was handed to the connection (binary: queued for the next batched write). */
  postWriteResponse?(request: Message, reply: Message, connection: ConnectionInfo): void;
  /** A connection closed. */
  postConnClose?(conn: Conn, error?: Error): void;
}

type HookName = Exclude<keyof ServerPlugin, 'name'>;
type Hook<K extends HookName> = NonNullable<ServerPlugin[K]>;

/** The registered plugins, one array per hook. */
export class PluginContainer {
  readonly all: ServerPlugin[] = [];
  postConnAccept: ServerPlugin[] = [];
  preReadRequest: ServerPlugin[] = [];
  postReadRequest: ServerPlugin[] = [];
  preCall: ServerPlugin[] = [];
  postCall: ServerPlugin[] = [];
  preWriteResponse: ServerPlugin[] = [];
  postWriteResponse: ServerPlugin[] = [];
  postConnClose: ServerPlugin[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(plugin: ServerPlugin): void {
    this.all.push(plugin);
    this.#rebuild();
  }

  remove(plugin: ServerPlugin): boolean {
    const at = this.all.indexOf(plugin);
    if (at < 0) return false;
    this.all.splice(at, 1);
    this.#rebuild();
    return true;
  }

  #rebuild(): void {
    // Fresh arrays, so a hook loop already running keeps the list it started with.
    const withHook = (name: HookName): ServerPlugin[] => this.all.filter((p) => typeof p[name] === 'function');
    this.postConnAccept = withHook('postConnAccept');
    this.preReadRequest = withHook('preReadRequest');
    this.postReadRequest = withHook('postReadRequest');
    this.preCall = withHook('preCall');
    this.postCall = withHook('postCall');
    this.preWriteResponse = withHook('preWriteResponse');
    this.postWriteResponse = withHook('postWriteResponse');
    this.postConnClose = withHook('postConnClose');
  }

  /** False when a plugin rejects the connection (or throws). */
  runPostConnAccept(conn: Conn): boolean {
    for (const p of this.postConnAccept) {
      try {
        if ((p.postConnAccept as Hook<'postConnAccept'>).call(p, conn) === false) return false;
      } catch (error) {
        this.#logger.warn('postConnAccept plugin threw; rejecting the connection', { plugin: p.name, error });
        return false;
      }
    }
    return true;
  }

  /** Throws what a plugin throws. */
  runPreReadRequest(connection: ConnectionInfo): void {
    for (const p of this.preReadRequest) (p.preReadRequest as Hook<'preReadRequest'>).call(p, connection);
  }

  /** Returns the refusal text of the first plugin that throws, else undefined. */
  runPostReadRequest(request: Message, connection: ConnectionInfo): string | undefined {
    for (const p of this.postReadRequest) {
      try {
        (p.postReadRequest as Hook<'postReadRequest'>).call(p, request, connection);
      } catch (error) {
        return messageOf(error);
      }
    }
    return undefined;
  }

  /** Throws what a plugin throws. */
  runPreCall(ctx: CallContext, args: unknown): unknown {
    for (const p of this.preCall) {
      const replaced = (p.preCall as Hook<'preCall'>).call(p, ctx, args);
      if (replaced !== undefined) args = replaced;
    }
    return args;
  }

  /** Returns the (possibly replaced) reply and error. */
  runPostCall(ctx: CallContext, args: unknown, reply: unknown, error: Error | undefined): { reply: unknown; error: Error | undefined } {
    for (const p of this.postCall) {
      try {
        const replaced = (p.postCall as Hook<'postCall'>).call(p, ctx, args, reply, error);
        if (replaced !== undefined) reply = replaced;
      } catch (thrown) {
        error = asError(thrown);
      }
    }
    return { reply, error };
  }

  runPreWriteResponse(request: Message, reply: Message, connection: ConnectionInfo): void {
    for (const p of this.preWriteResponse) this.#safely(p, 'preWriteResponse', () => (p.preWriteResponse as Hook<'preWriteResponse'>).call(p, request, reply, connection));
  }

  runPostWriteResponse(request: Message, reply: Message, connection: ConnectionInfo): void {
    for (const p of this.postWriteResponse) this.#safely(p, 'postWriteResponse', () => (p.postWriteResponse as Hook<'postWriteResponse'>).call(p, request, reply, connection));
  }

  runPostConnClose(conn: Conn, error?: Error): void {
    for (const p of this.postConnClose) this.#safely(p, 'postConnClose', () => (p.postConnClose as Hook<'postConnClose'>).call(p, conn, error));
  }

  #safely(plugin: ServerPlugin, hook: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#logger.warn(`${hook} plugin threw`, { plugin: plugin.name, error });
    }
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
