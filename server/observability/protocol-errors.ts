/**
 * Protocol errors (bad magic, oversized or malformed frames, limits and timeouts that close a connection) are
 * counted, per code, for /metrics, and logged without letting a hostile peer fill the log: the first one in a window
 * is logged as it happens, the rest of that window only as one summary line when the next window opens.
 */
import type { Logger } from '../../logger.js';
import type { RpcError } from '../../errors.js';

/** One warning line at most per this many milliseconds (plus its summary). */
const WINDOW_MS = 10_000;

export class ProtocolErrorLog {
  /** Errors seen since start, per error code. */
  readonly counts = new Map<string, number>();
  readonly #logger: Logger;
  readonly #windowMs: number;
  #windowStart = -Infinity;
  /** Errors suppressed in the current window, per code. */
  #suppressed = new Map<string, number>();
  #summaryTimer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, windowMs = WINDOW_MS) {
    this.#logger = logger;
    this.#windowMs = windowMs;
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  record(remote: string, error: RpcError): void {
    this.counts.set(error.code, (this.counts.get(error.code) ?? 0) + 1);
    const now = performance.now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#summarize();
      this.#windowStart = now;
      this.#logger.warn('closing connection on protocol error', { remote, code: error.code, error: error.message });
      return;
    }
    this.#suppressed.set(error.code, (this.#suppressed.get(error.code) ?? 0) + 1);
    // The summary comes at the window's end even if no further error opens the next window.
    this.#summaryTimer ??= setTimeout(() => {
      this.#summaryTimer = undefined;
      this.#summarize();
    }, this.#windowMs - (now - this.#windowStart)).unref();
  }

  #summarize(): void {
    if (this.#suppressed.size === 0) return;
    let n = 0;
    const byCode: Record<string, number> = {};
    for (const [code, count] of this.#suppressed) {
      byCode[code] = count;
      n += count;
    }
    this.#suppressed = new Map();
    this.#logger.warn(`${n} more connections closed on protocol errors in the last ${Math.round(this.#windowMs / 1000)} s`, { byCode });
  }

  close(): void {
    if (this.#summaryTimer) clearTimeout(this.#summaryTimer);
    this.#summaryTimer = undefined;
    this.#summarize();
  }
}
