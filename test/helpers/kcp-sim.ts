/**
 * A deterministic simulated network for the KCP ARQ tests: a seeded PRNG, a virtual millisecond clock, and a one-way
 * link with configurable loss, duplication, delay and jitter (jitter reorders packets).
 */
import { Kcp } from '../../transport/kcp/arq.js';

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LinkOptions {
  loss?: number;
  duplicate?: number;
  delayMs?: number;
  jitterMs?: number;
  /** Drop predicate on the n-th packet sent on this link (0-based), applied before random loss. */
  drop?: (index: number, packet: Uint8Array) => boolean;
}

export class SimClock {
  now = 1000;
  readonly read = (): number => this.now >>> 0;
}

interface InFlight {
  at: number;
  seq: number;
  data: Uint8Array;
}

export class Link {
  readonly #queue: InFlight[] = [];
  #seq = 0;
  sent = 0;
  dropped = 0;
  constructor(
    readonly clock: SimClock,
    readonly random: () => number,
    readonly options: LinkOptions,
  ) {}

  send(buffer: Uint8Array, size: number): void {
    const index = this.sent++;
    const data = buffer.slice(0, size);
    if (this.options.drop?.(index, data) || this.random() < (this.options.loss ?? 0)) {
      this.dropped++;
      return;
    }
    const copies = this.random() < (this.options.duplicate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = this.clock.now + (this.options.delayMs ?? 5) + Math.floor(this.random() * (this.options.jitterMs ?? 0));
      this.#queue.push({ at, seq: this.#seq++, data });
    }
  }

  /** Packets due by now, in arrival order. */
  due(): Uint8Array[] {
    const now = this.clock.now;
    const ready = this.#queue.filter((p) => p.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (ready.length === 0) return ready.map((p) => p.data);
    const keep = this.#queue.filter((p) => p.at > now);
    this.#queue.length = 0;
    this.#queue.push(...keep);
    return ready.map((p) => p.data);
  }

  get inFlight(): number {
    return this.#queue.length;
  }
}

export interface Pair {
  clock: SimClock;
  a: Kcp;
  b: Kcp;
  ab: Link;
  ba: Link;
  /** Advances the clock by `ms`, delivering packets and updating both ends every millisecond. */
  run(ms: number, onTick?: () => void): void;
  /** Runs until `done()` or `limitMs` elapses; returns the elapsed virtual milliseconds. */
  runUntil(done: () => boolean, limitMs: number, onTick?: () => void): number;
}

export interface PairOptions {
  seed?: number;
  ab?: LinkOptions;
  ba?: LinkOptions;
  configure?: (kcp: Kcp) => void;
  /** Flush acks right after input (kcp-go's ack-nodelay). */
  ackNoDelay?: boolean;
}

export function makePair(options: PairOptions = {}): Pair {
  const clock = new SimClock();
  const random = prng(options.seed ?? 1);
  const ab = new Link(clock, random, options.ab ?? {});
  const ba = new Link(clock, random, options.ba ?? {});
  const a = new Kcp(0x11223344, (buf, size) => ab.send(buf, size), clock.read);
  const b = new Kcp(0x11223344, (buf, size) => ba.send(buf, size), clock.read);
  options.configure?.(a);
  options.configure?.(b);
  const deliver = (link: Link, to: Kcp): void => {
    for (const packet of link.due()) {
      const flags = to.input(packet);
      if (flags >= 0 && options.ackNoDelay && to.pendingAcks > 0) to.flush(true);
    }
  };
  const tick = (onTick?: () => void): void => {
    clock.now++;
    deliver(ab, b);
    deliver(ba, a);
    onTick?.();
    a.update(clock.now);
    b.update(clock.now);
  };
  return {
    clock,
    a,
    b,
    ab,
    ba,
    run(ms, onTick) {
      for (let i = 0; i < ms; i++) tick(onTick);
    },
    runUntil(done, limitMs, onTick) {
      const start = clock.now;
      while (!done() && clock.now - start < limitMs) tick(onTick);
      return clock.now - start;
    },
  };
}
