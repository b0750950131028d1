/**
 * Request rate limiting with a token bucket, as rpcx's ReqRateLimitingPlugin: each request takes one token; with
 * none left the request is refused with rpcx's text "request reached rate limit" (the method does not run, the
 * connection stays open; the HTTP gateway answers 429). One bucket for the whole server, or one per connection.
 * Heartbeats are never limited.
 */
import { ConfigError, RateLimitError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import type { ConnectionInfo, ServerPlugin } from './plugins.js';

export interface RateLimitOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: the burst allowed after a quiet period (default: ratePerSecond, at least 1). */
  burst?: number;
  /** One bucket per connection instead of one for the server (default false). */
  perConnection?: boolean;
}

/** A token bucket refilled continuously. */
export class TokenBucket {
  readonly ratePerMs: number;
  readonly capacity: number;
  #tokens: number;
  #updated: number;

  constructor(ratePerSecond: number, capacity: number) {
    if (!(ratePerSecond > 0) || !(capacity >= 1)) throw new ConfigError('rpcx: a rate limit needs ratePerSecond > 0 and burst >= 1');
    this.ratePerMs = ratePerSecond / 1000;
    this.capacity = capacity;
    this.#tokens = capacity;
    this.#updated = performance.now();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#updated) * this.ratePerMs);
    this.#updated = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The rate limiter as a server plugin (what `ServerOptions.rateLimit` installs). */
export class RateLimitPlugin implements ServerPlugin {
  readonly name = 'rate-limit';
  readonly #options: Required<RateLimitOptions>;
  readonly #shared: TokenBucket | undefined;
  readonly #perConnection = new WeakMap<ConnectionInfo, TokenBucket>();

  constructor(options: RateLimitOptions) {
    const burst = options.burst ?? Math.max(1, options.ratePerSecond);
    this.#options = { ratePerSecond: options.ratePerSecond, burst, perConnection: options.perConnection === true };
    this.#shared = this.#options.perConnection ? undefined : new TokenBucket(options.ratePerSecond, burst);
  }

  /** The effective limits (burst and perConnection defaults applied), as /flags shows them. */
  get settings(): Readonly<Required<RateLimitOptions>> {
    return this.#options;
  }

  postReadRequest(_request: Message, connection: ConnectionInfo): void {
    let bucket = this.#shared;
    if (bucket === undefined) {
      bucket = this.#perConnection.get(connection);
      if (!bucket) {
        bucket = new TokenBucket(this.#options.ratePerSecond, this.#options.burst);
        this.#perConnection.set(connection, bucket);
      }
    }
    if (!bucket.take()) throw new RateLimitError();
  }
}
