/**
 * Credit-based flow control for typed message streams, one instance per direction and stream. The receiver's
 * InboundQueue holds at most `window` messages and gives credit back as its consumer takes them (in batches of half a
 * window, so credit frames stay rare); the sender's CreditGate lets a message out only while it holds credit. A slow
 * reader therefore bounds the writer's memory to one window of messages.
 */

/** Received messages as an async iterator, with credit handed back as they are consumed. */
export class InboundQueue<T> implements AsyncIterableIterator<T> {
  readonly #window: number;
  readonly #grant: (credit: number) => void;
  readonly #onReturn: () => void;
  #items: T[] = [];
  #head = 0;
  #consumed = 0;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  #ended = false;
  #error: Error | undefined;

  /** `grant` sends credit back to the sender; `onReturn` runs when the consumer stops early (break, return()). */
  constructor(window: number, grant: (credit: number) => void, onReturn: () => void) {
    this.#window = window;
    this.#grant = grant;
    this.#onReturn = onReturn;
  }

  /** Messages received and not yet consumed. */
  get buffered(): number {
    return this.#items.length - this.#head;
  }

  /** Adds a received message; false when the sender overran its credit (a protocol violation). */
  push(item: T): boolean {
    if (this.#ended || this.#error) return true;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#taken();
      waiter.resolve({ value: item, done: false });
      return true;
    }
    this.#items.push(item);
    return this.buffered <= this.#window;
  }

  /** The sender finished: the iterator ends after the buffered messages. */
  end(): void {
    this.#ended = true;
    this.#settleWaiter();
  }

  /** The stream failed: the iterator throws `error` after the buffered messages. */
  fail(error: Error): void {
    if (this.#ended) return;
    this.#error ??= error;
    this.#settleWaiter();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head]!;
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      this.#taken();
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.#ended && !this.#error) {
      this.#ended = true;
      this.#onReturn();
    }
    this.#items = [];
    this.#head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #taken(): void {
    if (this.#ended) return;
    this.#consumed++;
    if (this.#consumed * 2 >= this.#window) {
      const credit = this.#consumed;
      this.#consumed = 0;
      this.#grant(credit);
    }
  }

  #settleWaiter(): void {
    const waiter = this.#waiter;
    if (!waiter || this.#head < this.#items.length) return;
    this.#waiter = undefined;
    if (this.#error) waiter.reject(this.#error);
    else waiter.resolve({ value: undefined, done: true });
  }
}

/** The sender's side: how many messages it may still send. */
export class CreditGate {
  #credit: number;
  #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  #error: Error | undefined;

  constructor(initial: number) {
    this.#credit = initial;
  }

  get credit(): number {
    return this.#credit;
  }

  grant(credit: number): void {
    this.#credit += credit;
    while (this.#credit > 0 && this.#waiters.length > 0) {
      this.#credit--;
      this.#waiters.shift()!.resolve();
    }
  }

  /** Takes one credit: at once when there is one, else when the receiver grants more. Rejects once failed. */
  take(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#credit > 0) {
      this.#credit--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  fail(error: Error): void {
    this.#error ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}
