/**
 * A consecutive-failures circuit breaker, one per server. Closed: calls flow; `threshold` failures in a row open it.
 * Open: the server is skipped for `windowMs`. Then half-open: one trial call is let through; its success closes the
 * breaker, its failure opens it for another window. Failed calls (not service errors: a server that answers is
 * healthy) and failed dials count as failures.
 */

export interface BreakerOptions {
  /** Consecutive failures that open the breaker (default 5). */
  threshold?: number;
  /** How long it stays open before letting a trial call through, in ms (default 10,000). */
  windowMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  readonly threshold: number;
  readonly windowMs: number;
  #failures = 0;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #trialInFlight = false;

  constructor(options: BreakerOptions = {}) {
    this.threshold = Math.max(1, options.threshold ?? 5);
    this.windowMs = Math.max(0, options.windowMs ?? 10_000);
  }

  get state(): BreakerState {
    if (this.#state === 'open' && Date.now() - this.#openedAt >= this.windowMs) return 'half-open';
    return this.#state;
  }

  /** Consecutive failures counted so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether a call may go to the server now, without taking the half-open trial slot. */
  available(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.#trialInFlight);
  }

  /** Asks to make a call: true when it may go. In half-open state only one trial is allowed at a time. */
  ready(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.#trialInFlight) return false;
    this.#state = 'half-open';
    this.#trialInFlight = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    this.#state = 'closed';
  }

  failure(): void {
    this.#failures++;
    const state = this.state;
    if (state === 'half-open' || (state === 'closed' && this.#failures >= this.threshold)) {
      this.#state = 'open';
      this.#openedAt = Date.now();
    } else if (state === 'open') {
      this.#openedAt = Date.now();
    }
    this.#trialInFlight = false;
  }

  /** The call let through finished without saying anything about the server (aborted, bad args): free the trial. */
  cancel(): void {
    this.#trialInFlight = false;
  }

  /** Forgets everything: closed, no failures. */
  reset(): void {
    this.#failures = 0;
    this.#state = 'closed';
    this.#trialInFlight = false;
  }
}
