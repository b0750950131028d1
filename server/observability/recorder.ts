/**
 * Records sampled calls to a bounded, rotating file (call-record.ts has the format), for `rpcx-ts replay`: brpc's
 * rpc_dump. A server plugin: the request is sampled when it is read (postReadRequest, every protocol) and written
 * when its reply is (preWriteResponse), with the time in between; oneway calls are written at once.
 *
 * Bounded three ways: each file grows to `maxFileBytes`, then `path` becomes `path.1` (`path.1` becomes `path.2`,
 * ...) and only `maxFiles` files are kept; when the disk falls behind by more than `maxPendingBytes`, records are
 * dropped (and counted) instead of queued.
 */
import { createWriteStream, existsSync, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { MetaKey } from '../../protocol/constants.js';
import type { Message, Metadata } from '../../protocol/message.js';
import type { ConnectionInfo, ServerPlugin } from '../plugins.js';
import type { CallRecord } from './call-record.js';

export interface RecordOptions {
  /** The file to write; rotated files get `.1`, `.2`, ... appended. */
  path: string;
  /** Share of calls recorded, 0..1 (default 1: every call). */
  sampleRate?: number;
  /** Size at which the file rotates (default 16 MiB). */
  maxFileBytes?: number;
  /** Files kept, the current one included (default 4). */
  maxFiles?: number;
  /** Records waiting for the disk beyond which new ones are dropped (default 4 MiB). */
  maxPendingBytes?: number;
}

interface Pending {
  t: number;
  started: number;
  protocol: string;
}

export class CallRecorder implements ServerPlugin {
  readonly name = 'record';
  readonly settings: Readonly<Required<RecordOptions>>;
  /** Records written (handed to the file). */
  recorded = 0;
  /** Records dropped because the disk fell behind. */
  dropped = 0;
  readonly #logger: Logger;
  readonly #pending = new WeakMap<Message, Pending>();
  #stream: WriteStream | undefined;
  #bytes = 0;
  #failed = false;
  readonly #ending = new Set<Promise<void>>();
  /** With maxFiles 1 the file starts over instead of rotating. */
  #truncate = false;

  constructor(options: RecordOptions, logger: Logger) {
    const sampleRate = options.sampleRate ?? 1;
    if (!(sampleRate >= 0 && sampleRate <= 1)) throw new ConfigError(`rpcx: record.sampleRate must be in [0, 1], got ${sampleRate}`);
    const maxFiles = options.maxFiles ?? 4;
    if (!Number.isInteger(maxFiles) || maxFiles < 1) throw new ConfigError(`rpcx: record.maxFiles must be a positive integer, got ${maxFiles}`);
    this.settings = {
      path: options.path,
      sampleRate,
      maxFileBytes: options.maxFileBytes ?? 16 * 1024 * 1024,
      maxFiles,
      maxPendingBytes: options.maxPendingBytes ?? 4 * 1024 * 1024,
    };
    this.#logger = logger;
  }

  postReadRequest(request: Message, connection: ConnectionInfo): void {
    if (this.#failed || (this.settings.sampleRate < 1 && Math.random() >= this.settings.sampleRate)) return;
    const pending = { t: Date.now(), started: performance.now(), protocol: connection.protocol };
    if (request.oneway) this.#write(request, pending, 0, undefined);
    else this.#pending.set(request, pending);
  }

  preWriteResponse(request: Message, reply: Message): void {
    const pending = this.#pending.get(request);
    if (pending === undefined) return;
    this.#pending.delete(request);
    this.#write(request, pending, performance.now() - pending.started, reply.isError ? (reply.metadata[MetaKey.Error] ?? 'error') : undefined);
  }

  /** Writes what is queued (to the current file and to files just rotated away) and closes the files. */
  async close(): Promise<void> {
    this.#failed = true;
    this.#end();
    await Promise.all(this.#ending);
  }

  /** Ends the current file; its queued writes finish in the background (close() waits for them). */
  #end(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined) return;
    const ended = new Promise<void>((resolve) => stream.end(resolve));
    this.#ending.add(ended);
    void ended.then(() => this.#ending.delete(ended));
  }

  #write(request: Message, pending: Pending, durationMs: number, error: string | undefined): void {
    const stream = this.#open();
    if (stream === undefined) return;
    if (stream.writableLength > this.settings.maxPendingBytes) {
      this.dropped++;
      return;
    }
    const record: CallRecord = {
      t: pending.t,
      service: request.servicePath,
      method: request.serviceMethod,
      protocol: pending.protocol,
      serializeType: request.serializeType,
      compressType: request.compressType,
      ...(request.oneway ? { oneway: true } : {}),
      metadata: withoutAuth(request.metadata),
      payload: Buffer.from(request.payload.buffer, request.payload.byteOffset, request.payload.byteLength).toString('base64'),
      durationMs: Math.round(durationMs * 1000) / 1000,
      status: error === undefined ? 'ok' : 'error',
      ...(error !== undefined ? { error } : {}),
    };
    const line = JSON.stringify(record) + '\n';
    stream.write(line);
    this.recorded++;
    this.#bytes += Buffer.byteLength(line);
    if (this.#bytes >= this.settings.maxFileBytes) this.#rotate();
  }

  #open(): WriteStream | undefined {
    if (this.#stream !== undefined || this.#failed) return this.#stream;
    const path = this.settings.path;
    this.#bytes = !this.#truncate && existsSync(path) ? statSync(path).size : 0;
    // Opened here, not by the stream in the background: the file must exist when a rotation renames it, even one
    // that comes before the stream would have got round to opening it (its writes then follow it to path.1).
    let fd: number;
    try {
      fd = openSync(path, this.#truncate ? 'w' : 'a');
    } catch (error) {
      this.#logger.error('call recording stopped', { path, error });
      this.#failed = true;
      return undefined;
    }
    const stream = createWriteStream(path, { fd });
    this.#truncate = false;
    stream.on('error', (error) => {
      // A full disk or a removed directory stops recording; serving goes on.
      this.#logger.error('call recording stopped', { path, error });
      this.#failed = true;
      if (this.#stream === stream) this.#stream = undefined;
    });
    this.#stream = stream;
    return stream;
  }

  /** path → path.1 → path.2 ...; the oldest beyond maxFiles is overwritten. Writes queued on the old file finish there. */
  #rotate(): void {
    const { path, maxFiles } = this.settings;
    this.#end();
    this.#truncate = maxFiles === 1;
    try {
      for (let i = maxFiles - 1; i >= 1; i--) {
        const from = i === 1 ? path : `${path}.${i - 1}`;
        if (existsSync(from)) renameSync(from, `${path}.${i}`);
      }
    } catch (error) {
      this.#logger.error('call recording could not rotate its file', { path, error });
      this.#failed = true;
    }
  }
}

function withoutAuth(metadata: Metadata): Metadata {
  if (!(MetaKey.Auth in metadata)) return metadata;
  const { [MetaKey.Auth]: _token, ...rest } = metadata;
  return rest;
}
