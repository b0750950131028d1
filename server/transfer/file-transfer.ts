/**
 * rpcx's file transfer (`_filetransfer`): `TransferFile` hands out a token for an upload, `DownloadFile` one for a
 * download; the bytes then flow on a data connection to the TokenGate's listener. Uploads go to `save` (or into
 * `dir`); downloads come from `open` (or from `dir`). A failed upload or download is signalled as rpcx does, by
 * resetting the data connection; a finished upload is acknowledged by closing it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import type net from 'node:net';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asError, ServiceError, TransferError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  readDownloadFileArgs,
  readFileTransferArgs,
  structToWire,
  type DownloadFileArgs,
  type FileTransferArgs,
} from '../../protocol/transfer-structs.js';
import type { TlsOptions } from '../../transport/transport.js';
import type { CallContext } from '../context.js';
import { TokenGate, type TokenGateOptions } from './token-gate.js';

export interface Upload {
  readonly args: FileTransferArgs;
  /** The file's bytes, ending when the client has sent them all. */
  readonly data: Readable;
  readonly remoteAddress: string;
}

export interface DownloadRequest {
  readonly args: DownloadFileArgs;
  readonly remoteAddress: string;
}

export interface FileTransferOptions extends TokenGateOptions {
  /** Stores an upload; resolve when stored, throw to fail it (the client sees its data connection reset). */
  save?: (upload: Upload) => Promise<void> | void;
  /** The bytes of a download: a Readable or a file path; throw to fail it. */
  open?: (request: DownloadRequest) => Promise<Readable | string> | Readable | string;
  /**
   * A directory to store uploads in and serve downloads from, by the base name of `FileName` (no paths). An upload
   * whose byte count differs from its `FileSize` is discarded. Used where `save` / `open` is not given.
   */
  dir?: string;
  /**
   * Called before a token is handed out (after the server's auth); throw to refuse the call with that error.
   */
  authorize?: (args: FileTransferArgs | DownloadFileArgs, ctx: CallContext, kind: 'upload' | 'download') => Promise<void> | void;
}

type Ticket = { kind: 'upload'; args: FileTransferArgs } | { kind: 'download'; args: DownloadFileArgs };

export class FileTransferService {
  readonly #gate: TokenGate<Ticket>;
  readonly #options: FileTransferOptions;
  readonly #logger: Logger;

  static async start(options: FileTransferOptions, tlsDefault: TlsOptions | undefined, logger: Logger): Promise<FileTransferService> {
    let service: FileTransferService | undefined;
    const gate = await TokenGate.open<Ticket>(options, tlsDefault, logger, (socket, ticket) => service!.#serve(socket, ticket));
    service = new FileTransferService(gate, options, logger);
    return service;
  }

  private constructor(gate: TokenGate<Ticket>, options: FileTransferOptions, logger: Logger) {
    this.#gate = gate;
    this.#options = options;
    this.#logger = logger;
  }

  get gate(): TokenGate<unknown> {
    return this.#gate as TokenGate<unknown>;
  }

  /** The `TransferFile` method. */
  async transferFile(value: unknown, ctx: CallContext): Promise<unknown> {
    if (!this.#options.save && this.#options.dir === undefined) throw new ServiceError('rpcx: this server accepts no uploads');
    const args = readFileTransferArgs(value, ctx.serializeType);
    if (!this.#options.save) safeName(args.FileName);
    await this.#options.authorize?.(args, ctx, 'upload');
    return structToWire({ ...this.#gate.issue({ kind: 'upload', args }) }, ctx.serializeType);
  }

  /** The `DownloadFile` method. */
  async downloadFile(value: unknown, ctx: CallContext): Promise<unknown> {
    if (!this.#options.open && this.#options.dir === undefined) throw new ServiceError('rpcx: this server serves no downloads');
    const args = readDownloadFileArgs(value, ctx.serializeType);
    if (!this.#options.open) safeName(args.FileName);
    await this.#options.authorize?.(args, ctx, 'download');
    return structToWire({ ...this.#gate.issue({ kind: 'download', args }) }, ctx.serializeType);
  }

  /** Stops taking data connections; transfers under way get up to `graceMs` to finish. */
  close(graceMs = 0): Promise<void> {
    return this.#gate.close(graceMs);
  }

  #serve(socket: net.Socket, ticket: Ticket): void {
    const remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    const work = ticket.kind === 'upload' ? this.#receive(socket, ticket.args, remoteAddress) : this.#send(socket, ticket.args, remoteAddress);
    work.then(
      () => {
        socket.end();
        // A client that never closes its side must not hold the socket forever.
        setTimeout(() => socket.destroy(), 30_000).unref();
      },
      (error: unknown) => {
        this.#logger.warn(`file ${ticket.kind} failed`, { file: ticket.args.FileName, remote: remoteAddress, error: asError(error).message });
        // rpcx has no error channel here: a reset tells the client the transfer failed.
        if (!socket.destroyed) socket.resetAndDestroy();
      },
    );
  }

  async #receive(socket: net.Socket, args: FileTransferArgs, remoteAddress: string): Promise<void> {
    if (this.#options.save) {
      await this.#options.save({ args, data: socket, remoteAddress });
      // A handler that stopped reading early must not leave the client blocked on a full window.
      if (!socket.readableEnded) socket.resume();
      return;
    }
    const target = join(this.#options.dir!, safeName(args.FileName));
    const partial = `${target}.${process.pid}.${Date.now()}.part`;
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(socket, counter, createWriteStream(partial));
      if (args.FileSize > 0 && received !== args.FileSize) {
        throw new TransferError(`rpcx: received ${received} bytes of a ${args.FileSize}-byte file`);
      }
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async #send(socket: net.Socket, args: DownloadFileArgs, remoteAddress: string): Promise<void> {
    let source: Readable | string;
    if (this.#options.open) source = await this.#options.open({ args, remoteAddress });
    else {
      source = join(this.#options.dir!, safeName(args.FileName));
      await stat(source); // a missing file fails here: the client sees a reset, not an empty file
    }
    const readable = typeof source === 'string' ? createReadStream(source, { highWaterMark: 256 * 1024 }) : source;
    // The client sends nothing after its token; keep reading so a FIN from it is noticed.
    socket.resume();
    await pipeline(readable, socket, { end: false });
  }
}

/** The base name of a client-supplied file name: no directories, no `..`. */
function safeName(name: string): string {
  const base = basename(name.replaceAll('\\', '/'));
  if (base === '' || base === '.' || base === '..') throw new ServiceError(`rpcx: bad file name ${JSON.stringify(name)}`);
  return base;
}

