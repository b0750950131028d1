/**
 * The client side of rpcx's file transfer and stream service, as Go's XClient does it: a token call on the rpcx
 * connection (`_filetransfer.TransferFile` / `DownloadFile`, `_streamservice.Stream`), then a new TCP connection to
 * the reply's `Addr` (TLS when the client uses TLS), the 32 token bytes first, then the data.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';
import { AbortedError, asError, ConfigError, TransferError } from '../errors.js';
import { SerializeType } from '../protocol/constants.js';
import {
  FILE_TRANSFER_SERVICE,
  readTransferReply,
  STREAM_SERVICE,
  structToWire,
  type TransferReply,
} from '../protocol/transfer-structs.js';
import { splitHostPort, joinHostPort } from '../transport/networks.js';
import { tlsClientOptions, waitConnected } from '../transport/tcp.js';
import type { TlsOptions } from '../transport/transport.js';
import type { CallOptions } from './call-options.js';

/** What the transfer functions need from a Client or XClient. */
export interface TransferHost {
  call(service: string, method: string, args: unknown, options: CallOptions): Promise<unknown>;
  /** The host the rpcx connection reached: used when `Addr` has none (`:8973`). */
  readonly remoteHost: string;
  readonly serializeType: number;
  readonly tls: TlsOptions | undefined;
  readonly connectTimeoutMs: number;
}

export interface TransferOptions extends Pick<CallOptions, 'metadata'> {
  /** Deadline of the token call in ms (the transfer itself has none: bound it with `signal`, e.g. AbortSignal.timeout). */
  timeoutMs?: number;
  /** Aborts the token call and the transfer. */
  signal?: AbortSignal;
  /** The service path of the token call (default `_filetransfer` / `_streamservice`; an XClient passes its own). */
  service?: string;
  /** TLS for the data connection; `false` for plain TCP (a Go server's). Default: the client's TLS settings. */
  tls?: TlsOptions | false;
  /** Called as bytes go out or come in, with the running total. */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

export interface SendFileOptions extends TransferOptions {
  /** The name sent as `FileName` (default: the path's base name; required for a Readable source). */
  fileName?: string;
  /** The size sent as `FileSize` (default: the file's size; 0 for a Readable). */
  fileSize?: number;
  /**
   * After the last byte, how long to wait for the server to close the data connection (our servers do once the file
   * is stored; a Go handler may never do so, and rpcx has no acknowledgement). Default 10 s; then it counts as sent.
   */
  finishTimeoutMs?: number;
}

export interface TransferResult {
  bytes: number;
  ms: number;
}

/** `SendFile`: uploads a file (path) or a Readable. */
export async function sendFile(host: TransferHost, source: string | Readable, meta: Record<string, string> = {}, options: SendFileOptions = {}): Promise<TransferResult> {
  let fileName = options.fileName;
  let fileSize = options.fileSize;
  if (typeof source === 'string') {
    fileName ??= basename(source);
    fileSize ??= (await stat(source)).size;
  }
  if (fileName === undefined) throw new ConfigError('rpcx: sendFile from a stream needs options.fileName');
  const started = performance.now();
  const reply = await tokenCall(host, options.service ?? FILE_TRANSFER_SERVICE, 'TransferFile', { FileName: fileName, FileSize: fileSize ?? 0, Meta: meta }, options);
  const socket = await dialData(host, reply, options);
  const input = typeof source === 'string' ? createReadStream(source, { highWaterMark: 256 * 1024 }) : source;
  let bytes = 0;
  const closedByServer = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  closedByServer.catch(() => undefined);
  // An upload that stops early must not look finished: a plain close (FIN) after part of the file is exactly how a
  // complete upload ends, so a failed or aborted one resets the connection, and the server discards what it got.
  const reset = (): void => {
    try {
      socket.resetAndDestroy();
    } catch {
      socket.destroy();
    }
  };
  const onAbort = (): void => {
    reset();
    input.destroy();
  };
  input.once('error', reset);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    input.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      options.onProgress?.(bytes, fileSize);
    });
    await pipeline(input, socket);
    await within(closedByServer, options.finishTimeoutMs ?? 10_000);
  } catch (error) {
    reset();
    throw failure(error, options.signal, `rpcx: upload of ${fileName} failed`);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
  return { bytes, ms: performance.now() - started };
}

/** `DownloadFile`: writes the server's file to `target` (a Writable, or a path to create). */
export async function downloadFile(host: TransferHost, fileName: string, target: Writable | string, meta: Record<string, string> = {}, options: TransferOptions = {}): Promise<TransferResult> {
  const started = performance.now();
  const reply = await tokenCall(host, options.service ?? FILE_TRANSFER_SERVICE, 'DownloadFile', { FileName: fileName, Meta: meta }, options);
  const socket = await dialData(host, reply, options);
  const output = typeof target === 'string' ? createWriteStream(target) : target;
  let bytes = 0;
  try {
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      options.onProgress?.(bytes, undefined);
    });
    await pipeline(socket, output, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    // No half-written file left behind under the name the caller asked for.
    if (typeof target === 'string') await rm(target, { force: true });
    throw failure(error, options.signal, `rpcx: download of ${fileName} failed`);
  } finally {
    socket.destroy();
  }
  return { bytes, ms: performance.now() - started };
}

/** `Stream`: a raw byte stream to the server's stream handler, as a Node Duplex (a socket). */
export async function openStream(host: TransferHost, meta: Record<string, string> = {}, options: TransferOptions = {}): Promise<net.Socket> {
  const reply = await tokenCall(host, options.service ?? STREAM_SERVICE, 'Stream', { Meta: meta }, options);
  return dialData(host, reply, options);
}

async function tokenCall(host: TransferHost, service: string, method: string, args: Record<string, unknown>, options: TransferOptions): Promise<TransferReply> {
  // The structs travel as msgpack (Go's default) unless the client speaks JSON.
  const serializeType = host.serializeType === SerializeType.JSON ? SerializeType.JSON : SerializeType.MsgPack;
  const callOptions: CallOptions = { serializeType };
  if (options.timeoutMs !== undefined) callOptions.timeoutMs = options.timeoutMs;
  if (options.metadata) callOptions.metadata = options.metadata;
  if (options.signal) callOptions.signal = options.signal;
  const value = await host.call(service, method, structToWire(args, serializeType), callOptions);
  return readTransferReply(value, serializeType);
}

async function dialData(host: TransferHost, reply: TransferReply, options: TransferOptions): Promise<net.Socket> {
  const parsed = splitHostPort(reply.Addr);
  // `:port` (a wildcard listener) means: the host we reached the rpcx server on.
  const address = reply.Addr.startsWith(':') ? { host: host.remoteHost, port: parsed.port } : parsed;
  const tlsOptions = options.tls === false ? undefined : (options.tls ?? host.tls);
  const socket = tlsOptions
    ? tls.connect({ host: address.host, port: address.port, ...tlsClientOptions(tlsOptions, address.host) })
    : net.connect({ host: address.host, port: address.port, noDelay: true });
  const target = `${tlsOptions ? 'tls' : 'tcp'}@${joinHostPort(address.host, address.port)}`;
  await waitConnected(socket, { connectTimeoutMs: host.connectTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) }, target, tlsOptions ? 'secureConnect' : 'connect');
  // Go reads the token in its accept loop without a deadline: send it at once.
  socket.write(reply.Token);
  return socket;
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

function failure(error: unknown, signal: AbortSignal | undefined, text: string): Error {
  if (signal?.aborted) return new AbortedError(signal.reason);
  return new TransferError(`${text}: ${asError(error).message}`, error);
}
