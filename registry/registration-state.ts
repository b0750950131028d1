/**
 * Whether a registrar's entries are currently in its store, logged once per change: one warning when they are lost,
 * one line when they are back, and nothing for each retry in between (those go to debug).
 */
import type { Logger } from '../logger.js';

export class RegistrationState {
  #healthy = true;
  readonly #logger: Logger;
  readonly #store: string;

  constructor(logger: Logger, store: string) {
    this.#logger = logger;
    this.#store = store;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  lost(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.#healthy) this.#logger.warn(`${this.#store} registration lost; retrying with backoff`, { error: message });
    else this.#logger.debug(`${this.#store} still unreachable`, { error: message });
    this.#healthy = false;
  }

  restored(): void {
    if (!this.#healthy) this.#logger.info(`${this.#store} registration restored`);
    this.#healthy = true;
  }
}
