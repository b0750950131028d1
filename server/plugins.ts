/**
 * Server plugins, in rpcx's hook order:
 *
 *   postConnAccept ─► preReadRequest ─► postReadRequest ─► (auth) ─► preCall ─► handler ─► postCall
 *                                        ─► preWriteResponse ─► postWriteResponse ─► … ─► postConnClose
 *
 * Every hook is optional and may be async: a returned promise is awaited before the next hook (and the step after
 * the hooks) runs, in registration order. A hook that throws or rejects never crashes the server: in a call's hooks
 * it becomes that call's error (the caller gets its message); in connection hooks it rejects or closes the
 * connection; after the reply is written it is logged. Hooks that return plain values run synchronously, so a
 * server without async hooks pays nothing for the option. The container keeps one array per hook, so a hook nobody
 * registered costs the server a single `length` check.
 */
import { asError, messageOf } from '../errors.js';
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
  /**
   * A connection was accepted, before anything was read from it. Return (or resolve) false to reject it (it is closed
   * at once); throwing or rejecting rejects it too.
   */
  postConnAccept?(conn: Conn): MaybePromise<boolean | void>;
  /**
   * Bytes are about to be read as requests: once per received chunk on binary connections, once per HTTP request.
   * Throwing or rejecting closes a binary connection (HTTP: answers 500). While a returned promise is pending the
   * binary connection is not read.
   */
  preReadRequest?(connection: ConnectionInfo): MaybePromise<void>;
  /**
   * A request was read (heartbeats are not shown). Throw or reject to refuse it: the caller gets the error's message
   * as an rpcx error and the method does not run (the rate limiter works this way).
   */
  postReadRequest?(request: Message, connection: ConnectionInfo): MaybePromise<void>;
  /** Just before the handler. Return a value to replace the arguments; throw or reject to fail the call. */
  preCall?(ctx: CallContext, args: unknown): unknown;
  /** Just after the handler. Return a value to replace the reply; throw or reject to turn the call into an error. */
  postCall?(ctx: CallContext, args: unknown, reply: unknown, error: Error | undefined): unknown;
  /**
   * A reply is about to be written (oneway calls have none); the hook may change it. Throw or reject to send the
   * error's message as the call's error instead.
   */
  preWriteResponse?(request: Message, reply: Message, connection: ConnectionInfo): MaybePromise<void>;
  /**
   * A reply was handed to the connection (binary: encoded and queued for the next batched write, so changing `reply`
   * here has no effect on the wire). Errors are logged.
   */
  postWriteResponse?(request: Message, reply: Message, connection: ConnectionInfo): MaybePromise<void>;
  /** A connection closed. Errors are logged. */
  postConnClose?(conn: Conn, error?: Error): MaybePromise<void>;
}

