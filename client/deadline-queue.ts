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

/**
 * A ring buffer (capacity a power of two, doubled when full): in steady state adding and dropping entries allocates
 * nothing, where an array shifted from the front would be copied over and over. It starts with room for two: most
 * connections have one call at a time, and ten thousand idle ones should not each hold room for sixteen.
 */
class Fifo<T extends Deadlined> {
  #items: Array<T | undefined> = [undefined, undefined];
  #head = 0;
  #size = 0;
  get size(): number {
    return this.#size;
  }
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (items.length - 1);
    this.#size--;
    return item;
  }
  push(item: T): void {
    let items = this.#items;
    if (this.#size === items.length) items = this.#grow();
    items[(this.#head + this.#size) & (items.length - 1)] = item;
    this.#size++;
  }
  /** Drops the settled entries at the head (calls that completed before their deadline). */
  dropSettled(): void {
    const items = this.#items;
    const mask = items.length - 1;
    let head = this.#head;
    let size = this.#size;
    while (size > 0 && items[head]!.settled) {
      items[head] = undefined;
      head = (head + 1) & mask;
      size--;
    }
    this.#head = head;
    this.#size = size;
  }
  #grow(): Array<T | undefined> {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = items;
    this.#head = 0;
    return items;
  }
}

export class DeadlineQueue<T extends Deadlined> {
  /** One FIFO per distinct timeout; usually a single one (see CompactMap). */
  readonly #queues = new CompactMap<number, Fifo<T>>();
  /** The queue `add` used last and its timeout: calls nearly always share one timeout, so most adds skip the Map. */
  #lastTimeout = NaN;
  #lastQueue: Fifo<T> | undefined;
  readonly #onExpire: (item: T) => void;
  readonly #onEmpty: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
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
    let queue = timeoutMs === this.#lastTimeout ? this.#lastQueue! : this.#queues.get(timeoutMs);
    if (!queue) {
      queue = new Fifo<T>();
      this.#queues.set(timeoutMs, queue);
    }
    this.#lastTimeout = timeoutMs;
    this.#lastQueue = queue;
    queue.dropSettled();
    queue.push(item);
    if (item.deadline < this.#timerAt) this.#arm(item.deadline);
  }

  /**
   * `item` settled by other means. When it heads the latest FIFO (calls answered in the order they were made, always
   * so for one call at a time) it is dropped now, with any settled ones behind it: a finished call, and everything it
   * holds (its reply, its caller's state), is not kept until its deadline would have passed. That kept every idle
   * connection's last call alive for the whole timeout, long enough to be copied and promoted by the GC. The timer
   * stays armed (re-arming per call would cost more); when it fires with nothing left the owner drops the queue.
   */
  settled(item: T): void {
    const queue = this.#lastQueue;
    if (queue !== undefined && queue.peek() === item) queue.dropSettled();
  }

  /** Stops the timer and forgets every entry. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#queues.clear();
    this.#forgetLast();
  }

  #forgetLast(): void {
    this.#lastTimeout = NaN;
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
        if (queue === this.#lastQueue) this.#forgetLast();
      } else next = Math.min(next, queue.peek()!.deadline);
    }
    if (next < Infinity) this.#arm(next);
    else if (this.#onEmpty !== undefined && this.#queues.size === 0) this.#onEmpty();
  }
}
