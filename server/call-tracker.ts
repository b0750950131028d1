/**
 * The calls running on one server connection: how many, which call contexts must hear when the connection drops,
 * and who is waiting for the connection to go idle (graceful shutdown). Binary and HTTP connections both keep one.
 */
import { AbortedError } from '../errors.js';
import type { CallContext } from './context.js';

export class CallTracker {
  /** Calls started and not yet answered. */
  inFlight = 0;
  #tracked: Set<CallContext> | undefined;
  /** Made when someone first waits for idle (graceful shutdown); most connections never have a waiter. */
  #idleWaiters: Array<() => void> | undefined;
  readonly #defer: (wake: () => void) => void;
  #wakeBound: (() => void) | undefined;

  /** `defer` schedules the idle wake-up so the last call's reply is queued (or written) before waiters resume. */
  constructor(defer: (wake: () => void) => void) {
    this.#defer = defer;
  }

  started(): void {
    this.inFlight++;
  }

  finished(): void {
    if (this.inFlight > 0) this.inFlight--;
    if (this.inFlight === 0 && this.#idleWaiters !== undefined) this.#defer((this.#wakeBound ??= () => this.#wake()));
  }

  /** A context whose signal must fire if the connection drops. */
  track(ctx: CallContext): void {
    (this.#tracked ??= new Set()).add(ctx);
  }

  untrack(ctx: CallContext): void {
    this.#tracked?.delete(ctx);
  }

  /** The client cancelled call `seq`: abort its context (if its handler watches the signal, it is tracked). */
  cancel(seq: number): void {
    if (this.#tracked) for (const ctx of this.#tracked) if (ctx.request.seq === seq) ctx.abort(new AbortedError('cancelled by the client'));
  }

  /** Resolves when no call is in flight (at once if none is, or if the connection is already `closed`). */
  idle(closed: boolean): Promise<void> {
    if (this.inFlight === 0 || closed) return Promise.resolve();
    return new Promise((resolve) => (this.#idleWaiters ??= []).push(resolve));
  }

  /** The connection is gone: abort the contexts still tracked, forget the count and wake the idle waiters. */
  connectionClosed(): void {
    if (this.#tracked) for (const ctx of this.#tracked) ctx.abort(new AbortedError('connection closed'));
    this.#tracked = undefined;
    this.inFlight = 0;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = undefined;
    if (waiters !== undefined) for (const wake of waiters) wake();
  }
}