export type MaybePromise<T> = T | Promise<T>;

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

  /** False when a plugin rejects the connection (or throws, or rejects). */
  runPostConnAccept(conn: Conn): MaybePromise<boolean> {
    const refused = (error: unknown): false => {
      this.#logger.warn('postConnAccept plugin failed; rejecting the connection', { error });
      return false;
    };
    try {
      const verdict = inSequence(this.postConnAccept, true as boolean, (p, ok) => {
        if (!ok) return false;
        return then((p.postConnAccept as Hook<'postConnAccept'>).call(p, conn), (v) => v !== false);
      });
      return isPromise(verdict) ? verdict.catch(refused) : verdict;
    } catch (error) {
      return refused(error);
    }
  }

  /** Throws (or rejects with) what a plugin throws. */
  runPreReadRequest(connection: ConnectionInfo): MaybePromise<void> {
    return inSequence(this.preReadRequest, undefined, (p) => (p.preReadRequest as Hook<'preReadRequest'>).call(p, connection));
  }

  /** Resolves to the refusal text of the first plugin that throws or rejects, else undefined. */
  runPostReadRequest(request: Message, connection: ConnectionInfo): MaybePromise<string | undefined> {
    try {
      const done = inSequence(this.postReadRequest, undefined, (p) => (p.postReadRequest as Hook<'postReadRequest'>).call(p, request, connection));
      return isPromise(done) ? done.then(() => undefined, messageOf) : undefined;
    } catch (error) {
      return messageOf(error);
    }
  }

  /** Throws (or rejects with) what a plugin throws. */
  runPreCall(ctx: CallContext, args: unknown): unknown {
    return inSequence(this.preCall, args, (p, current) =>
      then((p.preCall as Hook<'preCall'>).call(p, ctx, current), (replaced) => (replaced !== undefined ? replaced : current)),
    );
  }

  /** Returns (or resolves to) the possibly replaced reply and error; a hook that throws sets the error. */
  runPostCall(ctx: CallContext, args: unknown, reply: unknown, error: Error | undefined): MaybePromise<{ reply: unknown; error: Error | undefined }> {
    return inSequence(this.postCall, { reply, error }, (p, state) => {
      const fail = (thrown: unknown): { reply: unknown; error: Error } => ({ reply: state.reply, error: asError(thrown) });
      let result: unknown;
      try {
        result = (p.postCall as Hook<'postCall'>).call(p, ctx, args, state.reply, state.error);
      } catch (thrown) {
        return fail(thrown);
      }
      const apply = (replaced: unknown): { reply: unknown; error: Error | undefined } => (replaced !== undefined ? { reply: replaced, error: state.error } : state);
      return isPromise(result) ? result.then(apply, fail) : apply(result);
    });
  }

  /** Resolves to the error text of the first plugin that throws or rejects (the call fails with it), else undefined. */
  runPreWriteResponse(request: Message, reply: Message, connection: ConnectionInfo): MaybePromise<string | undefined> {
    try {
      const done = inSequence(this.preWriteResponse, undefined, (p) => (p.preWriteResponse as Hook<'preWriteResponse'>).call(p, request, reply, connection));
      return isPromise(done) ? done.then(() => undefined, messageOf) : undefined;
    } catch (error) {
      return messageOf(error);
    }
  }

  runPostWriteResponse(request: Message, reply: Message, connection: ConnectionInfo): void {
    this.#logged('postWriteResponse', this.postWriteResponse, (p) => (p.postWriteResponse as Hook<'postWriteResponse'>).call(p, request, reply, connection));
  }

  runPostConnClose(conn: Conn, error?: Error): void {
    this.#logged('postConnClose', this.postConnClose, (p) => (p.postConnClose as Hook<'postConnClose'>).call(p, conn, error));
  }

  /** Runs hooks whose failure can only be logged (the reply is out, the connection gone). */
  #logged(hook: string, plugins: ServerPlugin[], run: (p: ServerPlugin) => MaybePromise<void>): void {
    let current: ServerPlugin | undefined;
    const log = (error: unknown): void => this.#logger.warn(`${hook} plugin failed`, { plugin: current?.name, error });
    try {
      const done = inSequence(plugins, undefined, (p) => {
        current = p;
        return run(p);
      });
      if (isPromise(done)) done.catch(log);
    } catch (error) {
      log(error);
    }
  }
}

/** True for a promise (or any thenable), told apart without awaiting it. */
export function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Applies `fn` to a value or to what a promise resolves to. */
function then<T, U>(value: MaybePromise<T>, fn: (value: T) => U): MaybePromise<U> {
  return isPromise<T>(value) ? value.then(fn) : fn(value);
}

/**
 * Runs `step` for each plugin in order, threading `state` through; stays synchronous until a step returns a promise,
 * then awaits that and each following step. A synchronous throw propagates as a throw, a later one as a rejection.
 */
function inSequence<S>(plugins: ServerPlugin[], state: S, step: (plugin: ServerPlugin, state: S) => MaybePromise<S | void>): MaybePromise<S> {
  for (let i = 0; i < plugins.length; i++) {
    const result = step(plugins[i]!, state);
    if (isPromise<S | void>(result)) {
      return (async () => {
        let current = ((await result) ?? state) as S;
        for (let j = i + 1; j < plugins.length; j++) current = ((await step(plugins[j]!, current)) ?? current) as S;
        return current;
      })();
    }
    state = (result ?? state) as S;
  }
  return state;
}

