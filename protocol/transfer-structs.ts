/**
 * rpcx's file-transfer and stream-service structs (Go `share` package, v1.9.x) and how they look on the wire.
 *
 * With msgpack (serialize type 3) Go writes a struct as a map keyed by the field names exactly as declared
 * (`FileName`, `FileSize`, `Meta`, `Token`, `Addr`) and matches them case-sensitively when reading. With JSON it uses
 * the tags (`file_name`, `file_size`, `meta`, `token`, `addr`, all omitempty), matches keys case-insensitively and
 * writes `[]byte` as base64. A token is 32 random bytes; the data connection starts with exactly those bytes.
 */
import { CodecError } from '../errors.js';
import { SerializeType } from './constants.js';

/** `share.SendFileServiceName`. */
export const FILE_TRANSFER_SERVICE = '_filetransfer';
/** `share.StreamServiceName`. */
export const STREAM_SERVICE = '_streamservice';
/** Bytes of a token: what the client writes first on the data connection, with no framing. */
export const TOKEN_LENGTH = 32;

export interface FileTransferArgs {
  FileName: string;
  /** Bytes the client says it will send (int64 in Go; 0 when unknown). */
  FileSize: number;
  Meta: Record<string, string>;
}

export interface DownloadFileArgs {
  FileName: string;
  Meta: Record<string, string>;
}

export interface StreamServiceArgs {
  Meta: Record<string, string>;
}

/** `share.FileTransferReply` and `share.StreamServiceReply` (same shape). */
export interface TransferReply {
  Token: Uint8Array;
  /** Where to dial the data connection, verbatim as the server configured it (`host:port`, possibly `:port`). */
  Addr: string;
}

type Fields = Record<string, unknown>;

/** Encodes a struct for `serializeType`: Go field names for msgpack, JSON tag names (omitempty) for JSON. */
export function structToWire(value: Fields, serializeType: number): Fields {
  if (serializeType === SerializeType.MsgPack) return value;
  if (serializeType !== SerializeType.JSON) {
    throw new CodecError(`rpcx: file transfer and stream service structs travel as msgpack or JSON, not serialize type ${serializeType}`);
  }
  const out: Fields = {};
  for (const [key, field] of Object.entries(value)) {
    if (isEmpty(field)) continue;
    out[jsonTag(key)] = field instanceof Uint8Array ? Buffer.from(field).toString('base64') : field;
  }
  return out;
}

/** `FileName` → `file_name`. */
function jsonTag(goName: string): string {
  return goName.replace(/[A-Z]/g, (c, at: number) => (at === 0 ? '' : '_') + c.toLowerCase());
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** Reads field `goName` from a decoded struct, as Go would: exact name (msgpack) or its JSON tag, any case (JSON). */
function field(value: unknown, goName: string, serializeType: number): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Fields;
  if (serializeType !== SerializeType.JSON) return record[goName];
  const tag = jsonTag(goName);
  for (const key of Object.keys(record)) if (key.toLowerCase() === tag) return record[key];
  return undefined;
}

function stringField(value: unknown, goName: string, serializeType: number): string {
  const v = field(value, goName, serializeType);
  return typeof v === 'string' ? v : '';
}

function metaField(value: unknown, serializeType: number): Record<string, string> {
  const v = field(value, 'Meta', serializeType);
  if (v === null || typeof v !== 'object') return {};
  const meta: Record<string, string> = {};
  for (const [k, s] of Object.entries(v as Fields)) meta[k] = String(s);
  return meta;
}

export function readFileTransferArgs(value: unknown, serializeType: number): FileTransferArgs {
  const size = field(value, 'FileSize', serializeType);
  return {
    FileName: stringField(value, 'FileName', serializeType),
    FileSize: typeof size === 'number' ? size : typeof size === 'bigint' ? Number(size) : Number(size ?? 0) || 0,
    Meta: metaField(value, serializeType),
  };
}

export function readDownloadFileArgs(value: unknown, serializeType: number): DownloadFileArgs {
  return { FileName: stringField(value, 'FileName', serializeType), Meta: metaField(value, serializeType) };
}

export function readStreamServiceArgs(value: unknown, serializeType: number): StreamServiceArgs {
  return { Meta: metaField(value, serializeType) };
}

/** Reads a token reply; a token of the wrong length is refused here rather than sent to a server that drops it. */
export function readTransferReply(value: unknown, serializeType: number): TransferReply {
  const raw = field(value, 'Token', serializeType);
  const token = typeof raw === 'string' ? new Uint8Array(Buffer.from(raw, 'base64')) : raw instanceof Uint8Array ? raw : undefined;
  if (token === undefined || token.length !== TOKEN_LENGTH) {
    throw new CodecError(`rpcx: the server's token reply carries no ${TOKEN_LENGTH}-byte token`);
  }
  return { Token: token, Addr: stringField(value, 'Addr', serializeType) };
}
