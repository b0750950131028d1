/**
 * gRPC metadata ↔ rpcx metadata. gRPC metadata is HTTP/2 headers; rpcx metadata is a string map. In:
 *
 *   every custom header (not pseudo, not `grpc-*`, not te / content-type / user-agent / content-length / host)
 *     → the rpcx key of the same (lower-case) name; repeated values joined with ", "; `-bin` values stay base64
 *   authorization   → `__AUTH` (as the HTTP gateway), so the server's auth function sees gRPC callers too
 *   grpc-timeout    → `__ServerTimeout` in milliseconds: the call's deadline (CallContext.signal, ctx.deadline)
 *
 * Out: the handler's response metadata goes back as response headers (initial metadata) on success and as trailers
 * with the status on failure; keys are lower-cased and names HTTP/2 cannot carry are left out.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { MetaKey } from '../../protocol/constants.js';
import type { Metadata } from '../../protocol/message.js';

const TRANSPORT_HEADERS = new Set(['te', 'content-type', 'user-agent', 'content-length', 'host', 'connection', 'accept-encoding']);

/** rpcx metadata of a gRPC request, or undefined when it carries none. */
export function metadataOfHeaders(headers: IncomingHttpHeaders): Metadata | undefined {
  let metadata: Metadata | undefined;
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */ || name.startsWith('grpc-') || TRANSPORT_HEADERS.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    metadata ??= {};
    if (name === 'authorization') metadata[MetaKey.Auth] = text;
    else if (name !== '__proto__') metadata[name] = text;
  }
  const timeout = headers['grpc-timeout'];
  if (typeof timeout === 'string') {
    const ms = timeoutMs(timeout);
    if (ms !== undefined) (metadata ??= {})[MetaKey.ServerTimeout] = String(ms);
  }
  return metadata;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout` (1-8 digits and a unit H M S m u n) in whole milliseconds (at least 1); undefined when malformed. */
export function timeoutMs(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Math.max(1, Math.ceil(Number(match[1]) * UNIT_MS[match[2]!]!));
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const RESERVED_OUT = new Set([MetaKey.Error.toLowerCase(), 'content-type', 'te', 'content-length', 'connection', 'transfer-encoding']);

/** Adds rpcx metadata to outgoing headers or trailers. */
export function addMetadataHeaders(target: OutgoingHttpHeaders, metadata: Readonly<Metadata> | undefined): OutgoingHttpHeaders {
  if (metadata === undefined) return target;
  for (const key in metadata) {
    const name = key.toLowerCase();
    if (!HEADER_NAME.test(name) || name.startsWith('grpc-') || RESERVED_OUT.has(name)) continue;
    const value = metadata[key]!;
    if (/^[\x20-\x7e\t]*$/.test(value)) target[name] = value;
  }
  return target;
}
