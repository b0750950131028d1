/**
 * Call deadlines without a timer per call. Calls that share a timeout expire in the order they were made, so each
 * distinct timeout value keeps a FIFO; one timer is armed for the earliest head. Settled calls are dropped from the
 * heads as the queue moves, so in steady state the queues hold about the calls still in flight.
 */
import { CompactMap } from './compact-map.js';

export interface Deadlined {
  /** Milliseconds since the epoch. */
  deadline: number;
  /** True once the call completed by other means; the queue then skips it. */
  settled: boolean;
}

class Fifo<T> {
  /** Made as `[first]`: an empty array pushed to reserves room for 17, and most connections have one call at a time. */
  items: T[];
  head = 0;
  constructor(first: T) {
    this.items = [first];
  }
  get size(): number {
    return this.items.length - this.head;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  push(item: T): void {
    this.items.push(item);
  }
}

export class DeadlineQueue<T extends Deadlined> {
  /** One FIFO per distinct timeout; usually a single one (see CompactMap). */
  readonly #queues = new CompactMap<number, Fifo<T>>();
  readonly #onExpire: (item: T) => void;
  readonly #onEmpty: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** The FIFO of the latest add: where a call answered in order is found at the head (see settled). */
  #lastQueue: Fifo<T> | undefined;
  /** One timer callback for every queue (the queue is its argument), not a closure per connection. */
  static readonly #fireQueue = <Item extends Deadlined>(queue: DeadlineQueue<Item>): void => queue.#fire();

  /**
   * `onEmpty`: called when the timer fired and left nothing queued, so an owner that keeps a queue per connection can
   * drop it while the connection idles (it costs a Map, a callback and their context).
   */
  constructor(onExpire: (item: T) => void, onEmpty?: () => void) {
    this.#onExpire = onExpire;
    this.#onEmpty = onEmpty;
  }

  add(item: T, timeoutMs: number): void {
    let queue = this.#queues.get(timeoutMs);
    if (!queue) {
      queue = new Fifo<T>(item);
      this.#queues.set(timeoutMs, queue);
    } else {
      while (queue.size > 0 && queue.peek()!.settled) queue.shift();
      queue.push(item);
    }
    this.#lastQueue = queue;
    if (item.deadline < this.#timerAt) this.#arm(item.deadline);
  }

  /**
   * `item` settled by other means. When it heads its FIFO (calls answered in the order they were made, always so for
   * one call at a time) it is dropped now, with any settled ones behind it: a finished call, and everything it holds
   * (its reply, its caller's state), is not kept until its deadline would have passed. That kept every idle
   * connection's last call alive for the whole timeout, long enough to be copied and promoted by the GC. The timer
   * stays armed (re-arming per call would cost more); when it fires with nothing left the owner drops the queue.
   */
  settled(item: T): void {
    const queue = this.#lastQueue;
    if (queue === undefined || queue.peek() !== item) return;
    while (queue.size > 0 && queue.peek()!.settled) queue.shift();
  }

  /** Stops the timer and forgets every entry. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#queues.clear();
    this.#lastQueue = undefined;
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(DeadlineQueue.#fireQueue, Math.max(0, at - Date.now()), this);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [timeout, queue] of this.#queues) {
      while (queue.size > 0) {
        const head = queue.peek()!;
        if (head.settled) queue.shift();
        else if (head.deadline <= now) {
          queue.shift();
          this.#onExpire(head);
        } else break;
      }
      if (queue.size === 0) {
        this.#queues.delete(timeout);
        if (this.#lastQueue === queue) this.#lastQueue = undefined;
      }
      else next = Math.min(next, queue.peek()!.deadline);
    }
    if (next < Infinity) this.#arm(next);
    else if (this.#onEmpty !== undefined && this.#queues.size === 0) this.#onEmpty();
  }
}
