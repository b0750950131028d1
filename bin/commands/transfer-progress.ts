/** What `upload` and `download` share: their flags, and the progress bar and closing MB/s line. */
import type { ClientOptions } from '../../index.js';
import type { TransferResult } from '../../client/file-transfer.js';
import type { Flags } from '../command.js';
import { metaOption, numberOption } from '../options.js';

export const transferFlags: Flags = {
  meta: { type: 'string', multiple: true, value: 'KEY=VALUE', help: 'the Meta map sent with the file' },
  auth: { type: 'string', value: 'TOKEN', help: "auth token for the token call (sent as __AUTH)" },
  timeout: { type: 'string', value: 'ms', help: 'deadline of the token call (default 10000); the transfer itself has none' },
};

export interface TransferSettings {
  meta: Record<string, string>;
  timeoutMs: number;
  client: ClientOptions;
}

export function transferSettings(values: Record<string, unknown>): TransferSettings {
  const timeoutMs = numberOption(values.timeout, 10_000, 'timeout');
  return {
    meta: metaOption(values.meta) ?? {},
    timeoutMs,
    client: { connectTimeoutMs: Math.min(timeoutMs || 10_000, 10_000), ...(typeof values.auth === 'string' ? { auth: values.auth } : {}) },
  };
}

export class TransferProgress {
  readonly #verb: string;
  readonly #tty: boolean;
  #lastDraw = 0;

  constructor(verb: string) {
    this.#verb = verb;
    this.#tty = process.stderr.isTTY === true;
  }

  /** Redraws the bar on stderr (a terminal only), at most ten times a second. */
  update = (bytes: number, total: number | undefined): void => {
    if (!this.#tty) return;
    const now = performance.now();
    if (now - this.#lastDraw < 100 && bytes !== total) return;
    this.#lastDraw = now;
    const width = 30;
    const bar = total ? '#'.repeat(Math.round((bytes / total) * width)).padEnd(width, '.') : '';
    const percent = total ? ` ${((bytes / total) * 100).toFixed(0).padStart(3)}%` : '';
    process.stderr.write(`\r${this.#verb} [${bar}]${percent} ${formatBytes(bytes)}${total ? ' / ' + formatBytes(total) : ''}   `);
  };

  /** The summary: bytes, seconds and MB/s, on stdout. */
  done(name: string, result: TransferResult): void {
    if (this.#tty) process.stderr.write('\n');
    const seconds = result.ms / 1000;
    const rate = seconds > 0 ? result.bytes / 1e6 / seconds : 0;
    process.stdout.write(`${this.#verb} ${name}: ${result.bytes} bytes in ${seconds.toFixed(2)} s (${rate.toFixed(1)} MB/s)\n`);
  }
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
