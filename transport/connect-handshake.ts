/**
 * rpcx's HTTP CONNECT handshake, both sides, byte for byte as rpcx's Go client and server speak it:
 *
 *   client → `CONNECT /_rpcx_ HTTP/1.0` and a blank line
 *   server → `HTTP/1.0 200 Connected to rpcx` and a blank line
 *
 * then binary rpcx on the same socket. Go writes bare LFs; CRLFs are accepted too. The `http` network
 * (transport/http-connect.ts) and the one-port sniffer (server/sniffer.ts) both read heads with these functions.
 */
import { RPCX_PATH } from '../protocol/constants.js';

export const CONNECTED_STATUS = '200 Connected to rpcx';
/** What a client sends to open rpcx over HTTP CONNECT. */
export const CONNECT_REQUEST = Buffer.from(`CONNECT ${RPCX_PATH} HTTP/1.0\n\n`, 'latin1');
/** What a server answers to rpcx's CONNECT. */
export const CONNECT_ANSWER = Buffer.from(`HTTP/1.0 ${CONNECTED_STATUS}\n\n`, 'latin1');
/** A handshake head (request or answer) longer than this is not rpcx's. */
export const MAX_CONNECT_HEAD = 8192;

const REQUEST_LINE_PREFIX = Buffer.from(`CONNECT ${RPCX_PATH} HTTP/1.`, 'latin1');

/** What the first bytes of an incoming connection say about rpcx's CONNECT. */
export type RequestHead =
  /** A complete rpcx CONNECT head; binary rpcx starts at `headEnd`. */
  | { readonly kind: 'connect'; readonly headEnd: number }
  /** Not rpcx's CONNECT (another HTTP request, or anything else). */
  | { readonly kind: 'other' }
  /** Could still be rpcx's CONNECT: read more. */
  | { readonly kind: 'partial' }
  /** Starts like rpcx's CONNECT but the head runs past MAX_CONNECT_HEAD. */
  | { readonly kind: 'oversized' };

const OTHER = { kind: 'other' } as const;
const PARTIAL = { kind: 'partial' } as const;
const OVERSIZED = { kind: 'oversized' } as const;

/** Classifies the bytes received so far on a connection that may open with rpcx's CONNECT. */
export function classifyRequestHead(received: Buffer): RequestHead {
  const prefix = Math.min(received.length, REQUEST_LINE_PREFIX.length);
  if (received.compare(REQUEST_LINE_PREFIX, 0, prefix, 0, prefix) !== 0) return OTHER;
  const end = headEnd(received);
  if (end >= 0) return { kind: 'connect', headEnd: end };
  return received.length > MAX_CONNECT_HEAD ? OVERSIZED : PARTIAL;
}

/** What a server's answer to CONNECT says. */
export type AnswerHead =
  /** rpcx's "200 Connected to rpcx"; binary rpcx starts at `headEnd`. */
  | { readonly kind: 'connected'; readonly headEnd: number }
  /** Any other status line. */
  | { readonly kind: 'refused'; readonly statusLine: string }
  | { readonly kind: 'partial' }
  | { readonly kind: 'oversized' };

/** Parses the bytes received so far in answer to CONNECT_REQUEST. */
export function parseConnectAnswer(received: Buffer): AnswerHead {
  const end = headEnd(received);
  if (end < 0) return received.length > MAX_CONNECT_HEAD ? OVERSIZED : PARTIAL;
  const statusLine = received.subarray(0, received.indexOf(0x0a)).toString('latin1').trim();
  const status = statusLine.replace(/^HTTP\/1\.[01] /, '');
  return status === CONNECTED_STATUS ? { kind: 'connected', headEnd: end } : { kind: 'refused', statusLine };
}

/** Offset just past the blank line ending a head (`\n\n` as Go writes it, or `\r\n\r\n`), or -1. */
function headEnd(bytes: Buffer): number {
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}
