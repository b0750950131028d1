/**
 * Server-push messages as an async iterator. Messages that arrive while nobody iterates are kept up to a bound;
 * past it the oldest are dropped (a push channel is best-effort, as in rpcx).
 */
export class PushQueue<T> implements AsyncIterableIterator<T> {
  readonly #limit: number;
  #buffer: T[] = [];
  #waiters: Array<(result: IteratorResult<T>) => void> = [];
  #ended = false;
  dropped = 0;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) return waiter({ value: item, done: false });
    this.#buffer.push(item);
    if (this.#buffer.length > this.#limit) {
      this.#buffer.shift();
      this.dropped++;
    }
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters) waiter({ value: undefined, done: true });
    this.#waiters = [];
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#buffer.length > 0) return Promise.resolve({ value: this.#buffer.shift()!, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.#buffer = [];
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
